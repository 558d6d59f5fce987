/**
 * An interrupted deploy is recovered by the next command: `npm run cluster -- deploy test` killed
 * with SIGKILL (as a CI cancel or an OOM kill does) at several points, from the first create to the
 * last await, leaves the file backend's lock and pending operations; each time the next deploy
 * clears the lock of the process that no longer runs, resolves what was pending, and converges, a
 * refresh finds nothing changed, and the cluster holds no object of the stack that its state lacks.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { stackObjects } from "../../../engine/stack";
import { stackLocks } from "../../../engine/recover";
import { deploy, ENGINE_STATE, localStack, refresh } from "../../deploy";
import { CLUSTER_DIR } from "../../env";
import { labelledObjects } from "../kube";
import { assert, check, line, phase, sleep } from "../runner";
import { quiet } from "../world";
import { removeStack } from "./canary";
import { tagAppImages } from "./updates";

/** When to kill the run: `afterMs` after the first engine event that matches. */
interface KillPoint { readonly what: string; readonly at: (e: EngineEvent) => boolean; readonly afterMs?: number }

const op = (e: EngineEvent) => e.resourcePreEvent?.metadata;

/**
 * `npm run cluster -- deploy test KEY=VALUE...` in a process group of its own, killed with SIGKILL
 * (the whole group: the CLI and its plugins) at the first event `point` matches; resolves with what
 * had happened by then.
 */
async function killedDeploy(point: KillPoint, overrides: Record<string, string>): Promise<{ events: number; seconds: number }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-killed-"));
    const log = path.join(dir, "events.jsonl");
    const t0 = Date.now();
    const child = spawn("bash", [path.join(CLUSTER_DIR, "cluster.sh"), "deploy", "test", `--event-log=${log}`, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`)],
        { detached: true, stdio: "ignore" });
    const exited = new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
    let seen = 0;
    try {
        for (;;) {
            // Each event is looked at once: only the complete lines written since the last look.
            const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
            const lines = text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter(Boolean);
            const fresh = lines.slice(seen);
            seen = lines.length;
            if (fresh.some(l => point.at(JSON.parse(l) as EngineEvent))) break;
            const code = await Promise.race([exited, sleep(100).then(() => "running" as const)]);
            if (code !== "running") throw new Error(`the deploy ended (exit ${code}) before ${point.what}`);
            if (Date.now() - t0 > 300_000) throw new Error(`no event matched ${point.what} within 300 s`);
        }
        if (point.afterMs) await sleep(point.afterMs);
        process.kill(-child.pid!, "SIGKILL");
        await exited;
        return { events: seen, seconds: (Date.now() - t0) / 1000 };
    } finally {
        try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Objects with test's labels, of the kinds its state holds, that its state does not hold (orphans). */
async function orphans(): Promise<string[]> {
    const s = await localStack("test");
    const inState = new Set((await stackObjects(s)).map(o => {
        const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : "";
        return `${o.kind.toLowerCase()}${group}/${o.metadata.name}`;
    }));
    const kinds = new Set([...inState].map(n => n.split("/")[0]));
    return labelledObjects("test").filter(n => kinds.has(n.split("/")[0]) && !inState.has(n));
}

/** The operations the file backend's checkpoint of test holds as pending. */
function pendingOperations(): Array<{ type: string }> {
    const file = path.join(ENGINE_STATE, "backend", ".pulumi", "stacks", "sample-app", "test.json");
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as { checkpoint?: { latest?: { pending_operations?: Array<{ type: string }> } } };
    return state.checkpoint?.latest?.pending_operations ?? [];
}

async function recoversAfter(point: KillPoint, overrides: Record<string, string>, wantPendingCreates = false): Promise<void> {
    await check(`deploy killed ${point.what}: the next deploy clears the stale lock and converges, refresh finds no change, nothing is orphaned`, async () => {
        const k = await killedDeploy(point, overrides);
        const locks = stackLocks(path.join(ENGINE_STATE, "backend"), "organization/sample-app/test");
        const pending = pendingOperations();
        line(`       killed after ${k.seconds.toFixed(1)}s and ${k.events} engine events; ${locks.length} lock(s) left, ${pending.length} operation(s) pending (${pending.map(p => p.type).join(", ")})`);
        assert(locks.length > 0, "the killed run left no lock: the check would prove nothing");
        assert(!wantPendingCreates || pending.some(p => p.type === "creating"), "the killed run left no pending create: the check would prove less than it says");
        const d = await deploy("test", overrides, quiet);
        line(`       next deploy: ${JSON.stringify(d.changes)} in ${d.seconds.toFixed(1)}s`);
        const r = await refresh("test", overrides, { ...quiet, expectNoChanges: true });
        line(`       refresh: ${JSON.stringify(r)}`);
        const left = await orphans();
        assert(left.length === 0, `objects of test not in its state: ${left.join(", ")}`);
    });
}

export async function interruptedDeploys(): Promise<void> {
    await phase("interrupted deploys are recovered by the next command", async () => {
        await recoversAfter({ what: "at its first create", at: e => op(e)?.op === "create" && op(e)!.type.startsWith("kubernetes:") }, {});
        await removeStack("test");
        await recoversAfter({ what: "while the Redis StatefulSet is created and awaited", at: e => op(e)?.op === "create" && op(e)!.type === "kubernetes:apps/v1:StatefulSet", afterMs: 2000 }, {}, true);
        tagAppImages("0.1.0-rollout");
        let updates = 0;
        await recoversAfter({
            what: "at the last await of an update (the second Deployment's rollout)",
            at: e => op(e)?.op === "update" && op(e)!.type === "kubernetes:apps/v1:Deployment" && ++updates === 2, afterMs: 1000,
        }, { imageTag: "0.1.0-rollout" });
        await check("the test stack is removed again", async () => { await removeStack("test", { imageTag: "0.1.0-rollout" }); });
    });
}
