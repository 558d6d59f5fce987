/**
 * reuse-example under Pulumi mocks: what it registers is its own - its own
 * namespace, its own names, its Redis password wired from its own Secret into
 * its API - built from sample-app's components with its own arguments.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are checked structurally. */
type Obj = Record<string, any>;

const MOCK_PASSWORD = "mock-password-of-the-orders-cache";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const plain = (v: any): any => (v && typeof v === "object" && SECRET_SIG in v ? v.value : v);
const isSecret = (v: unknown) => typeof v === "object" && v !== null && SECRET_SIG in v;

interface Registered { type: string; name: string; inputs: Obj }
interface Run { resources: Registered[]; objects: Obj[]; outputs: Obj; secretOutputs: Set<string> }

/** Runs index.ts as stack `stack` with `config` (keys without the project prefix) and records what it registers. */
async function run(stack: string, config: Record<string, string> = {}): Promise<Run> {
    const resources: Registered[] = [];
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [`reuse-example:${k}`, v])), []);
    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            resources.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state = args.type === "random:index/randomPassword:RandomPassword" ? { ...args.inputs, result: MOCK_PASSWORD } : args.inputs;
            return { id: `${args.name}-id`, state };
        },
        call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
    }, "reuse-example", stack, false);

    // A fresh copy of the program for every run, so each sees its own config.
    delete require.cache[require.resolve("../index")];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require("../index") as () => Obj;
    const exported = program();
    const outputs: Obj = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(exported)) {
        const o = value as pulumi.Output<unknown> & { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        outputs[key] = await o.promise();
        if (await o.isSecret) {
            secretOutputs.add(key);
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require("@pulumi/pulumi/runtime/settings").waitForRPCs as () => Promise<void>)();
    const objects = resources
        .filter(r => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes")
        .map(r => ({ kind: r.type.split(":").pop(), ...r.inputs }));
    return { resources, objects, outputs, secretOutputs };
}

function one(r: Run, kind: string, name: string): Obj {
    // ConfigMaps carry their content's hash after the name (sample-app's contentName).
    const named = (n: unknown) => n === name || (kind === "ConfigMap" && typeof n === "string" && new RegExp(`^${name}-[0-9a-f]{10}$`).test(n));
    const found = r.objects.filter(o => o.kind === kind && named(o.metadata?.name));
    assert.strictEqual(found.length, 1, `expected one ${kind} ${name}, found ${found.length}`);
    return found[0];
}

describe("reuse-example", () => {
    let dev: Run;
    before(async () => { dev = await run("dev"); });

    it("runs against the packed sample-app installed in its own node_modules (npm run install:package), not the repository's sources", () => {
        const entry = require.resolve("sample-app");
        const installed = path.resolve(__dirname, "..", "node_modules", "sample-app");
        assert.ok(!fs.lstatSync(installed).isSymbolicLink(), "node_modules/sample-app is a link: install the tarball with npm run install:package");
        assert.strictEqual(entry, path.join(installed, "dist", "index.js"), "sample-app resolves to the compiled package");
        assert.ok(fs.existsSync(path.join(installed, "dist", "index.d.ts")), "the package ships its type declarations");
    });

    it("registers sample-app's components under their own type tokens, with its own names", () => {
        const components = dev.resources.filter(r => r.type.startsWith("sample-app:")).map(r => `${r.type.split(":").pop()} ${r.name}`).sort();
        assert.deepStrictEqual(components, ["AppNamespace orders", "Redis orders-cache", "UserApi orders-api"]);
        // ConfigMaps carry their content's hash after the name.
        const names = new Set(dev.objects.map(o => (o.kind === "ConfigMap" ? String(o.metadata?.name).replace(/-[0-9a-f]{10}$/, "") : o.metadata?.name)));
        for (const name of ["orders-cache", "orders-cache-headless", "orders-cache-auth", "orders-cache-config", "orders-api"]) {
            assert.ok(names.has(name), `no object named ${name}`);
        }
        for (const theirs of ["redis", "redis-auth", "user-api", "frontend", "sample-app"]) {
            assert.ok(!names.has(theirs), `registers sample-app's own name ${theirs}`);
        }
    });

    it("creates its own namespace, restricted, and puts every object in it", () => {
        const ns = one(dev, "Namespace", "reuse-example");
        assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.strictEqual(one(dev, "ResourceQuota", "sample-app-quota").spec.hard["requests.cpu"], "1");
        for (const o of dev.objects.filter(x => x.kind !== "Namespace")) {
            assert.strictEqual(o.metadata.namespace, "reuse-example", `${o.kind} ${o.metadata.name}`);
        }
    });

    it("labels everything with its own stack, not sample-app's environments", () => {
        for (const o of dev.objects) {
            assert.strictEqual(o.metadata.labels["app.kubernetes.io/instance"], "dev", `${o.kind} ${o.metadata.name}`);
            assert.strictEqual(o.metadata.labels.env, "dev", `${o.kind} ${o.metadata.name}`);
        }
    });

    it("uses its own arguments: a 256Mi cache volume, its images, two API replicas and a PDB", () => {
        const sts = one(dev, "StatefulSet", "orders-cache");
        assert.strictEqual(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "256Mi");
        assert.strictEqual(sts.spec.template.spec.containers[0].image, "redis:7.4.2-alpine");
        assert.deepStrictEqual(sts.spec.template.spec.containers[0].resources.limits, { cpu: "250m", memory: "96Mi", "ephemeral-storage": "128Mi" }, "its own CPU and memory, the component's local disk default");
        assert.deepStrictEqual(sts.spec.template.spec.containers[0].resources.requests, { cpu: "100m", memory: "64Mi", "ephemeral-storage": "32Mi" }, "the CPU request it left unset keeps the component's default");
        assert.match(one(dev, "ConfigMap", "orders-cache-config").data["redis.conf"], /^maxmemory 48mb$/m);
        const deploy = one(dev, "Deployment", "orders-api");
        assert.strictEqual(deploy.spec.replicas, 2);
        assert.strictEqual(deploy.spec.template.spec.containers[0].image, "sample-app/api:0.1.0");
        assert.strictEqual(deploy.spec.template.spec.containers[0].env.find((e: Obj) => e.name === "LOG_LEVEL").value, "debug");
        one(dev, "PodDisruptionBudget", "orders-api");
    });

    it("wires the cache's generated password from its own Secret into the API, never in plain text", () => {
        const secret = one(dev, "Secret", "orders-cache-auth");
        assert.ok(isSecret(secret.stringData), "the Secret's data is a Pulumi secret");
        assert.strictEqual(plain(secret.stringData).password, MOCK_PASSWORD);

        const pod = one(dev, "Deployment", "orders-api").spec.template.spec;
        const env: Obj[] = pod.containers[0].env;
        const byName = Object.fromEntries(env.map(e => [e.name, e]));
        assert.ok(!env.some(e => e.valueFrom?.secretKeyRef), "no Secret in the environment");
        assert.strictEqual(byName.REDIS_PASSWORD_FILE.value, "/etc/sample-app/redis/password");
        assert.deepStrictEqual(pod.volumes.find((v: Obj) => v.secret).secret.secretName, "orders-cache-auth");
        assert.strictEqual(byName.REDIS_ADDR.value, "orders-cache.reuse-example.svc.cluster.local:6379");

        assert.ok(!JSON.stringify(one(dev, "ConfigMap", "orders-cache-config")).includes(MOCK_PASSWORD));
        assert.ok(!JSON.stringify(one(dev, "Deployment", "orders-api")).includes(MOCK_PASSWORD));
        assert.ok(dev.secretOutputs.has("redisPassword"));
        assert.deepStrictEqual(dev.outputs, {
            namespace: "reuse-example",
            apiUrl: "http://orders-api.reuse-example.svc.cluster.local:8080",
            redisHost: "orders-cache.reuse-example.svc.cluster.local",
            redisPassword: MOCK_PASSWORD,
        });
    });

    it("pins every Kubernetes object to its own provider and kube context", async () => {
        const staging = await run("staging", { kubeContext: "staging-cluster", namespace: "orders-staging" });
        const provider = staging.resources.find(r => r.type === "pulumi:providers:kubernetes");
        assert.strictEqual(provider?.inputs.context, "staging-cluster");
        one(staging, "Namespace", "orders-staging");
        assert.strictEqual(one(staging, "Deployment", "orders-api").metadata.labels["app.kubernetes.io/instance"], "staging");
    });
});
