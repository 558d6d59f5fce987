/**
 * Drift detection on the cluster, as the scheduled drift workflow runs it (`scripts/engine/stack.ts
 * drift`, here `npm run cluster -- drift dev`): someone changes a field the program sets with kubectl
 * and deletes an object the program made; the refresh and preview report exactly those two, with the
 * field's live and declared values and no secret; the next `pulumi up --refresh` puts both back, and
 * drift is then reported as none.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { deploy, localStack } from "../../deploy";
import { kubectl, kubectlResult, REPO_ROOT } from "../../env";
import { DRIFT_EXIT, renderDrift } from "../../../drift/report";
import { drift } from "../../../engine/stack";
import { json, K8sList, Meta, rolledOut } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { DEV_NS, quiet, World } from "../world";

/** The API container's LOG_LEVEL in the live Deployment. */
function liveLogLevel(): string | undefined {
    const d = json<{ spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } }>(["-n", DEV_NS, "get", "deployment", "user-api"]);
    return d.spec.template.spec.containers[0].env?.find(e => e.name === "LOG_LEVEL")?.value;
}

export async function devDriftReported(w: World): Promise<void> {
    await phase("dev: drift is reported, and up puts it back", async () => {
        const bindings = json<K8sList<{ metadata: Meta }>>(["-n", DEV_NS, "get", "rolebinding"]).items.map(b => b.metadata.name);
        const victim = bindings.find(n => n.includes("view"));
        await check("a kubectl edit of a field the program sets and a deleted object are reported exactly: that field live → declared, that object to create, nothing else, no secret", async () => {
            assert(victim, `no viewers' RoleBinding in ${DEV_NS}: ${bindings.join(", ")}`);
            assert(liveLogLevel() === "info", `dev's API runs LOG_LEVEL=${liveLogLevel()}, not the default info`);
            kubectl(["-n", DEV_NS, "set", "env", "deployment/user-api", "LOG_LEVEL=debug"]);
            kubectl(["-n", DEV_NS, "delete", "rolebinding", victim]);
            const d = await drift(await localStack("dev"), quiet);
            const report = renderDrift(d);
            line(`       ${report.split("\n").filter(l => l.startsWith("| `")).join("\n       ")}`);
            assert(d.finished, `the refresh and preview did not finish:\n${d.errors.join("\n")}`);
            const names = d.objects.map(o => `${o.op} ${o.type} ${o.name}`).sort();
            assert(names.length === 2, `drifted: ${names.join("; ")}`);
            const api = d.objects.find(o => o.type === "kubernetes:apps/v1:Deployment" && o.name === "user-api" && o.op === "update");
            assert(api, `the API's Deployment is not reported as an update: ${names.join("; ")}`);
            assert(api.fields.length === 1 && /^`spec\.template\.spec\.containers\[0\]\.env\[\d+\]\.value`: `debug` → `info`$/.test(api.fields[0]), `its fields: ${api.fields.join("; ")}`);
            const binding = d.objects.find(o => o.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" && o.op === "create");
            assert(binding, `the deleted RoleBinding is not reported to be created again: ${names.join("; ")}`);
            const password = (await (await localStack("dev")).getConfig("sample-app:redisPassword")).value;
            assert(!report.includes(password) && !report.includes(Buffer.from(password).toString("base64")), "the report holds the Redis password");
        });
        await check("npm run cluster -- drift dev prints the same report and exits 3; after pulumi up --refresh it exits 0 with no drift, the field and the object back", async () => {
            const cli = () => spawnSync("bash", [path.join(REPO_ROOT, "scripts", "cluster", "cluster.sh"), "drift", "dev"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            const before = cli();
            // Put back first, so that a failed check here leaves no drift to the checks after it.
            w.dev = await deploy("dev", {}, { ...quiet, refresh: true });
            assert(before.status === DRIFT_EXIT, `exit status ${before.status}:\n${before.stdout}`);
            assert(/\*\*2 objects in the cluster differ/.test(before.stdout) && /`user-api` \| apps\/v1:Deployment/.test(before.stdout), before.stdout);
            await waitUntil("the API's rollout back to LOG_LEVEL=info finishes", 120, () => rolledOut(DEV_NS, "user-api"));
            assert(liveLogLevel() === "info", `LOG_LEVEL is ${liveLogLevel()} after up`);
            assert(kubectlResult(["-n", DEV_NS, "get", "rolebinding", victim!]).status === 0, `the RoleBinding ${victim} is not back`);
            const after = cli();
            assert(after.status === 0 && /No drift/.test(after.stdout), `exit status ${after.status}:\n${after.stdout}`);
            line(`       up --refresh: ${JSON.stringify(w.dev.changes)}; then: no drift`);
        });
    });
}
