import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { DRIFT_EXIT, driftExit, driftMarker, driftOf, renderDrift } from "../scripts/drift/report";
import { SIG, step, summary } from "./engine-events";

const api = (level: string) => ({ kind: "Deployment", spec: { template: { spec: { containers: [{ name: "api", env: [{ name: "PORT", value: "8080" }, { name: "LOG_LEVEL", value: level }] }] } } } });
const error = (message: string): EngineEvent => ({ sequence: 0, timestamp: 0, diagnosticEvent: { message, color: "never", severity: "error" } }) as unknown as EngineEvent;

describe("the drift report of a refresh and preview (scripts/drift/report.ts)", () => {
    // What `pulumi preview --refresh` emits after someone ran `kubectl set env deployment/user-api
    // LOG_LEVEL=debug`, deleted a RoleBinding and edited the Redis Secret: the refresh steps read
    // each object back, the preview's steps put them back.
    const drifted: EngineEvent[] = [
        step("refresh", "kubernetes:apps/v1:Deployment", "user-api", api("info"), api("debug")),
        step("refresh", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "sample-app-viewer", {}, undefined),
        step("same", "kubernetes:core/v1:Namespace", "sample-app", {}, {}),
        step("update", "pulumi:providers:kubernetes", "cluster", { enablePatchForce: "false" }, { enablePatchForce: "true" }, { enablePatchForce: { diffKind: "update", inputDiff: true } }),
        step("update", "kubernetes:apps/v1:Deployment", "user-api", api("debug"), api("info"), { "spec.template.spec.containers[0].env[1].value": { diffKind: "update", inputDiff: true } }),
        step("create", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "sample-app-viewer", undefined, { metadata: { name: "sample-app-viewer" } }),
        step("update", "kubernetes:core/v1:Secret", "redis-auth", { data: { password: "ZWRpdGVkLWJ5LWhhbmQ=" } }, { data: SIG, stringData: { password: "the-declared-password" } }, {
            "data.password": { diffKind: "update", inputDiff: true },
        }),
        summary({ same: 1, update: 3, create: 1 }),
    ];

    it("names each drifted object with its fields live → declared, and a deleted one as created again; the refresh's own steps and the provider are not drift", () => {
        const d = driftOf(drifted, "prod");
        assert.ok(d.finished);
        assert.deepStrictEqual(d.objects.map(o => `${o.op} ${o.name}`), ["create sample-app-viewer", "update user-api", "update redis-auth"]);
        const md = renderDrift(d, "https://github.com/o/r/actions/runs/1");
        assert.match(md, /^<!-- sample-app-drift:prod -->\n### Drift of \*\*prod\*\*/);
        assert.match(md, /\*\*3 objects in the cluster differ from what the program declares\.\*\*/);
        assert.match(md, /\| `user-api` \| apps\/v1:Deployment \| `spec\.template\.spec\.containers\[0\]\.env\[1\]\.value`: `debug` → `info` \|/);
        assert.match(md, /\| `sample-app-viewer` \| rbac\.authorization\.k8s\.io\/v1:RoleBinding \| \(deleted from the cluster: created again\) \|/);
        assert.match(md, /Found by https:\/\/github\.com\/o\/r\/actions\/runs\/1\n$/);
        assert.ok(!md.includes("cluster`"), "the provider's own update is reported");
        assert.strictEqual(driftExit(d), DRIFT_EXIT);
    });

    it("never shows a Secret's value, live or declared, plain or base64", () => {
        const md = renderDrift(driftOf(drifted, "prod"));
        assert.match(md, /`data\.password`: `\[secret\]` → `\[secret\]`/);
        for (const v of ["ZWRpdGVkLWJ5LWhhbmQ=", "edited-by-hand", "the-declared-password"]) {
            assert.ok(!md.includes(v), `the report shows ${v}`);
        }
    });

    it("reports no drift, and exits 0, when the preview after the refresh changes nothing", () => {
        const d = driftOf([step("refresh", "kubernetes:apps/v1:Deployment", "user-api", api("info"), api("info")), step("same", "kubernetes:apps/v1:Deployment", "user-api", api("info"), api("info")), summary({ same: 1 })], "dev");
        assert.deepStrictEqual(d.objects, []);
        assert.match(renderDrift(d), /No drift: every object in the cluster is as the program declares it\./);
        assert.strictEqual(driftExit(d), 0);
    });

    it("says drift is unknown, with the engine's error, when the preview fails (exit 2): a failed run is never read as no drift", () => {
        const d = driftOf([error("configured Kubernetes cluster is unreachable")], "prod");
        assert.ok(!d.finished);
        assert.match(renderDrift(d), /\*\*The refresh and preview did not finish\*\*, so drift is unknown:\n\n> configured Kubernetes cluster is unreachable/);
        assert.strictEqual(driftExit(d), 2);
        assert.strictEqual(driftExit(driftOf([step("update", "kubernetes:apps/v1:Deployment", "user-api", api("debug"), api("info"))], "prod")), 2, "no summary: the preview was cut short");
    });

    describe("its command line", () => {
        const run = (...args: string[]) => spawnSync(path.join("node_modules", ".bin", "ts-node"), ["--transpile-only", "scripts/drift/report.ts", ...args], { encoding: "utf8" });
        let dir = "";
        before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-")); });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("reads the event log the engine wrote (JSON lines), prints the report and exits 3 on drift", () => {
            const log = path.join(dir, "events.jsonl");
            fs.writeFileSync(log, drifted.map(e => JSON.stringify(e)).join("\n"));
            const r = run(log, "--stack", "prod");
            assert.strictEqual(r.status, DRIFT_EXIT, r.stderr);
            assert.ok(r.stdout.startsWith(driftMarker("prod")));
        });

        it("refuses a missing stack or event log with a message, exit 2", () => {
            const a = run(path.join(dir, "nope.jsonl"), "--stack", "prod");
            assert.strictEqual(a.status, 2);
            assert.match(a.stderr, /no event log at .*nope\.jsonl/);
            const b = run(path.join(dir, "events.jsonl"));
            assert.strictEqual(b.status, 2);
            assert.match(b.stderr, /usage: report\.ts EVENTS_FILE --stack STACK/);
        });
    });
});
