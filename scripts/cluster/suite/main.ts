/**
 * The local-cluster suites, run with the real Pulumi engine:
 *
 *   npm run cluster:test        one node, shaped like a laptop's cluster: dev deployed by the 0.5.0
 *                               release and upgraded, then dev and test as their stack files say
 *                               (deploy, no drift, drift reported and put back, security, RBAC, the app in Chromium,
 *                               updates, PR comments, flows and scrapes, Sentinel, the canary judged on
 *                               the cluster's Prometheus, interrupted deploys, the YAML program, protect
 *                               and destroy), dev on a managed Redis over TLS with test as its gray, then
 *                               the cluster script's own safety (lifecycle)
 *   npm run cluster:upgrade     one node: that upgrade alone
 *   npm run cluster:rehearsal   three nodes in three zones, shaped like ACK: prod and gray as their stack
 *                               files say, releases through gray (bad rolled back, good killed mid-step
 *                               and promoted) judged on their PodMonitors' metrics, under drains, the loss
 *                               of a node and of a zone
 *
 * Each brings the cluster up in its shape if none is up (and down at the end), uses it as it is if
 * it is up in that shape, and refuses a cluster of another shape. Prints one line per check, the
 * time of each phase, and ends with "N passed, M failed"; exits 1 on any failure.
 * SAMPLE_APP_CLUSTER_KEEP=1 leaves the cluster and the stacks up afterwards. `--only=STEP,...` or
 * `--skip=STEP,...` runs part of a suite (a step needs the ones before it that deploy what it uses):
 *
 *   npm run cluster:rehearsal -- --skip=drains,zone
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { clusterShape, CLUSTER_DIR, kubectl, kubectlResult } from "../env";
import { checkAllFlowsTried } from "./flows";
import { assert, check, finish, line, phase } from "./runner";
import { canary } from "./scenarios/canary";
import { destroyDevAndTest } from "./scenarios/destroy";
import { devDriftReported } from "./scenarios/drift";
import { backupAndProtect, drains, nodeLoss, zoneLoss } from "./scenarios/faults";
import { interruptedDeploys } from "./scenarios/interrupted";
import { lifecycle } from "./scenarios/lifecycle";
import { managedRedis } from "./scenarios/managed";
import { rehearsal, rehearsalTeardown } from "./scenarios/rehearsal";
import { releases } from "./scenarios/release";
import { reuseYaml } from "./scenarios/reuse-yaml";
import { upgradeFrom050 } from "./scenarios/upgrade";
import { sentinelTest } from "./scenarios/sentinel";
import { deployDev, devApp, devDrift, devFlows, devRbac, devSecurity } from "./scenarios/single-node";
import { devUpdates, prComments } from "./scenarios/updates";
import { World } from "./world";

export function clusterSh(...args: string[]): void {
    execFileSync("bash", [path.join(CLUSTER_DIR, "cluster.sh"), ...args], { stdio: "inherit" });
}

export function clusterIsUp(): boolean {
    try {
        kubectl(["get", "--raw", "/readyz"], undefined, { timeout: 5000 });
        return true;
    } catch {
        return false;
    }
}

/** A named part of a suite. */
type Step = readonly [name: string, run: (w: World) => Promise<void>];

interface Suite {
    readonly shape: { readonly nodes: number; readonly like: "local" | "ack" };
    /** The steps on the cluster, in order; a step that finds what it needs missing (a failed deploy) does nothing. */
    readonly steps: readonly Step[];
    /** What runs once the suite's own cluster is down again (only when the suite brought it up). */
    readonly afterDown?: Step;
}

const SUITES: Record<string, Suite> = {
    "single-node": {
        shape: { nodes: 1, like: "local" },
        steps: [
            ["upgrade", () => upgradeFrom050()],
            ["dev", async w => {
                await deployDev(w);
                if (w.dev === undefined) return;
                await devDrift(w);
                await devDriftReported(w);
                await devSecurity();
                await devRbac();
                await devApp();
            }],
            ["updates", async w => { if (w.dev) { await devUpdates(w); await prComments(); } }],
            ["flows", async w => { if (w.dev) await devFlows(w); }],
            ["sentinel", sentinelTest],
            ["canary", async w => { if (w.dev) await canary(w); }],
            ["interrupted", () => interruptedDeploys()],
            ["reuse-yaml", () => reuseYaml()],
            ["destroy", async w => { await destroyDevAndTest(w); await phase("network policies", checkAllFlowsTried); }],
            ["managed", managedRedis],
        ],
        afterDown: ["lifecycle", () => lifecycle()],
    },
    // The single node's first step alone.
    upgrade: {
        shape: { nodes: 1, like: "local" },
        steps: [["upgrade", () => upgradeFrom050()]],
    },
    rehearsal: {
        shape: { nodes: 3, like: "ack" },
        steps: [
            ["prod", rehearsal],
            ["release", async w => { if (prodUp(w)) await releases(); }],
            ["drains", async w => { if (prodUp(w)) await drains(); }],
            ["loss", async w => { if (prodUp(w)) await nodeLoss(); }],
            ["zone", async w => { if (prodUp(w)) await zoneLoss(); }],
            ["backup", async w => { if (prodUp(w)) await backupAndProtect(w); }],
            ["teardown", async w => { if (prodUp(w)) await rehearsalTeardown(w); }],
        ],
    },
};

/** prod was deployed by this run, or (a run of later steps only, `--only=loss`) is there from an earlier one. */
function prodUp(w: World): boolean {
    return w.prod !== undefined || kubectlResult(["get", "namespace", "sample-app-prod"]).status === 0;
}

/** The steps `--only=` and `--skip=` leave. */
function chosen(steps: readonly Step[], argv: readonly string[]): Step[] {
    const list = (flag: string) => argv.find(a => a.startsWith(`--${flag}=`))?.slice(flag.length + 3).split(",").filter(Boolean);
    const only = list("only");
    const skip = list("skip") ?? [];
    const unknown = [...(only ?? []), ...skip].filter(n => !steps.some(([name]) => name === n));
    if (unknown.length > 0) {
        throw new Error(`no step ${unknown.join(", ")}: the steps are ${steps.map(([n]) => n).join(", ")}`);
    }
    return steps.filter(([name]) => (only === undefined || only.includes(name)) && !skip.includes(name));
}

async function main(argv: string[]): Promise<void> {
    const started = Date.now();
    const name = argv[0] ?? "single-node";
    const suite = SUITES[name];
    let steps: Step[];
    try {
        if (suite === undefined) throw new Error(`unknown suite ${JSON.stringify(name)}: ${Object.keys(SUITES).join(", ")}`);
        steps = chosen([...suite.steps, ...(suite.afterDown ? [suite.afterDown] : [])], argv.slice(1));
    } catch (e) {
        process.stderr.write(`cluster suite: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
        return;
    }
    const wasUp = clusterIsUp();
    const keep = process.env.SAMPLE_APP_CLUSTER_KEEP === "1";
    const w: World = {};
    try {
        await phase("cluster up", async () => {
            const want = `${suite.shape.nodes} node(s), like ${suite.shape.like}`;
            await check(wasUp ? `the cluster is already up, with ${want}` : `npm run cluster -- up --nodes ${suite.shape.nodes} --like ${suite.shape.like} starts the cluster`, () => {
                if (wasUp) {
                    const s = clusterShape();
                    assert(s.nodes === suite.shape.nodes && s.like === suite.shape.like,
                        `a cluster of ${s.nodes} node(s), like ${s.like}, is up; this suite needs ${want}: npm run cluster -- down first`);
                } else {
                    clusterSh("up", "--nodes", String(suite.shape.nodes), "--like", suite.shape.like);
                }
                assert(clusterIsUp(), "API server not ready");
            });
        });
        if (clusterIsUp() && clusterShape().nodes === suite.shape.nodes && clusterShape().like === suite.shape.like) {
            for (const [, run] of steps.filter(st => st !== suite.afterDown)) {
                await run(w);
            }
        }
    } catch (e) {
        line(`FAIL unexpected error: ${e instanceof Error ? e.stack : String(e)}`);
        await check("the suite ran to its end", () => { throw e; });
    } finally {
        if (!wasUp && !keep) {
            await phase("cluster down", async () => {
                await check("npm run cluster -- down leaves nothing of the cluster on the machine", () => clusterSh("down"));
            });
            if (suite.afterDown && steps.includes(suite.afterDown)) {
                await suite.afterDown[1](w);
            }
        }
        finish(started);
    }
}

main(process.argv.slice(2)).catch(e => {
    line(`FAIL unexpected error: ${e instanceof Error ? e.stack : String(e)}`);
    process.exitCode = 1;
}).finally(() => {
    // The suite is over: nothing it started may go on (a failed check's load generator kept two
    // runs sending requests to the next run's cluster). Exit once stdout has taken the last line.
    process.stdout.write("", () => process.exit());
});
