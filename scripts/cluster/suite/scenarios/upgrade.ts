/**
 * An upgrade from the released 0.5.0: dev deployed by the 0.5.0 program (a git worktree of the commit
 * that released it, with its own node_modules and its own `scripts/cluster/deploy.ts`, into the same
 * state backend), then the upgrade as docs/day-2.md says (the Redis StatefulSet deleted with its pods
 * orphaned; dev is not protected), this program's preview and `up` of that stack with the same
 * config, then its destroy. The preview may replace only what CHANGELOG 0.6.0 says an upgrade replaces; the component
 * type token moved (`sample-app:components:*` to `sample-app:index:*`), and its aliases must keep every
 * other URN, so the namespace and Redis are updated in place and the data stays.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { deploy, destroy, preview } from "../../deploy";
import { kubectl, kubectlResult, REPO_ROOT, stackEndpoint } from "../../env";
import { request, target } from "../http";
import { changedSteps } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { quiet } from "../world";

/** The commit main had when 0.5.0 was released (package.json 0.5.0, the last before 0.6.0's work). */
export const RELEASED_0_5_0 = "cf532711ff36d444c9d09984978e04f6ca34ffb6";

/** What 0.5.0's `npm run cluster -- deploy dev` set for the local cluster: the same config for both programs. */
const CONFIG_0_5_0 = { clusterProfile: "local", kubeContext: "sample-app-local", host: "sample-app.dev.localhost" };

/**
 * Whether a preview step of the upgrade is one CHANGELOG 0.6.0 announces: every ConfigMap is named by
 * its content and its content changed (nginx.conf's upstream, Redis's scripts as files), and the
 * Redis StatefulSet is replaced once for `podManagementPolicy: Parallel`. Updates and creates are
 * always fine; any other replacement or delete is not.
 */
export function announcedUpgradeStep(step: string): boolean {
    const [op, type] = step.split(" ");
    if (op === "update" || op === "create") return true;
    if (type === "kubernetes:core/v1:ConfigMap") return true;
    return type === "kubernetes:apps/v1:StatefulSet" && ["replace", "create-replacement", "delete-replaced"].includes(op);
}

function git(args: string[], cwd = REPO_ROOT): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs 0.5.0's own `npm run cluster -- deploy dev` from its worktree. */
function deployWith050(dir: string): void {
    execFileSync(path.join(dir, "node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/cluster/deploy.ts", "deploy", "dev"], {
        cwd: dir, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CI: "true" },
    });
}

export async function upgradeFrom050(): Promise<void> {
    await phase("an upgrade from the released 0.5.0", async () => {
        await check("dev deployed by the 0.5.0 program: this program's preview replaces or deletes only what CHANGELOG 0.6.0 announces (ConfigMaps named by content, the Redis StatefulSet once), its up keeps the users, and destroy removes it all", async () => {
            assert(kubectlResult(["get", "namespace", "sample-app-dev"]).status !== 0, "sample-app-dev exists: the upgrade starts from empty");
            try {
                git(["cat-file", "-e", `${RELEASED_0_5_0}^{commit}`]);
            } catch {
                throw new Error(`the 0.5.0 release (commit ${RELEASED_0_5_0}) is not in this clone: git fetch --unshallow`);
            }
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-0.5.0-"));
            git(["worktree", "add", "--detach", dir, RELEASED_0_5_0]);
            const t = target(stackEndpoint("dev", CONFIG_0_5_0.host));
            try {
                const version = (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
                assert(version === "0.5.0", `the release commit's package.json says ${version}`);
                execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
                let s = Date.now();
                deployWith050(dir);
                line(`       0.5.0: pulumi up of dev in ${((Date.now() - s) / 1000).toFixed(1)}s`);

                const email = `upgrade-${Date.now()}@example.com`;
                let id = "";
                await waitUntil("a user written through 0.5.0's dev", 60, async () => {
                    const r = await request(t, "/api/users", { method: "POST", body: JSON.stringify({ name: "Written by 0.5.0", email }) });
                    if (r.status === 201) id = (JSON.parse(r.body) as { id: string }).id;
                    return r.status === 201;
                }, 1000);

                // The upgrade's step 1 (CHANGELOG 0.6.0, docs/day-2.md): the StatefulSet goes, its pods stay.
                kubectl(["-n", "sample-app-dev", "delete", "statefulset", "redis", "--cascade=orphan"]);
                const events: EngineEvent[] = [];
                await preview("dev", CONFIG_0_5_0, { ...quiet, onEvent: e => events.push(e) });
                const steps = changedSteps(events);
                line(`       preview of the upgrade: ${steps.join("; ") || "no change"}`);
                const unannounced = steps.filter(st => !announcedUpgradeStep(st));
                assert(unannounced.length === 0, `not announced in CHANGELOG 0.6.0: ${unannounced.join("; ")}`);
                assert(!steps.some(st => /^(delete|replace)\S* sample-app:/.test(st)), "a component was deleted or replaced: the aliases did not hold");

                s = Date.now();
                await deploy("dev", CONFIG_0_5_0, quiet);
                line(`       0.6.0: pulumi up of the upgrade in ${((Date.now() - s) / 1000).toFixed(1)}s`);
                await waitUntil("the user written through 0.5.0 read back after the upgrade", 120, async () => (await request(t, `/api/users/${id}`)).status === 200, 1000);
            } finally {
                await destroy("dev", CONFIG_0_5_0, quiet).catch(e => line(`       destroy: ${String(e)}`));
                git(["worktree", "remove", "--force", dir]);
            }
            await waitUntil("sample-app-dev gone", 180, () => kubectlResult(["get", "namespace", "sample-app-dev"]).status !== 0, 1000);
        });
    });
}
