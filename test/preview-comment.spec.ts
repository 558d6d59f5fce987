import * as assert from "assert";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { changes, parseEvents, pathSegments, renderComment } from "../scripts/preview-comment";
import { SIG, step, summary } from "./engine-events";

const deployment = (image: string, replicas: number) => ({ kind: "Deployment", spec: { replicas, template: { spec: { containers: [{ name: "api", image }] } } } });

describe("the pull-request comment of a preview (scripts/preview-comment.ts)", () => {
    const events: EngineEvent[] = [
        step("same", "kubernetes:core/v1:Namespace", "sample-app", {}, {}),
        step("update", "kubernetes:apps/v1:Deployment", "user-api", deployment("api:0.1.0", 3), deployment("api:0.1.1", 4), {
            "spec.template.spec.containers[0].image": { diffKind: "update", inputDiff: true },
            "spec.replicas": { diffKind: "update", inputDiff: true },
        }),
        step("create-replacement", "kubernetes:core/v1:ConfigMap", "frontend-nginx", { metadata: { name: "frontend-nginx-aaaa" } }, { metadata: { name: "frontend-nginx-bbbb" } }, { "metadata.name": { diffKind: "update-replace", inputDiff: true } }),
        step("replace", "kubernetes:core/v1:ConfigMap", "frontend-nginx", { metadata: { name: "frontend-nginx-aaaa" } }, { metadata: { name: "frontend-nginx-bbbb" } }, { "metadata.name": { diffKind: "update-replace", inputDiff: true } }),
        step("delete-replaced", "kubernetes:core/v1:ConfigMap", "frontend-nginx", { metadata: { name: "frontend-nginx-aaaa" } }, undefined),
        step("update", "kubernetes:core/v1:Secret", "redis-auth", { data: { password: "b2xkLXBhc3N3b3Jk" } }, { data: SIG, stringData: { password: "new-password-in-plain-text" } }, {
            "data.password": { diffKind: "update", inputDiff: true }, "stringData.password": { diffKind: "add", inputDiff: true },
        }),
        step("delete", "kubernetes:networking.k8s.io/v1:NetworkPolicy", "old-policy", {}, undefined),
        step("update", "kubernetes:core/v1:ConfigMap", "labels", { data: { "nginx.conf": "a\nb" } }, { data: { "nginx.conf": "a\nb\nc" }, token: SIG }, {
            'data["nginx.conf"]': { diffKind: "update", inputDiff: true }, token: { diffKind: "add", inputDiff: true },
        }),
        summary({ same: 1, update: 3, replace: 1, delete: 1 }),
    ];

    it("reads a property path with indexes and quoted keys", () => {
        assert.deepStrictEqual(pathSegments('spec.template.spec.containers[0].image'), ["spec", "template", "spec", "containers", 0, "image"]);
        assert.deepStrictEqual(pathSegments('data["nginx.conf"]'), ["data", "nginx.conf"]);
    });

    it("counts the operations, and names what is replaced or deleted, and why, before everything else", () => {
        const md = renderComment(events, "prod");
        assert.match(md, /^<!-- sample-app-preview:prod -->\n### `pulumi preview` of \*\*prod\*\*/);
        assert.match(md, /\*\*1 to delete, 1 to replace, 3 to update, 1 to leave unchanged\*\*/);
        const first = md.indexOf("**Replaced or deleted**");
        assert.ok(first > 0 && first < md.indexOf("| | operation |"));
        assert.match(md, /🗑️ \*\*delete\*\* networking\.k8s\.io\/v1:NetworkPolicy `old-policy`/);
        assert.match(md, /🔁 \*\*replace\*\* v1:ConfigMap `frontend-nginx`, because `metadata\.name` changes/);
    });

    it("shows each changed field with its old and new value, a replacement's three steps as one row", () => {
        const list = changes(events);
        assert.deepStrictEqual(list.map(c => `${c.op} ${c.name}`), ["delete old-policy", "replace frontend-nginx", "update user-api", "update labels", "update redis-auth"]);
        const md = renderComment(events, "prod");
        assert.match(md, /`spec\.replicas`: `3` → `4`/);
        assert.match(md, /`spec\.template\.spec\.containers\[0\]\.image`: `api:0\.1\.0` → `api:0\.1\.1`/);
        assert.match(md, /`data\["nginx\.conf"\]`: 2 → 3 lines, 1 added, 0 removed/);
    });

    it("never shows a secret: a Secret's data and stringData, and any value the engine marks secret", () => {
        const md = renderComment(events, "prod");
        for (const leak of ["new-password-in-plain-text", "b2xkLXBhc3N3b3Jk", "1b47061264138c4ac30d75fd1eb44270"]) {
            assert.ok(!md.includes(leak), `the comment shows ${leak}`);
        }
        assert.match(md, /`data\.password`: `\[secret\]` → `\[secret\]`/);
        assert.match(md, /`token`: — → `\[secret\]`/);
    });

    it("says so when the preview failed or a policy was violated", () => {
        const failed: EngineEvent[] = [
            { sequence: 1, timestamp: 0, diagnosticEvent: { message: "error: Deployment has no limits\n", color: "never", severity: "error" } },
            { sequence: 2, timestamp: 0, policyEvent: { message: "container has no limits", color: "never", policyName: "resource-limits", policyPackName: "sample-app", policyPackVersion: "1", policyPackVersionTag: "1", enforcementLevel: "mandatory" } },
        ] as EngineEvent[];
        const md = renderComment(failed, "gray");
        assert.match(md, /No summary: the preview did not finish/);
        assert.match(md, /> error: Deployment has no limits/);
        assert.match(md, /⛔ `resource-limits` \(mandatory\): container has no limits/);
    });

    it("reads the event log as JSON lines or as a JSON array, and names a line that is not JSON", () => {
        const lines = events.map(e => JSON.stringify(e)).join("\n");
        assert.strictEqual(parseEvents(lines).length, events.length);
        assert.strictEqual(parseEvents(JSON.stringify(events)).length, events.length);
        assert.throws(() => parseEvents(`${lines}\nnot json`), /line 10 of the event log is not JSON/);
    });
});
