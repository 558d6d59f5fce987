/**
 * The cluster script is safe on a user's machine (runs with no cluster up, after the suite's down):
 * a foreign iptables rule and a foreign network namespace (named like CNI's) survive every up and
 * down; an `up` that fails halfway, or is interrupted with Ctrl-C, leaves no process, mount, bridge,
 * namespace or rule behind; and the README's quick start (up, deploy dev, curl, down) works three
 * times in a row on one machine, the curl answering each time.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as net from "net";
import * as path from "path";
import { CLUSTER_DIR } from "../../env";
import { request, target } from "../http";
import { assert, check, line, phase, waitUntil } from "../runner";

const CLUSTER_SH = path.join(CLUSTER_DIR, "cluster.sh");

/** What of a cluster is on the machine (`cluster.sh leftovers`): empty when nothing is. */
function leftovers(): string {
    return execFileSync("bash", [CLUSTER_SH, "leftovers"], { encoding: "utf8" }).trim();
}

const FOREIGN_RULE = ["FORWARD", "-s", "198.51.100.0/24", "-j", "ACCEPT", "-m", "comment", "--comment", "sample-app-lifecycle-foreign"];
const FOREIGN_NETNS = "cni-sample-app-foreign";

function foreignThere(): string[] {
    const missing: string[] = [];
    if (spawnSync("iptables", ["-C", ...FOREIGN_RULE]).status !== 0) missing.push("the foreign iptables rule");
    if (!execFileSync("ip", ["netns", "list"], { encoding: "utf8" }).split("\n").some(l => l.split(" ")[0] === FOREIGN_NETNS)) missing.push(`the network namespace ${FOREIGN_NETNS}`);
    return missing;
}

/** `cluster.sh up` in a process group of its own; resolves with its exit code and stderr. */
function up(onStderr?: (text: string, signal: (s: NodeJS.Signals) => void) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
    return new Promise(resolve => {
        const c = spawn("bash", [CLUSTER_SH, "up"], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        c.stderr.on("data", d => {
            stderr += String(d);
            onStderr?.(stderr, s => process.kill(-c.pid!, s));
        });
        c.on("exit", (code, signal) => resolve({ code, signal, stderr }));
    });
}

export async function lifecycle(): Promise<void> {
    await phase("the cluster script on a user's machine", async () => {
        execFileSync("iptables", ["-I", ...FOREIGN_RULE]);
        execFileSync("ip", ["netns", "add", FOREIGN_NETNS]);
        try {
            await check("an up that fails halfway (etcd's port is taken) stops with the reason and leaves no process, mount, bridge, namespace or rule behind", async () => {
                const blocker = net.createServer().listen(23790, "127.0.0.1");
                await new Promise(r => blocker.once("listening", r));
                try {
                    const r = await up();
                    assert(r.code !== 0, "up succeeded with etcd's port taken");
                    assert(/etcd exited|address already in use/.test(r.stderr), `up failed for another reason:\n${r.stderr.slice(-1500)}`);
                    line(`       up exited ${r.code}: ${r.stderr.split("\n").filter(l => /exited|failed/.test(l)).slice(0, 2).join(" | ")}`);
                } finally {
                    blocker.close();
                }
                const left = leftovers();
                assert(left === "", `left behind:\n${left}`);
                assert(foreignThere().length === 0, `gone: ${foreignThere().join(", ")}`);
            });
            await check("Ctrl-C during up (once the node runs) stops it and leaves nothing behind", async () => {
                let sent = false;
                const r = await up((text, signal) => {
                    // Once the node's containerd runs and its images are in: the control plane, the node's
                    // namespace, cgroups and mounts all exist by then.
                    if (!sent && /node sample-app-local \(/.test(text) && /images ready/.test(text)) {
                        sent = true;
                        signal("SIGINT");
                    }
                });
                if (!sent) {
                    spawnSync("bash", [CLUSTER_SH, "down"], { stdio: "ignore" });
                }
                assert(sent, `up ended before the node ran:\n${r.stderr.slice(-1000)}`);
                assert(r.code !== 0, "up finished despite Ctrl-C");
                const left = leftovers();
                assert(left === "", `left behind:\n${left}`);
                assert(foreignThere().length === 0, `gone: ${foreignThere().join(", ")}`);
                line(`       up exited ${r.code ?? r.signal} after Ctrl-C, nothing left`);
            });
            // Two rounds: what the first leaves behind would break the second (the suite's own up and
            // down ran before them too).
            const rounds = 2;
            for (let round = 1; round <= rounds; round++) {
                await check(`the quick start, round ${round} of ${rounds}: up, deploy dev, curl answers through the gateway, down leaves nothing (and nothing foreign is touched)`, async () => {
                    const t0 = Date.now();
                    execFileSync("bash", [CLUSTER_SH, "up"], { stdio: ["ignore", "ignore", "inherit"] });
                    try {
                        execFileSync("bash", [CLUSTER_SH, "deploy", "dev"], { stdio: ["ignore", "ignore", "inherit"] });
                        const t = target("dev");
                        await waitUntil("GET /healthz through the gateway", 30, async () => (await request(t, "/healthz")).status === 200, 500);
                        const users = await request(t, "/api/users?limit=1");
                        assert(users.status === 200, `GET /api/users -> ${users.status}`);
                    } finally {
                        execFileSync("bash", [CLUSTER_SH, "down"], { stdio: ["ignore", "ignore", "inherit"] });
                    }
                    const left = leftovers();
                    assert(left === "", `left behind:\n${left}`);
                    assert(foreignThere().length === 0, `gone: ${foreignThere().join(", ")}`);
                    line(`       round ${round}: ${((Date.now() - t0) / 1000).toFixed(0)}s`);
                });
            }
        } finally {
            spawnSync("iptables", ["-D", ...FOREIGN_RULE]);
            spawnSync("ip", ["netns", "delete", FOREIGN_NETNS]);
        }
    });
}
