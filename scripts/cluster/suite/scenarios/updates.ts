/**
 * Updates of dev with `pulumi up`, as a user makes them: an up of the unchanged stack changes
 * nothing; a new imageTag is previewed as exactly two Deployment updates and rolls out under load
 * without one failed request; an nginx.conf change replaces the frontend's ConfigMap by a new one and
 * rolls the pods under load; and the pull-request comments made from those real previews.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { renderComment } from "../../../preview-comment";
import { deploy, localStack, preview } from "../../deploy";
import { clusterShape, nodeName, REPO_ROOT, RUN_DIR } from "../../env";
import { describeLoad, load, target } from "../http";
import { changedSteps, json, K8sList, Meta, pods, rolledOut, versionsOf } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { DEV_NS, quiet, World } from "../world";

/** The same app images under the tag `tag` in every node's containerd: a "new release" that needs no rebuild. */
export function tagAppImages(tag: string): void {
    const shape = clusterShape();
    for (let i = 1; i <= shape.nodes; i++) {
        const sock = path.join(RUN_DIR, "nodes", nodeName(i, shape.nodes), "containerd.sock");
        for (const img of ["api", "web"]) {
            execFileSync("ctr", ["--address", sock, "-n", "k8s.io", "images", "tag", "--force", `docker.io/sample-app/${img}:0.1.0`, `docker.io/sample-app/${img}:${tag}`], { stdio: "pipe" });
        }
    }
}

/**
 * Runs `fn` as if the user had added `line` to app/web/nginx.conf: the inline program runs in this
 * process and reads the file through Node's fs module, whose readFileSync is swapped meanwhile.
 */
export async function withNginxConfEdit<T>(extra: string, fn: () => Promise<T>): Promise<T> {
    const conf = path.join(REPO_ROOT, "app", "web", "nginx.conf");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require("fs") as { readFileSync: typeof fs.readFileSync };
    const original = nodeFs.readFileSync;
    nodeFs.readFileSync = ((p: fs.PathOrFileDescriptor, o?: unknown) =>
        p === conf ? `${original(p, "utf8")}\n${extra}\n` : original(p, o as BufferEncoding)) as typeof fs.readFileSync;
    try {
        return await fn();
    } finally {
        nodeFs.readFileSync = original;
    }
}

export async function devUpdates(w: World): Promise<void> {
    const t = target("dev");
    await phase("dev: updates with pulumi up", async () => {
        await check("an up of the unchanged stack changes no object (same generation, or resourceVersion where there is none)", async () => {
            assert(w.dev, "dev is not deployed");
            const before = versionsOf(w.dev.objects);
            w.dev = await deploy("dev", {}, quiet);
            const after = versionsOf(w.dev.objects);
            const changed = [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
            assert(changed.length === 0, `changed by the up: ${changed.join(", ")}`);
            assert(Object.keys(w.dev.changes).every(op => op === "same"), `the engine counted ${JSON.stringify(w.dev.changes)}`);
        });
        tagAppImages("0.1.0-rollout");
        await check("a preview of a new imageTag shows exactly an update of the two Deployments, with the image lines, and no replacement", async () => {
            const events: EngineEvent[] = [];
            let out = "";
            await preview("dev", { imageTag: "0.1.0-rollout" }, { onOutput: o => { out += o; }, onEvent: e => events.push(e) });
            const steps = changedSteps(events);
            assert(JSON.stringify(steps) === JSON.stringify(["update kubernetes:apps/v1:Deployment frontend", "update kubernetes:apps/v1:Deployment user-api"]), `steps: ${steps.join("; ")}`);
            assert(/api:0\.1\.0-rollout/.test(out), `the diff does not show the new image:\n${out.slice(-2000)}`);
            line(`       ${steps.join("; ")}`);
        });
        await check("pulumi up of the new imageTag rolls out under continuous load without one failed request", async () => {
            const traffic = load(t, ["/api/users?limit=5"], { workers: 4 });
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
            const r = await traffic.stop();
            await waitUntil("the API's rollout finishes (no pod of the old ReplicaSet left)", 60, () => rolledOut(DEV_NS, "user-api"));
            const images = pods(DEV_NS, "user-api").map(p => p.spec.containers[0].image);
            assert(images.length > 0 && images.every(i => i.endsWith(":0.1.0-rollout")), `API pods run ${images.join(", ")}`);
            line(`       during the rollout: ${describeLoad(r)}; ${JSON.stringify(w.dev.changes)}`);
            assert(r.sent > 0 && r.failed === 0, `failed requests:\n${r.errors.join("\n")}`);
        });
        await check("a change to nginx.conf: the preview replaces the frontend's ConfigMap by a new one and updates its Deployment; the up rolls the pods under load without one failed request", async () => {
            const before = pods(DEV_NS, "frontend").map(p => p.metadata.uid);
            const oldMaps = json<K8sList<{ metadata: Meta }>>(["-n", DEV_NS, "get", "configmap", "-l", "app.kubernetes.io/name=frontend"]).items.map(c => c.metadata.name);
            try {
                const r = await withNginxConfEdit("# edited by the cluster test", async () => {
                    const events: EngineEvent[] = [];
                    await preview("dev", { imageTag: "0.1.0-rollout" }, { ...quiet, onEvent: e => events.push(e) });
                    const steps = changedSteps(events);
                    const want = ["create-replacement kubernetes:core/v1:ConfigMap frontend-nginx", "replace kubernetes:core/v1:ConfigMap frontend-nginx", "update kubernetes:apps/v1:Deployment frontend"];
                    assert(want.every(s => steps.includes(s)) && steps.every(s => want.includes(s) || s === "delete-replaced kubernetes:core/v1:ConfigMap frontend-nginx"), `steps: ${steps.join("; ")}`);
                    line(`       preview: ${steps.join("; ")}`);
                    const traffic = load(t, ["/"], { workers: 4 });
                    w.dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
                    return traffic.stop();
                });
                await waitUntil("the frontend's rollout finishes (no pod of the old ReplicaSet left)", 60, () => rolledOut(DEV_NS, "frontend"));
                const after = pods(DEV_NS, "frontend");
                assert(after.length > 0 && after.every(p => !before.includes(p.metadata.uid)), `frontend pods were not replaced: ${after.map(p => p.metadata.name).join(", ")}`);
                const maps = json<K8sList<{ metadata: Meta; data: Record<string, string> }>>(["-n", DEV_NS, "get", "configmap", "-l", "app.kubernetes.io/name=frontend"]).items;
                assert(maps.length === 1 && !oldMaps.includes(maps[0].metadata.name), `ConfigMaps now: ${maps.map(m => m.metadata.name).join(", ")} (before: ${oldMaps.join(", ")})`);
                assert(maps[0].data["nginx.conf"].includes("# edited by the cluster test"), "the new ConfigMap lacks the change");
                line(`       ${oldMaps.join(", ")} -> ${maps[0].metadata.name}; during the roll: ${describeLoad(r)}`);
                assert(r.sent > 0 && r.failed === 0, `failed requests:\n${r.errors.join("\n")}`);
            } finally {
                // The user reverts the edit: the next up puts the repository's nginx.conf back (also
                // when a check above failed, so the checks after this one start from the repository).
                w.dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
            }
        });
    });
}

export async function prComments(): Promise<void> {
    await phase("dev: pull-request comments from real previews", async () => {
        const comment = async (extra: Record<string, string | undefined>, before?: (st: Stack) => Promise<() => Promise<void>>) => {
            const events: EngineEvent[] = [];
            const st = await localStack("dev", { imageTag: "0.1.0-rollout", ...extra });
            const undo = before ? await before(st) : async () => undefined;
            try {
                await st.preview({ diff: true, onOutput: () => undefined, onEvent: e => events.push(e), color: "never" });
            } finally {
                await undo();
            }
            return renderComment(events, "dev");
        };
        await check("an image change: the comment lists the two Deployments with the old and new image, nothing replaced", async () => {
            const md = await comment({ imageTag: "0.1.0" });
            assert(/\*\*2 to update/.test(md) && !/Replaced or deleted/.test(md), md);
            assert(/`user-api` \| apps\/v1:Deployment \| `spec\.template\.spec\.containers\[0\]\.image`: `[^`]*api:0\.1\.0-rollout` → `[^`]*api:0\.1\.0`/.test(md), md);
        });
        await check("a replica change: the comment shows spec.replicas 1 → 2 on the frontend", async () => {
            const md = await comment({ frontendReplicas: "2" });
            assert(/`frontend` \| apps\/v1:Deployment \| `spec\.replicas`: `1` → `2`/.test(md), md);
        });
        await check("a change that replaces (nginx.conf): the comment calls out the ConfigMap's replacement first, with its reason", async () => {
            const md = await withNginxConfEdit("# another edit", () => comment({}));
            assert(/\*\*Replaced or deleted\*\*[^|]*🔁 \*\*replace\*\* v1:ConfigMap `frontend-nginx`, because [^\n]*`metadata\.name`[^\n]* changes?/.test(md), md);
        });
        await check("a new Redis password: the comment shows the Secret's fields change, and neither password, plain or base64", async () => {
            const key = "sample-app:redisPassword";
            const next = `preview-only-${Date.now()}-password`;
            let old = "";
            const md = await comment({}, async st => {
                old = (await st.getConfig(key)).value;
                await st.setConfig(key, { value: next, secret: true });
                return async () => st.setConfig(key, { value: old, secret: true });
            });
            assert(/`redis-auth` \| v1:Secret \| [^\n]*`\[secret\]`/.test(md), md);
            for (const leak of [old, next, Buffer.from(old).toString("base64"), Buffer.from(next).toString("base64")]) {
                assert(!md.includes(leak), "the comment shows a password");
            }
            await preview("dev", { imageTag: "0.1.0-rollout" }, { ...quiet, expectNoChanges: true });
        });
    });
}
