/**
 * Faults under load, on the rehearsal cluster with prod and gray taking traffic through the ALB
 * stand-in (plain requests, gray's header requests, and writers whose acknowledged writes are read
 * back afterwards): a `kubectl drain` of each node in turn; the abrupt loss of the node that holds
 * the Redis primary (frozen, its link down, no word to the API server) and its return; the loss of a
 * whole zone, whose node the cloud removes; and the backup Job run on demand. Every row prints what
 * it counted and fails when a figure is wrong.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { deploy } from "../../deploy";
import { CLUSTER_DIR, kubectl, kubectlResult } from "../../env";
import { nginxReadTimeoutMs, zoneLossCause } from "../failures";
import { describeLoad, load, LoadReport, lostWrites, request, target, WriteReport, writers } from "../http";
import { followLogs, isReady, json, K8sList, kubectlAsync, Meta, podExec, pods, redisPrimary, settled } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { GRAY_NS, PROD_NS, quiet, World } from "../world";
import { protectHolds, redisKeys } from "./destroy";
import { prodConfig, zones } from "./rehearsal";

const HEADER = { "X-Canary": "always" };

/** The traffic the faults run under. */
interface Traffic { stop(): Promise<{ reads: LoadReport; gray: LoadReport; writes: WriteReport; lost: string[] }> }

function traffic(tag: string, known: string): Traffic {
    const t = target("prod");
    const reads = load(t, ["/api/users?limit=5", `/api/users/${known}`, "/"], { workers: 3 });
    const gray = load(t, ["/api/users?limit=5", "/"], { workers: 1, headers: HEADER });
    const writes = writers(t, { workers: 2, tag });
    let stopped: ReturnType<Traffic["stop"]> | undefined;
    return {
        // Once: a check stops its traffic where it reports it, and again on its way out whatever failed.
        stop() {
            stopped ??= (async () => {
                const [r, g, wr] = await Promise.all([reads.stop(), gray.stop(), writes.stop()]);
                return { reads: r, gray: g, writes: wr, lost: await lostWrites(t, wr.acknowledged) };
            })();
            return stopped;
        },
    };
}

function report(x: Awaited<ReturnType<Traffic["stop"]>>): void {
    line(`       reads ${describeLoad(x.reads)}`);
    line(`       gray's header requests ${describeLoad(x.gray)}`);
    line(`       writes ${describeLoad(x.writes)}; ${x.writes.acknowledged.size} acknowledged, ${x.lost.length} of them not found afterwards; longest gap between acknowledged writes ${x.writes.longestGapSeconds.toFixed(1)}s`);
}

/** A user that exists, for the reads by id. */
async function knownUser(): Promise<string> {
    const r = await request(target("prod"), "/api/users", { method: "POST", body: JSON.stringify({ name: "Known Reader", email: `known-${Date.now()}@example.com` }) });
    assert(r.status === 201, `create: ${r.status} ${r.body}`);
    return (JSON.parse(r.body) as { id: string }).id;
}

/** Every pod of prod and gray Ready, Redis's three among them, and its Sentinels agreeing on a primary. */
async function whole(what: string, seconds = 300): Promise<void> {
    await waitUntil(what, seconds, () => settled(PROD_NS) && settled(GRAY_NS) && pods(PROD_NS, "redis").filter(isReady).length === 3 && redisPrimary(PROD_NS) !== "", 2000);
}

interface Node { metadata: Meta; spec: { unschedulable?: boolean }; status: { conditions: Array<{ type: string; status: string }> } }
const nodeReady = (name: string) => json<Node>(["get", "node", name]).status.conditions.find(c => c.type === "Ready")?.status;

/** `npm run cluster -- node lose|return NAME`. */
function node(what: "lose" | "return", name: string): void {
    execFileSync("bash", [path.join(CLUSTER_DIR, "cluster.sh"), "node", what, name], { stdio: ["ignore", "ignore", "inherit"] });
}

/** A Redis pod's role and, for a replica, whether its link to the primary is up. */
function replication(pod: string): { role: string; linkUp: boolean } {
    // The pod may be on a node that is only coming back: no answer yet is no role yet.
    const info = podExec(PROD_NS, pod, "redis", "REDISCLI_AUTH=\"$(cat /etc/redis/auth/password)\" redis-cli INFO replication");
    return { role: /role:(\w+)/.exec(info)?.[1] ?? "?", linkUp: /master_link_status:up/.test(info) };
}

/** Sentinel's log lines about a failover: who saw the primary down, who tried, who voted, why one stopped. */
const SENTINEL_EVENTS = /[+-](sdown|odown|try-failover|vote-for-leader|elected-leader|failover-abort[\w-]*|selected-slave|promoted-slave|switch-master|sentinel-invalid-addr|sentinel |tilt)|voted for|Next failover delay|Failed to resolve/;

/** Each reachable Sentinel's view of the primary, its peers and its replicas (flags, links), for a failed failover. */
function sentinelViews(avoidNode: string): string[] {
    return pods(PROD_NS, "redis").filter(p => p.spec.nodeName !== avoidNode).map(p => {
        try {
            return `${p.metadata.name}: ${podExec(PROD_NS, p.metadata.name, "sentinel",
                ". /etc/redis/conf/common.sh; for c in 'sentinel master' 'sentinel sentinels' 'sentinel replicas'; do echo \"== $c\"; local_sentinel $c \"$SENTINEL_MASTER\" | paste -sd' '; done").trim()}`;
        } catch (e) {
            return `${p.metadata.name}: no answer (${String(e instanceof Error ? e.message : e).split("\n")[0]})`;
        }
    });
}

let knownId: string | undefined;
/** A user that exists (made once), for the reads by id. */
async function known(): Promise<string> {
    knownId ??= await knownUser();
    return knownId;
}

export async function drains(): Promise<void> {
    const knownUserId = await known();
    await phase("kubectl drain of each node in turn, under load", async () => {
        const names = json<K8sList<Node>>(["get", "nodes"]).items.map(n => n.metadata.name).sort();
        for (const name of names) {
            await check(`draining ${name} (zone ${zones().get(name)}), then uncordoning it: 0 failed requests, gray's included, and 0 lost writes`, async () => {
                await whole("prod and gray whole before the drain");
                const moved = [...pods(PROD_NS), ...pods(GRAY_NS)].filter(p => p.spec.nodeName === name).map(p => p.metadata.name);
                const tr = traffic(`drain-${name}`, knownUserId);
                const redisLogs = followLogs(PROD_NS, "redis");
                const apiLogs = followLogs(PROD_NS, "user-api");
                let drained = "";
                try {
                    const d = await kubectlAsync(["drain", name, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=300s"]);
                    drained = d.status === 0 ? "drained" : `drain failed: ${d.stderr.trim().split("\n").slice(-3).join(" ")}`;
                    kubectl(["uncordon", name]);
                    await whole(`prod and gray whole again after ${name} came back`);
                } finally {
                    const x = await tr.stop();
                    // The handover and the Sentinels' view of it, for a failure to show what happened.
                    const handover = [
                        ...redisLogs.stop().filter(l => /pre-stop:|[+-](switch-master|failover|sdown|odown|elected|promoted|selected|slave-reconf|role-change|try-failover)/.test(l)),
                        ...apiLogs.stop().filter(l => /primary moved|"level":"(WARN|ERROR)"|level=(WARN|ERROR)/.test(l)),
                    ];
                    line(`       ${drained}; pods that moved: ${moved.join(", ") || "none"}`);
                    report(x);
                    assert(drained === "drained", drained);
                    assert(x.reads.failed === 0 && x.gray.failed === 0 && x.writes.failed === 0,
                        [...x.reads.errors, ...x.gray.errors, ...x.writes.errors, "Redis, its Sentinels and the API logged:", ...handover.slice(-60)].join("\n"));
                    assert(x.lost.length === 0, `lost: ${x.lost.slice(0, 5).join(", ")}`);
                }
            });
        }
    });
}

export async function nodeLoss(): Promise<void> {
    const knownUserId = await known();
    await phase("the loss of the node that holds the Redis primary", async () => {
        await check("the node of the Redis primary lost without warning: the Sentinels fail over, the API follows, no acknowledged write is lost, reads do not fail; back, the old primary rejoins as a replica", async () => {
            await whole("prod and gray whole before the loss");
            const primary = redisPrimary(PROD_NS);
            const lostNode = String(json<{ spec: { nodeName: string } }>(["-n", PROD_NS, "get", "pod", primary]).spec.nodeName);
            const tr = traffic("loss", knownUserId);
            try {
                await nodeLossUnder(tr, primary, lostNode);
            } finally {
                // Whatever failed above (a node that did not come back): the load stops here.
                await tr.stop();
            }
        });
    });
}

/** The node loss itself, under the check's traffic `tr`, which it stops to report. */
async function nodeLossUnder(tr: Traffic, primary: string, lostNode: string): Promise<void> {
    const redisLogs = followLogs(PROD_NS, "redis");
    const t0 = Date.now();
    let failoverS: number | undefined;
    let notReadyS: number | undefined;
    try {
        node("lose", lostNode);
        try {
            failoverS = await waitUntil("another Redis pod is primary", 120, () => redisPrimary(PROD_NS, lostNode) !== primary, 500);
        } catch (e) {
            // What the Sentinels that are left saw and did, and what they say now, for the failure to show.
            const seen = redisLogs.stop().filter(l => SENTINEL_EVENTS.test(l));
            throw new Error([String(e instanceof Error ? e.message : e), "the Sentinels logged:", ...seen.slice(-80), ...sentinelViews(lostNode)].join("\n"), { cause: e });
        }
        notReadyS = await waitUntil(`the node controller marks ${lostNode} not Ready`, 180, () => nodeReady(lostNode) !== "True", 1000) + failoverS;
        // Writes go on with the new primary for a while, the lost node's pods still listed until now.
        await waitUntil("writes acknowledged again", 60, async () => (await request(target("prod"), "/api/users", { method: "POST", body: JSON.stringify({ name: "After", email: `after-${Date.now()}@example.com` }) })).status === 201, 500);
    } finally {
        node("return", lostNode);
    }
    try {
        await waitUntil(`${primary} back as a replica with its link to the new primary up`, 240, () => {
            const r = replication(primary);
            return r.role === "slave" && r.linkUp;
        }, 2000);
        await whole("prod and gray whole again");
    } finally {
        redisLogs.stop();
        const x = await tr.stop();
        line(`       ${primary} on ${lostNode} lost at 0s; new primary ${redisPrimary(PROD_NS)} after ${failoverS?.toFixed(1) ?? "?"}s; ${lostNode} not Ready after ${notReadyS?.toFixed(1) ?? "?"}s; back and whole at ${((Date.now() - t0) / 1000).toFixed(0)}s`);
        report(x);
        assert(x.lost.length === 0, `acknowledged writes lost: ${x.lost.slice(0, 5).join(", ")}`);
        assert(x.reads.failed === 0 && x.gray.failed === 0, `failed reads:\n${[...x.reads.errors, ...x.gray.errors].join("\n")}`);
    }
}

export async function zoneLoss(): Promise<void> {
    const knownUserId = await known();
    await phase("the loss of a whole zone", async () => {
        await check("a zone lost and its node removed by the cloud: the other zones keep serving, and the Redis StatefulSet does not halt on the pod it cannot place", async () => {
            await whole("prod and gray whole before the loss");
            const primary = redisPrimary(PROD_NS);
            const placed = pods(PROD_NS, "redis").map(p => ({ name: p.metadata.name, ordinal: Number(p.metadata.name.split("-").pop()), node: String(p.spec.nodeName) }))
                .sort((a, b) => a.ordinal - b.ordinal);
            // The zone of the lowest-numbered replica: a pod with a higher number is then replaced while that one cannot be placed.
            const lost = placed.find(p => p.name !== primary && placed.some(q => q.ordinal > p.ordinal && q.name !== primary))
                ?? placed.find(p => p.name !== primary)!;
            const other = placed.find(q => q.ordinal > lost.ordinal && q.name !== primary) ?? placed.find(q => q.name !== lost.name && q.name !== primary);
            assert(other, "no second replica");
            const zone = zones().get(lost.node);
            const tr = traffic("zone", knownUserId);
            try {
                const alone = { from: 0, to: 0 };
                const down = { from: Date.now(), to: 0 };
                try {
                    node("lose", lost.node);
                    kubectl(["delete", "node", lost.node, "--wait=true"]);
                    await waitUntil(`${lost.name} recreated and waiting for its zone (Pending)`, 180, () => {
                        const p = pods(PROD_NS, "redis").find(x => x.metadata.name === lost.name);
                        return p !== undefined && p.status.phase === "Pending";
                    }, 2000);
                    // With the lost zone's replica gone too, the primary has none: prod's writes, which a replica
                    // must confirm, are refused (503) until this one is back. Only then, and only so, may writes fail.
                    alone.from = Date.now();
                    kubectl(["-n", PROD_NS, "delete", "pod", other.name, "--wait=false"]);
                    const s = await waitUntil(`${other.name} replaced and Ready while ${lost.name} waits`, 180, () => {
                        const p = pods(PROD_NS, "redis").find(x => x.metadata.name === other.name);
                        return p !== undefined && isReady(p);
                    }, 2000);
                    alone.to = Date.now();
                    line(`       zone ${zone} (${lost.node}, ${lost.name}) gone; ${other.name} replaced and Ready in ${s.toFixed(1)}s while ${lost.name} is Pending`);
                    await waitUntil("the API and frontend serve from the other zones", 120, () => ["frontend", "user-api"].every(wl => pods(PROD_NS, wl).filter(isReady).length >= 2), 2000);
                } finally {
                    node("return", lost.node);
                    down.to = Date.now();
                }
                try {
                    await waitUntil(`${lost.node} registered again and Ready`, 180, () => nodeReady(lost.node) === "True", 2000);
                    await whole(`prod whole again with zone ${zone} back`, 300);
                } finally {
                    const x = await tr.stop();
                    report(x);
                    assert(x.lost.length === 0, `acknowledged writes lost: ${x.lost.slice(0, 5).join(", ")}`);
                    // Writes may fail only as the loss makes them (failures.ts): refused while the primary had
                    // no replica, or taken by an API pod of the lost zone that never answered.
                    const windows = { alone, lost: down, nginxReadTimeoutMs: nginxReadTimeoutMs() };
                    const causes = new Map<string, number>();
                    const unexplained = x.writes.failures.filter(f => {
                        const cause = zoneLossCause(f, windows);
                        if (cause) causes.set(cause, (causes.get(cause) ?? 0) + 1);
                        return cause === undefined;
                    });
                    for (const [cause, n] of causes) line(`       ${n} failed write(s) ${cause}, as a zone loss makes them`);
                    assert(x.reads.failed === 0 && x.gray.failed === 0 && unexplained.length === 0, [
                        ...x.reads.errors, ...x.gray.errors,
                        ...unexplained.slice(0, 10).map(f => `${new Date(f.at).toISOString().slice(11, 23)} POST: HTTP ${f.status} after ${f.ms} ms ${f.body.slice(0, 100)}`),
                    ].join("\n"));
                }
            } finally {
                await tr.stop(); // also when the node did not come back: the load stops here
            }
        });
    });
}

export async function backupAndProtect(w: World): Promise<void> {
    const knownUserId = await known();
    await phase("backups and protection", async () => {
        await check("the backup Job run on demand reaches the API server through its NetworkPolicy and creates a VolumeSnapshot of the primary's volume, of class alicloud-disk-snapshot", async () => {
            const primary = redisPrimary(PROD_NS);
            const job = `redis-backup-now-${Date.now() % 100000}`;
            const before = new Set(json<K8sList<{ metadata: Meta }>>(["-n", PROD_NS, "get", "volumesnapshot"]).items.map(v => v.metadata.name));
            kubectl(["-n", PROD_NS, "create", "job", job, "--from=cronjob/redis-backup"]);
            try {
                interface Snapshot { metadata: Meta; spec: { volumeSnapshotClassName?: string; source: { persistentVolumeClaimName?: string } } }
                let made: Snapshot | undefined;
                const s = await waitUntil("the Job's VolumeSnapshot", 240, () => {
                    made = json<K8sList<Snapshot>>(["-n", PROD_NS, "get", "volumesnapshot"]).items.find(v => !before.has(v.metadata.name));
                    return made !== undefined;
                }, 2000);
                assert(made, "no VolumeSnapshot");
                line(`       ${made.metadata.name} after ${s.toFixed(0)}s: class ${made.spec.volumeSnapshotClassName}, of ${made.spec.source.persistentVolumeClaimName}`);
                assert(made.spec.volumeSnapshotClassName === "alicloud-disk-snapshot", `class ${made.spec.volumeSnapshotClassName}`);
                assert(made.spec.source.persistentVolumeClaimName === `data-${primary}`, `of ${made.spec.source.persistentVolumeClaimName}, the primary is ${primary}`);
            } finally {
                kubectlResult(["-n", PROD_NS, "delete", "job", job, "--wait=false"]);
                for (const v of json<K8sList<{ metadata: Meta }>>(["-n", PROD_NS, "get", "volumesnapshot"]).items.filter(x => !before.has(x.metadata.name))) {
                    kubectlResult(["-n", PROD_NS, "delete", "volumesnapshot", v.metadata.name, "--wait=false"]);
                }
            }
        });
        await check("pulumi destroy of prod is refused by protect, and the data survives; the next up brings back what the destroy removed", async () => {
            await protectHolds("prod", PROD_NS, prodConfig, () => redisKeys(PROD_NS, redisPrimary(PROD_NS)));
            w.prod = await deploy("prod", prodConfig, quiet);
            await whole("prod whole after the refused destroy and the next up");
            assert((await request(target("prod"), `/api/users/${knownUserId}`)).status === 200, "a user written before the destroy is gone");
        });
    });
}
