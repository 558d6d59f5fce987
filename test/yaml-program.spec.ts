/**
 * examples/reuse-yaml and its runner (scripts/engine/yaml-program.ts), without an engine: the
 * program against the component package's schema, and the runner's own parts. The engine runs it
 * in CI (npm run engine:package: a preview) and on the local cluster (checkYamlProgram).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { readSchemaRecord } from "../scripts/component-schema";
import { COMPONENTS, leftovers, parseArgs, plainTextPaths, plannedSteps, PROGRAM_DIR, request, writeWorkCopy } from "../scripts/engine/yaml-program";
import { ROOT } from "./harness";

/* eslint-disable @typescript-eslint/no-explicit-any -- the program and the schema are read structurally. */
interface Resource { type: string; properties?: Record<string, any>; options?: Record<string, any> }
const program = yaml.load(fs.readFileSync(path.join(PROGRAM_DIR, "Pulumi.yaml"), "utf8")) as {
    runtime: string; packages: Record<string, string>; config: Record<string, any>; resources: Record<string, Resource>;
};

describe("examples/reuse-yaml, the Pulumi YAML program built from the component package", () => {
    const schema = readSchemaRecord()!.schema;
    const components = Object.entries(program.resources).filter(([, r]) => r.type.startsWith("sample-app:"));

    it("gets the package as `pulumi package add ../..` records it: from this repository", () => {
        assert.strictEqual(program.runtime, "yaml");
        assert.deepStrictEqual(program.packages, { "sample-app": "../.." });
        assert.strictEqual(path.resolve(PROGRAM_DIR, program.packages["sample-app"]), ROOT);
    });

    it("builds AppNamespace, Redis, UserApi, Frontend and a GatewayRoute under its own names: the components the runner checks", () => {
        assert.deepStrictEqual(components.map(([name, r]) => `${r.type} ${name}`).sort(), COMPONENTS);
    });

    it("gives each component only inputs its schema has, and every input the schema requires", () => {
        for (const [name, r] of components) {
            const spec = schema.resources[r.type];
            assert.ok(spec, `${r.type} is not in the schema`);
            const given = Object.keys(r.properties ?? {});
            assert.deepStrictEqual(given.filter(p => !(p in spec.inputProperties)), [], `${name}: inputs ${r.type} does not have`);
            assert.deepStrictEqual((spec.requiredInputs ?? []).filter((p: string) => !given.includes(p)), [], `${name}: required inputs missing`);
        }
        const redis = program.resources["storefront-api"].properties!.redis;
        assert.deepStrictEqual(Object.keys(redis).sort(), schema.types["sample-app:index:RedisConnection"].required, "UserApi's redis: the connection's required fields");
    });

    it("pins every component to its one kubernetes provider, whose kube context has no default", () => {
        assert.strictEqual(program.resources.cluster.type, "pulumi:providers:kubernetes");
        assert.strictEqual(program.resources.cluster.properties!.context, "${kubeContext}");
        assert.strictEqual(program.config.kubeContext.default, undefined);
        for (const [name, r] of components) {
            assert.deepStrictEqual(r.options?.providers, ["${cluster}"], `${name} is not pinned to the provider`);
        }
    });

    it("takes the Redis password from secret config, so no random provider is needed", () => {
        assert.strictEqual(program.config.redisPassword.secret, true);
        assert.strictEqual(program.resources["storefront-cache"].properties!.password, "${redisPassword}");
    });
});

describe("the YAML program's runner (scripts/engine/yaml-program.ts)", () => {

    it("says which resource and property of the state hold a secret in plain text, and none that is a secret (shown decrypted by --show-secrets)", () => {
        const deployment = {
            manifest: { time: "t" },
            resources: [
                { urn: "urn:pulumi:s::p::kubernetes:core/v1:Secret::cache-auth", inputs: { stringData: { password: "s3cret-value" } } },
                { urn: "urn:pulumi:s::p::sample-app:index:Redis::cache", outputs: { password: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: "\"s3cret-value\"" } } },
                { urn: "urn:pulumi:s::p::kubernetes:apps/v1:StatefulSet::cache", inputs: { spec: { args: ["--requirepass", "s3cret-value"] } } },
            ],
        };
        assert.deepStrictEqual(plainTextPaths(deployment, "s3cret-value"), [
            "urn:pulumi:s::p::kubernetes:core/v1:Secret::cache-auth inputs.stringData.password",
            "urn:pulumi:s::p::kubernetes:apps/v1:StatefulSet::cache inputs.spec.args[1]",
        ]);
        assert.deepStrictEqual(plainTextPaths({ resources: [deployment.resources[1]] }, "s3cret-value"), []);
    });
    it("runs a work copy whose package path is this repository's, absolute", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reuse-yaml-test-"));
        try {
            writeWorkCopy(dir);
            const copy = yaml.load(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as typeof program;
            assert.strictEqual(copy.packages["sample-app"], ROOT);
            assert.deepStrictEqual(copy.resources, program.resources);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reads the planned steps from the engine's events, without the stack", () => {
        const pre = (op: string, type: string, name: string) => ({ resourcePreEvent: { metadata: { op, type, urn: `urn:pulumi:s::p::${type}::${name}` } } }) as unknown as EngineEvent;
        const steps = plannedSteps([pre("create", "pulumi:pulumi:Stack", "p-s"), pre("create", "sample-app:index:Redis", "cache"), pre("create", "sample-app:index:Redis", "cache")]);
        assert.deepStrictEqual(steps, ["create sample-app:index:Redis cache"]);
    });

    it("takes its flags and config, and refuses a flag it does not know", () => {
        assert.deepStrictEqual(parseArgs(["--url=http://x.localhost:1/", "--keep", "namespace=shop"], ["url", "keep"]),
            { flags: { url: "http://x.localhost:1/", keep: "true" }, config: { namespace: "shop" } });
        assert.throws(() => parseArgs(["--kube-contxt=x"], ["kube-context"]), /--kube-contxt=x.*expected --kube-context/);
    });

    it("sends a *.localhost URL to 127.0.0.1 with the name in Host, as the cluster's Gateway expects", async () => {
        let host = "";
        const server = http.createServer((req, res) => { host = req.headers.host ?? ""; res.end("ok"); });
        await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
        try {
            const port = (server.address() as { port: number }).port;
            const r = await request(`http://storefront.localhost:${port}/`);
            assert.deepStrictEqual([r.status, r.body, host], [200, "ok", `storefront.localhost:${port}`]);
        } finally {
            server.close();
        }
    });

    it("finds what destroy left: objects with the stack's labels, its namespace, and volumes claimed from it", function () {
        if (process.platform === "win32") {
            this.skip();
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reuse-yaml-kubectl-"));
        try {
            // A kubectl that answers like a cluster where the namespace and one PVC's volume are left.
            const kubectl = path.join(dir, "kubectl");
            const log = path.join(dir, "calls");
            fs.writeFileSync(kubectl, `#!/usr/bin/env node
const args = process.argv.slice(2);
require("fs").appendFileSync(${JSON.stringify(log)}, JSON.stringify(args) + "\\n");
const has = (a) => args.includes(a);
if (has("api-resources")) console.log("pods\\nevents\\nevents.events.k8s.io\\npods.metrics.k8s.io\\npersistentvolumeclaims\\nnamespaces");
else if (has("persistentvolumes")) console.log(JSON.stringify({ items: [
  { metadata: { name: "pv-1" }, spec: { claimRef: { namespace: "storefront" } } },
  { metadata: { name: "pv-2" }, spec: { claimRef: { namespace: "elsewhere" } } } ] }));
else if (has("namespace")) console.log("namespace/storefront");
else console.log("persistentvolumeclaim/data-storefront-cache-0");
`, { mode: 0o755 });
            const left = leftovers({ kubectl, kubeconfig: "/k", kubeContext: "ctx" }, "reuse-yaml", "storefront");
            assert.deepStrictEqual(left, ["namespace/storefront", "persistentvolume/pv-1 (claimed from storefront)", "persistentvolumeclaim/data-storefront-cache-0"]);
            const calls = fs.readFileSync(log, "utf8").trim().split("\n").map(l => JSON.parse(l) as string[]);
            const get = calls.find(c => c.includes("-l"))!;
            assert.deepStrictEqual(get.slice(0, 4), ["--kubeconfig", "/k", "--context", "ctx"]);
            assert.strictEqual(get[get.indexOf("-l") + 1], "app.kubernetes.io/part-of=sample-app,app.kubernetes.io/instance=reuse-yaml");
            assert.strictEqual(get[5], "pods,persistentvolumeclaims,namespaces", "every listable kind but events and metrics");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
