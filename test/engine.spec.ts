import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "../scripts/cluster/deploy";
import { announcedUpgradeStep } from "../scripts/cluster/suite/scenarios/upgrade";
import { LockContent, pendingObject, pulumiRuns, stackLocks, staleReason, withoutOrphanedManagers } from "../scripts/engine/recover";
import { parseCommandLine } from "../scripts/engine/stack";
import { atLeast } from "../scripts/engine/toolchain";
import { typedValue, workStackFile } from "../scripts/engine/workspace";

describe("the local engine's stack config (scripts/engine/workspace.ts)", () => {
    const types = { grayWeight: "integer", protect: "boolean", viewerGroups: "array", host: "string" };
    const tracked = { config: { "sample-app:host": "sample-app.dev.local", "sample-app:viewerGroups": ["a"] } };

    it("types key=value overrides the way Pulumi.yaml declares them, and leaves what does not parse for the program to reject", () => {
        assert.strictEqual(typedValue("integer", "20"), 20);
        assert.strictEqual(typedValue("boolean", "true"), true);
        assert.deepStrictEqual(typedValue("array", '["x","y"]'), ["x", "y"]);
        assert.strictEqual(typedValue("integer", "twenty"), "twenty");
        assert.strictEqual(typedValue("boolean", "yes"), "yes");
        assert.strictEqual(typedValue("array", "ops"), "ops");
        assert.strictEqual(typedValue(undefined, "20"), "20");
    });

    it("starts from the tracked stack file, applies overrides, and removes a key whose override is undefined", () => {
        const work = workStackFile(tracked, undefined, { grayWeight: "20", host: undefined, "kubernetes:context": "x" }, types, []);
        assert.deepStrictEqual(work, { config: { "sample-app:viewerGroups": ["a"], "sample-app:grayWeight": 20, "kubernetes:context": "x" } });
    });

    it("keeps the engine's salt and the encrypted secrets it was asked to keep, and drops every other earlier override", () => {
        const previous = {
            encryptionsalt: "v1:salt",
            config: { "sample-app:redisPassword": { secure: "v1:cipher" }, "sample-app:grayWeight": 20, "sample-app:other": { secure: "v1:x" } },
        };
        const work = workStackFile(tracked, previous, {}, types, ["redisPassword"]);
        assert.deepStrictEqual(work, {
            encryptionsalt: "v1:salt",
            config: { ...tracked.config, "sample-app:redisPassword": { secure: "v1:cipher" } },
        });
    });
});

describe("npm run cluster -- deploy|preview|refresh|drift|destroy (scripts/cluster/deploy.ts) and scripts/engine/stack.ts", () => {
    it("takes a command, any of the four stacks, key=value overrides and the flags of the command", () => {
        const c = parseArgs(["deploy", "dev", "imageTag=0.1.1", "grayWeight=20", "kubernetes:context=x"]);
        assert.strictEqual(c.command, "up", "deploy is pulumi up");
        assert.deepStrictEqual(c.overrides, { imageTag: "0.1.1", grayWeight: "20", "kubernetes:context": "x" });
        assert.strictEqual(parseArgs(["preview", "test", "--expect-no-changes"]).expectNoChanges, true);
        assert.strictEqual(parseArgs(["preview", "dev", "--event-log=/tmp/events.jsonl"]).eventLog, "/tmp/events.jsonl");
        assert.deepStrictEqual(parseArgs(["deploy", "dev", "host="]).overrides, { host: "" });
        const p = parseArgs(["preview", "dev", "--policy-pack=policy", "--policy-pack-config=policy/config/local.json"]);
        assert.deepStrictEqual([p.policyPacks, p.policyPackConfigs], [["policy"], ["policy/config/local.json"]]);
    });

    it("says what is wrong with bad arguments", () => {
        assert.throws(() => parseArgs(["apply", "dev"]), /unknown command "apply": use one of deploy, preview, refresh, drift, destroy/);
        assert.throws(() => parseArgs(["deploy"]), /deploy needs a STACK \(dev, test, gray or prod\)/);
        assert.throws(() => parseArgs(["deploy", "--event-log=x"]), /deploy needs a STACK/);
        assert.strictEqual(parseArgs(["deploy", "prod"]).stack, "prod");
        assert.throws(() => parseArgs(["deploy", "staging"]), /stack "staging" is not a stack of this repository: dev, test, gray, prod/);
        assert.throws(() => parseArgs(["deploy", "dev", "imageTag"]), /"imageTag": expected a config override key=value, --event-log=FILE, --policy-pack=DIR, --policy-pack-config=FILE or --refresh$/);
        assert.throws(() => parseArgs(["deploy", "dev", "--expect-no-changes"]), /expected a config override/);
        assert.throws(() => parseArgs(["refresh", "dev", "--policy-pack=policy"]), /key=value, --event-log=FILE or --expect-no-changes$/);
        assert.throws(() => parseArgs(["preview", "dev", "--event-log="]), /expected a config override/);
        assert.throws(() => parseArgs(["preview", "dev", "--policy-pack-config=a.json"]), /1 --policy-pack-config for 0 --policy-pack/);
        assert.throws(() => parseArgs(["drift", "dev", "--expect-no-changes"]), /key=value or --event-log=FILE$/);
    });

    it("drift is its own command: a refresh and preview whose report is its output, with the event log kept on request", () => {
        const d = parseArgs(["drift", "prod", "--event-log=/tmp/drift.jsonl"]);
        assert.deepStrictEqual([d.command, d.stack, d.eventLog, d.expectNoChanges], ["drift", "prod", "/tmp/drift.jsonl", false]);
        assert.strictEqual(parseArgs(["deploy", "prod", "--refresh"]).refresh, true, "up --refresh puts drift back");
        assert.strictEqual(parseArgs(["deploy", "prod"]).refresh, false);
        assert.throws(() => parseArgs(["destroy", "prod", "--refresh"]), /expected a config override/);
    });

    it("outside the local cluster takes any stack, with the flags a caller allows", () => {
        const c = parseCommandLine(["up", "prod", "--work-dir=/tmp/w", "imageTag=1.0.0"], { extraFlags: ["work-dir"] });
        assert.deepStrictEqual([c.command, c.stack, c.extra, c.overrides], ["up", "prod", { "work-dir": "/tmp/w" }, { imageTag: "1.0.0" }]);
        assert.throws(() => parseCommandLine(["deploy", "dev"]), /unknown command "deploy": use one of up, preview, refresh, drift, destroy/);
        assert.throws(() => parseCommandLine(["up", "dev", "--work-dir=/x"]), /--work-dir=\/x": expected a config override/);
    });
});

describe("which Pulumi CLI runs the program (scripts/engine/toolchain.ts)", () => {
    it("takes a CLI at least as new as the SDK, whatever its v prefix or pre-release tag", () => {
        assert.ok(atLeast("v3.274.1", "3.270.0"));
        assert.ok(atLeast("v3.270.0", "3.270.0"));
        assert.ok(!atLeast("v3.269.9", "3.270.0"));
        assert.ok(atLeast("v4.0.0-alpha.1", "3.270.0"));
        assert.ok(!atLeast("not a version", "3.270.0"));
    });
});

describe("recovery from a killed run (scripts/engine/recover.ts)", () => {
    const lock = (over: Partial<LockContent> = {}): LockContent => ({ pid: 4242, username: "root", hostname: "ci-1", timestamp: "2026-12-06T10:00:00Z", ...over });

    it("calls a lock stale only when this machine's process that held it no longer runs a Pulumi CLI", () => {
        assert.match(staleReason(lock(), "ci-1", () => false) ?? "", /root's pulumi \(pid 4242 on ci-1, since 2026-12-06T10:00:00Z\), a process that no longer runs/);
        assert.strictEqual(staleReason(lock(), "ci-1", () => true), undefined, "a CLI that still runs holds a live lock");
        assert.strictEqual(staleReason(lock(), "laptop", () => false), undefined, "another machine's lock is never cleared");
    });

    it("does not take a pid reused by another program for a Pulumi CLI", () => {
        assert.strictEqual(pulumiRuns(process.pid), false, "this Node.js process is no pulumi");
        assert.strictEqual(pulumiRuns(2 ** 22 + 1), false, "no such process");
    });

    it("releases only what a killed run's kubernetes provider owned of an object it created, so the next run's manager owns it alone", () => {
        const fields = [
            { manager: "pulumi-kubernetes-53ddd4f3", operation: "Apply" },
            { manager: "kube-controller-manager", operation: "Update" },
            { manager: "pulumi-kubernetes", operation: "Update" },
            { manager: "kubectl-client-side-apply", operation: "Update" },
        ];
        assert.deepStrictEqual(withoutOrphanedManagers(fields).map(f => f.manager), ["kube-controller-manager", "kubectl-client-side-apply"]);
        assert.deepStrictEqual(withoutOrphanedManagers([]), []);
    });

    it("reads the Kubernetes object a pending create names from its inputs, and nothing from another provider's", () => {
        const op = (type: string, inputs: Record<string, unknown>) => ({ type: "creating", resource: { urn: "urn:x", type, inputs } });
        assert.deepStrictEqual(pendingObject(op("kubernetes:apps/v1:Deployment", { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api", namespace: "ns" } })),
            { apiVersion: "apps/v1", kind: "Deployment", name: "api", namespace: "ns" });
        assert.deepStrictEqual(pendingObject(op("kubernetes:core/v1:Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } })), { apiVersion: "v1", kind: "Namespace", name: "ns" });
        assert.strictEqual(pendingObject(op("random:index/randomPassword:RandomPassword", { length: 24 })), undefined);
    });

    it("finds a stack's locks where the file backend writes them", () => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "locks-"));
        try {
            const dir = path.join(backend, ".pulumi", "locks", "organization", "sample-app", "dev");
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(path.join(dir, "0b8c.json"), JSON.stringify(lock()));
            const found = stackLocks(backend, "organization/sample-app/dev");
            assert.deepStrictEqual(found.map(l => [path.basename(l.file), l.content.pid]), [["0b8c.json", 4242]]);
            assert.deepStrictEqual(stackLocks(backend, "organization/sample-app/test"), []);
        } finally {
            fs.rmSync(backend, { recursive: true, force: true });
        }
    });
});

describe("the upgrade from the 0.5.0 release on the local cluster (scripts/cluster/suite/scenarios/upgrade.ts)", () => {
    it("lets a preview update and create, rename the content-named ConfigMaps and replace the Redis StatefulSet once, and nothing else replace or delete", () => {
        for (const ok of [
            "update kubernetes:apps/v1:Deployment user-api", "create kubernetes:core/v1:Secret redis-scripts",
            "create-replacement kubernetes:core/v1:ConfigMap frontend-nginx", "delete-replaced kubernetes:core/v1:ConfigMap frontend-nginx",
            "replace kubernetes:apps/v1:StatefulSet redis", "delete-replaced kubernetes:apps/v1:StatefulSet redis",
        ]) assert.ok(announcedUpgradeStep(ok), ok);
        for (const bad of [
            "replace kubernetes:core/v1:Namespace sample-app-dev", "delete kubernetes:core/v1:PersistentVolumeClaim data",
            "delete sample-app:components:Redis redis", "replace kubernetes:apps/v1:Deployment user-api",
            "delete kubernetes:apps/v1:StatefulSet redis",
        ]) assert.ok(!announcedUpgradeStep(bad), bad);
    });
});
