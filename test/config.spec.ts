import * as assert from "assert";
import { CONFIG_KEYS, ConfigError, parseQuantity, parseSettings, PROFILES } from "../settings";
import * as fs from "fs";
import * as path from "path";
import { failStack, projectConfigSchema, ROOT, routingOverrides, stackConfig } from "./harness";
import { manual } from "./manual";

const INGRESS = routingOverrides("ingress");

/** Raw config of a stack as the program sees it, without the project prefix. */
function raw(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(stackConfig(stack, overrides))) {
        out[k.replace(/^sample-app:/, "")] = v;
    }
    return out;
}

function problemsOf(fn: () => unknown): string[] {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems as string[];
    }
    assert.fail("expected the configuration to be rejected");
}

describe("stack configuration", () => {
    it("declares every key in Pulumi.yaml with the type, description and default the program uses", () => {
        const schema = projectConfigSchema();
        assert.deepStrictEqual(Object.keys(schema).sort(), Object.keys(CONFIG_KEYS).sort());
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            assert.strictEqual(schema[key].type, spec.type, key);
            assert.ok((schema[key].description ?? "").length > 10, `${key} has a description`);
            assert.deepStrictEqual(schema[key].default, spec.default, `${key} default`);
            if (spec.type === "array") {
                assert.deepStrictEqual(schema[key].items, { type: "string" }, `${key} items`);
            }
        }
    });

    it("parses every stack file into settings", () => {
        for (const stack of ["dev", "test", "gray", "prod"]) {
            const s = parseSettings(raw(stack), stack);
            assert.strictEqual(s.env, stack);
            assert.strictEqual(s.namespace, `sample-app-${stack}`);
        }
    });

    it("reads Kubernetes quantities", () => {
        assert.strictEqual(parseQuantity("20Gi"), 20 * 2 ** 30);
        assert.strictEqual(parseQuantity("500m"), 0.5);
        assert.strictEqual(parseQuantity("1.5G"), 1.5e9);
        assert.strictEqual(parseQuantity("twenty"), undefined);
        assert.strictEqual(parseQuantity("-1Gi"), undefined);
    });

    const invalid: { what: string; stack: string; overrides: Record<string, unknown>; expect: RegExp[] }[] = [
        { what: "an unknown cluster profile", stack: "dev", overrides: { clusterProfile: "gke" }, expect: [/sample-app:clusterProfile = "gke": must be one of minikube, ack, local/] },
        { what: "replicas below 1", stack: "dev", overrides: { apiReplicas: 0 }, expect: [/sample-app:apiReplicas = "0": must be an integer >= 1/] },
        { what: "a replica count that is not a number", stack: "dev", overrides: { frontendReplicas: "two" }, expect: [/sample-app:frontendReplicas = "two": must be an integer >= 1/] },
        { what: "an HPA minimum above its maximum", stack: "test", overrides: { apiMaxReplicas: 1 }, expect: [/sample-app:apiMaxReplicas = 1: must be >= sample-app:apiReplicas \(2\), the HPA minimum/] },
        { what: "a volume below the profile minimum", stack: "prod", overrides: { redisStorageSize: "10Gi" }, expect: [/sample-app:redisStorageSize = "10Gi": must be at least 20Gi, the smallest volume cluster profile ack provisions/] },
        { what: "a volume size that is not a quantity", stack: "dev", overrides: { redisStorageSize: "lots" }, expect: [/sample-app:redisStorageSize = "lots": must be a Kubernetes quantity/] },
        { what: "a storage class the profile lacks", stack: "dev", overrides: { redisStorageClass: "gp3" }, expect: [/sample-app:redisStorageClass = "gp3": must be one of standard/] },
        { what: "a bad host name", stack: "dev", overrides: { host: "Sample_App!" }, expect: [/sample-app:host = "Sample_App!": must be a lowercase DNS host name/] },
        { what: "a missing host", stack: "dev", overrides: { host: undefined }, expect: [/sample-app:host = "": is required/] },
        { what: "a missing image registry on ACK", stack: "prod", overrides: { imageRegistry: undefined }, expect: [/sample-app:imageRegistry = "": is required for cluster profile ack/] },
        { what: "the latest tag", stack: "dev", overrides: { imageTag: "latest" }, expect: [/sample-app:imageTag = "latest": must pin a version/] },
        { what: "an unpinned Redis image", stack: "dev", overrides: { redisImage: "redis" }, expect: [/sample-app:redisImage = "redis": must be an image pinned by tag or digest/] },
        { what: "a Redis image with a malformed digest", stack: "prod", overrides: { redisImage: "redis:7.4.2-alpine@sha256:abc" }, expect: [/sample-app:redisImage = "redis:7.4.2-alpine@sha256:abc": has a malformed digest/] },
        { what: "an api image digest that is not sha256 of 64 hex digits", stack: "prod", overrides: { apiImageDigest: "sha256:XYZ" }, expect: [/sample-app:apiImageDigest = "sha256:XYZ": must be an image digest sha256:<64 lowercase hex digits>/] },
        { what: "a web image digest without its algorithm", stack: "gray", overrides: { webImageDigest: "a84fa9f6f913885ec2d2f05ca60cea5ab1e7a03faa5781fe45e7a2c085b72201" }, expect: [/sample-app:webImageDigest = "a84f.*": must be an image digest/] },
        { what: "a missing kube context on ACK", stack: "prod", overrides: { kubeContext: undefined }, expect: [/sample-app:kubeContext = "": is required for cluster profile ack/] },
        { what: "an ingress class the profile lacks", stack: "dev", overrides: { ...INGRESS, ingressClass: "alb" }, expect: [/sample-app:ingressClass = "alb": must be one of nginx/] },
        { what: "ALB without the CIDRs it reaches pods from", stack: "prod", overrides: { ...INGRESS, ingressClass: "alb", ingressAllowedCidrs: undefined }, expect: [/sample-app:ingressAllowedCidrs = \[\]: must list the CIDRs the alb load balancer/] },
        { what: "an ALB Gateway without the CIDRs it reaches pods from", stack: "prod", overrides: { ingressAllowedCidrs: undefined }, expect: [/sample-app:ingressAllowedCidrs = \[\]: must list the CIDRs the Gateway's load balancer reaches the pods from/] },
        { what: "a malformed CIDR", stack: "prod", overrides: { ingressAllowedCidrs: ["10.0.0.0/33"] }, expect: [/sample-app:ingressAllowedCidrs = "10.0.0.0\/33": must be IPv4 CIDRs/] },
        { what: "a host of its own in a canary stack", stack: "gray", overrides: { host: "gray.example.com" }, expect: [/sample-app:host = "gray.example.com": does not fit a canary stack \(prodStack set\): a canary serves prod's host/] },
        { what: "an unknown routing mode", stack: "dev", overrides: { routing: "istio" }, expect: [/sample-app:routing = "istio": must be one of gateway, ingress/] },
        { what: "a canary with routing gateway but no Gateway to attach to", stack: "gray", overrides: { gatewayName: undefined, gatewayNamespace: undefined }, expect: [/sample-app:gatewayName = "": is required in a canary stack \(prodStack set\) with routing gateway/] },
        { what: "a Gateway namespace without a Gateway name", stack: "dev", overrides: { gatewayNamespace: "infra" }, expect: [/sample-app:gatewayNamespace = "infra": needs gatewayName/] },
        { what: "both creating and attaching to a Gateway", stack: "dev", overrides: { gatewayClass: "eg", gatewayName: "shared" }, expect: [/sample-app:gatewayClass = "eg": conflicts with gatewayName/] },
        { what: "a TLS Secret in a canary with routing gateway", stack: "gray", overrides: { tlsSecretName: "gray-tls" }, expect: [/sample-app:tlsSecretName = "gray-tls": does not fit a canary stack with routing gateway: prod's Gateway terminates TLS/] },
        { what: "a Gateway key with routing ingress", stack: "dev", overrides: { ...INGRESS, gatewayClass: "traefik" }, expect: [/sample-app:gatewayClass = "traefik": only applies with routing gateway/] },
        { what: "an ingress class with routing gateway", stack: "dev", overrides: { ingressClass: "nginx" }, expect: [/sample-app:ingressClass = "nginx": only applies with routing ingress/] },
        { what: "a gray share without gray's namespace", stack: "prod", overrides: { grayWeight: 10, grayNamespace: undefined }, expect: [/sample-app:grayWeight = 10: needs grayNamespace/] },
        { what: "a gray share set in the canary stack", stack: "gray", overrides: { grayWeight: 5 }, expect: [/sample-app:grayWeight = 5: is prod's key/] },
        { what: "a gray share with routing ingress", stack: "prod", overrides: { ...INGRESS, grayWeight: 5 }, expect: [/sample-app:grayWeight = 5: only applies with routing gateway/] },
        { what: "listener ports for a shared Gateway", stack: "prod", overrides: { gatewayHttpPort: 8080 }, expect: [/sample-app:gatewayHttpPort = 8080: only applies to a Gateway the stack creates/] },
        { what: "a listener port out of range", stack: "dev", overrides: { gatewayHttpsPort: 70000 }, expect: [/sample-app:gatewayHttpsPort = "70000": must be an integer from 0 to 65535/] },
        { what: "data-plane labels that are not key=value", stack: "dev", overrides: { gatewayPodNamespace: "traefik", gatewayPodLabels: ["traefik"] }, expect: [/sample-app:gatewayPodLabels = "traefik": must be labels written key=value/] },
        { what: "a canary weight over 100", stack: "gray", overrides: { canaryWeight: 150 }, expect: [/sample-app:canaryWeight = "150": must be an integer from 0 to 100/] },
        { what: "an unknown environment", stack: "dev", overrides: { environment: "staging" }, expect: [/sample-app:environment = "staging": must be one of dev, test, gray, prod/] },
        { what: "a boolean that is not one", stack: "dev", overrides: { autoscaling: "yes" }, expect: [/sample-app:autoscaling = "yes": must be true or false/] },
        { what: "a misspelt key", stack: "dev", overrides: { apiReplica: 2 }, expect: [/sample-app:apiReplica is not a known key/] },
        { what: "a group list that is not a list", stack: "dev", overrides: { viewerGroups: "ops" }, expect: [/sample-app:viewerGroups = "ops": must be a list of non-empty strings/] },
        { what: "Redis replicas whose volumes overflow the storage quota", stack: "prod", overrides: { redisReplicas: 6 }, expect: [/sample-app:quotaStorage = "100Gi": must admit every workload at its maximum scale plus a rolling-update surge pod: redis 6 x 20Gi/] },
        { what: "an HPA maximum the CPU limit quota cannot hold", stack: "prod", overrides: { apiMaxReplicas: 20 }, expect: [/sample-app:quotaLimitsCpu = "12": must admit every workload at its maximum scale plus a rolling-update surge pod: frontend 11 x 250m, api 21 x 500m, redis 3 x 500m, sentinel 3 x 100m, redis backup 1 x 200m/] },
        { what: "an unpinned kubectl image", stack: "prod", overrides: { kubectlImage: "bitnami/kubectl" }, expect: [/sample-app:kubectlImage = "bitnami\/kubectl": must be an image pinned by tag or digest, e.g. registry.k8s.io\/kubectl:v1.33.3/] },
        { what: "more pods than the pod quota, Sentinels counted as the sidecars they are", stack: "prod", overrides: { quotaPods: 20 }, expect: [/sample-app:quotaPods = "20": must admit every workload .*: frontend 11 x 1 pod, api 11 x 1 pod, redis 3 x 1 pod, redis backup 1 x 1 pod$/] },
        { what: "an unknown Redis mode", stack: "dev", overrides: { redisMode: "cluster" }, expect: [/sample-app:redisMode = "cluster": must be one of statefulset, sentinel, managed/] },
        { what: "Sentinel with fewer than 3 pods", stack: "prod", overrides: { redisReplicas: 2 }, expect: [/sample-app:redisReplicas = 2: must be at least 3 with redisMode sentinel/] },
        { what: "a Sentinel quorum above the pod count", stack: "prod", overrides: { redisSentinelQuorum: 4 }, expect: [/sample-app:redisSentinelQuorum = 4: must be from 1 to redisReplicas \(3\)/] },
        { what: "a Sentinel quorum without Sentinel", stack: "dev", overrides: { redisSentinelQuorum: 2 }, expect: [/sample-app:redisSentinelQuorum = "2": is only for redisMode sentinel \(redisMode is statefulset\)/] },
        { what: "a snapshot schedule that is not cron", stack: "prod", overrides: { redisSnapshotSchedule: "daily" }, expect: [/sample-app:redisSnapshotSchedule = "daily": must be a five-field cron schedule/] },
        { what: "a snapshot schedule on a class that cannot snapshot", stack: "dev", overrides: { redisSnapshotSchedule: "0 3 * * *" }, expect: [/sample-app:redisSnapshotSchedule = "0 3 \* \* \*": needs a VolumeSnapshotClass: set redisSnapshotClass, or a redisStorageClass that can be snapshotted \(csi-hostpath-sc\)/] },
        { what: "a restore from a snapshot name that is not a name", stack: "prod", overrides: { redisRestoreFromSnapshot: "Data_Redis" }, expect: [/sample-app:redisRestoreFromSnapshot = "Data_Redis": must be the name of a VolumeSnapshot/] },
        { what: "managed Redis without a host, password or CIDRs", stack: "prod", overrides: { redisMode: "managed" }, expect: [/sample-app:redisHost = "": is required with redisMode managed/, /sample-app:redisPasswordSecret = "": with redisMode managed, set exactly one of redisPassword/, /sample-app:redisCidrs = \[\]: must list the CIDRs of the managed Redis/] },
        { what: "a managed Redis host in another mode", stack: "dev", overrides: { redisHost: "r-bp1.redis.rds.aliyuncs.com" }, expect: [/sample-app:redisHost = "r-bp1.redis.rds.aliyuncs.com": is only for redisMode managed/] },
        { what: "a local disk limit quota the pods' ephemeral-storage overflows", stack: "prod", overrides: { quotaLimitsEphemeralStorage: "1Gi" }, expect: [/sample-app:quotaLimitsEphemeralStorage = "1Gi": must admit every workload .*: frontend 11 x 192Mi, api 11 x 128Mi, redis 3 x 128Mi/] },
        { what: "a local disk request quota that is not a quantity", stack: "dev", overrides: { quotaRequestsEphemeralStorage: "lots" }, expect: [/sample-app:quotaRequestsEphemeralStorage = "lots": must be a Kubernetes quantity/] },
        { what: "more pods than the pod quota", stack: "test", overrides: { quotaPods: 10 }, expect: [/sample-app:quotaPods = "10": must admit every workload .*: frontend 5 x 1 pod, api 5 x 1 pod, redis 1 x 1 pod/] },
        { what: "a Redis password with a space, which would break redis.conf", stack: "dev", overrides: { redisPassword: "two words and more than sixteen" }, expect: [/sample-app:redisPassword = "\[secret\]": must be 16 to 512 printable ASCII characters without spaces/] },
        { what: "a Redis password too short to be one", stack: "dev", overrides: { redisPassword: "short" }, expect: [/sample-app:redisPassword = "\[secret\]": must be 16 to 512 printable ASCII characters/] },
        { what: "a Sentinel password without Sentinel", stack: "dev", overrides: { redisSentinelPassword: "a-sentinel-password-long-enough" }, expect: [/sample-app:redisSentinelPassword = "\[secret\]": is only for redisMode sentinel \(redisMode is statefulset\)/] },
        { what: "a Redis password in a canary, which uses prod's", stack: "gray", overrides: { redisPassword: "a-redis-password-long-enough" }, expect: [/sample-app:redisPassword = "\[secret\]": does not fit a canary stack/] },
        { what: "a log level the API does not know", stack: "dev", overrides: { logLevel: "verbose" }, expect: [/sample-app:logLevel = "verbose": must be one of debug, info, warn, error/] },
    ];
    for (const c of invalid) {
        it(`rejects ${c.what}, naming the key, the value and what is allowed, before registering any resource`, async () => {
            const problems = problemsOf(() => parseSettings(raw(c.stack, c.overrides), c.stack));
            for (const re of c.expect) {
                assert.ok(problems.some(p => re.test(p)), `no problem matches ${re}: ${problems.join(" | ")}`);
            }
            const { message, registered } = await failStack(c.stack, c.overrides);
            assert.match(message, /^Invalid stack configuration/);
            assert.match(message, c.expect[0]);
            assert.strictEqual(registered, 0, "no resource may be registered before the config is validated");
        });
    }

    it("pins images by digest when the stack sets one, with or without a tag on Redis", () => {
        const d = "sha256:" + "0123456789abcdef".repeat(4);
        const s = parseSettings(raw("dev", { apiImageDigest: d, redisImage: `redis@${d}` }), "dev");
        assert.strictEqual(s.images.api, `sample-app/api:0.1.0@${d}`);
        assert.strictEqual(s.images.web, "sample-app/web:0.1.0", "no digest: by tag");
        assert.strictEqual(s.images.redis, `redis@${d}`);
    });

    it("reads each Redis mode: prod Sentinel with ACK snapshots, dev a single pod without backups, managed by address", () => {
        const prod = parseSettings(raw("prod"), "prod").redis;
        assert.deepStrictEqual(prod, {
            mode: "sentinel", storageClass: "alicloud-disk-topology-alltype", storageSize: "20Gi", replicas: 3, sentinelQuorum: 2,
            snapshotClass: "alicloud-disk-snapshot", snapshotSchedule: "0 3 * * *",
        });
        assert.deepStrictEqual(parseSettings(raw("dev"), "dev").redis, { mode: "statefulset", storageClass: "standard", storageSize: "1Gi", replicas: 1 });
        const csi = parseSettings(raw("dev", { redisStorageClass: "csi-hostpath-sc" }), "dev").redis;
        assert.strictEqual(csi?.mode !== "managed" && csi?.snapshotClass, "csi-hostpath-snapclass", "minikube's CSI hostpath class snapshots");
        const managed = parseSettings(raw("prod", {
            redisMode: "managed", redisHost: "r-bp1xxxx.redis.rds.aliyuncs.com", redisTls: true, redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"],
        }), "prod").redis;
        assert.deepStrictEqual(managed, { mode: "managed", host: "r-bp1xxxx.redis.rds.aliyuncs.com", port: 6379, tls: true, cidrs: ["10.0.8.0/24"], passwordSecret: "tair-auth" });
    });

    it("reports every problem at once", () => {
        const problems = problemsOf(() => parseSettings(raw("dev", { apiReplicas: 0, host: "x", clusterProfile: "eks" }), "dev"));
        assert.strictEqual(problems.length, 3, problems.join(" | "));
    });

    it("knows each profile's storage, ingress and registry rules", () => {
        assert.deepStrictEqual(PROFILES.minikube.storageClasses[0], "standard");
        assert.strictEqual(PROFILES.ack.minStorage, "20Gi");
        const alb = parseSettings(raw("prod", { ...INGRESS, ingressClass: "alb", ingressAllowedCidrs: ["10.0.0.0/16"] }), "prod");
        assert.deepStrictEqual(alb.ingressSource, { cidrs: ["10.0.0.0/16"] });
        const nginx = parseSettings(raw("prod", INGRESS), "prod");
        assert.deepStrictEqual(nginx.ingressSource, { namespace: "kube-system", podSelector: { app: "ingress-nginx" } });
        const albGateway = parseSettings(raw("prod"), "prod");
        assert.deepStrictEqual([albGateway.routing, albGateway.gateway, albGateway.ingressSource], ["gateway", { shared: { name: "public-alb", namespace: "gateway-system" } }, { cidrs: ["10.0.0.0/16"] }]);
        const traefik = parseSettings(raw("dev"), "dev");
        assert.deepStrictEqual([traefik.routing, traefik.gateway, traefik.ingressSource], ["gateway", { className: "traefik", ports: { http: 8000, https: 8443 } }, { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } }]);
    });

    it("routes through the Gateway API by default on both profiles, and through an Ingress when routing says so", () => {
        assert.deepStrictEqual(Object.fromEntries(Object.values(PROFILES).map(p => [p.name, p.routing])), { minikube: "gateway", ack: "gateway", local: "gateway" });
        for (const stack of ["dev", "test", "gray", "prod"]) {
            assert.strictEqual(parseSettings(raw(stack), stack).routing, "gateway", stack);
            const ingress = parseSettings(raw(stack, INGRESS), stack);
            assert.deepStrictEqual([ingress.routing, ingress.ingressClass, ingress.gateway], ["ingress", "nginx", undefined], stack);
        }
    });

    it("attaches a stack on the local cluster to its shared Gateway traefik/sample-app-local, or to an own Gateway on Traefik's entryPoint", () => {
        const local = { clusterProfile: "local", kubeContext: "sample-app-local", host: "sample-app.dev.localhost" };
        const s = parseSettings(raw("dev", local), "dev");
        assert.deepStrictEqual([s.routing, s.gateway, s.ingressSource], ["gateway", { shared: { name: "sample-app-local", namespace: "traefik" } }, { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } }]);
        assert.deepStrictEqual(parseSettings(raw("dev", { ...local, gatewayClass: "traefik" }), "dev").gateway, { className: "traefik", ports: { http: 18080, https: 18443 } });
        assert.deepStrictEqual(parseSettings(raw("dev", { ...local, ...INGRESS }), "dev").ingressClass, "traefik");
    });

    it("puts a stack on any Gateway API implementation through config alone: class, data-plane namespace and labels", () => {
        const s = parseSettings(raw("dev", { routing: "gateway", gatewayClass: "eg", gatewayPodNamespace: "envoy-gateway-system", gatewayPodLabels: ["app.kubernetes.io/name=envoy", "gateway.envoyproxy.io/owning-gateway-name=sample-app"] }), "dev");
        assert.deepStrictEqual(s.gateway, { className: "eg", ports: { http: 8000, https: 8443 } });
        assert.deepStrictEqual(s.ingressSource, {
            namespace: "envoy-gateway-system",
            podSelector: { "app.kubernetes.io/name": "envoy", "gateway.envoyproxy.io/owning-gateway-name": "sample-app" },
        });
        const shared = parseSettings(raw("dev", { gatewayName: "shared" }), "dev");
        assert.deepStrictEqual(shared.gateway, { shared: { name: "shared", namespace: "sample-app-dev" } }, "gatewayNamespace defaults to the stack's namespace");
    });
});

describe("the README", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("documents every config key with its default", () => {
        for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
            const row = readme.split("\n").find(line => line.startsWith(`| \`${key}\` |`));
            assert.ok(row, `README has no row for ${key}`);
            const shown = JSON.stringify(spec.default).replace(/^"(.+)"$/, "$1");
            assert.ok(row.includes(`\`${shown}\``), `README row for ${key} does not show the default ${shown}`);
        }
    });

    it("only names npm scripts that exist (in the root, or the --prefix package), and so does every page of docs/", () => {
        for (const [file, text] of manual()) {
            for (const m of text.matchAll(/npm run ([a-z0-9:]+)(?: --prefix ([\w./-]+))?/g)) {
                const manifest = path.join(ROOT, m[2] ?? ".", "package.json");
                const scripts = Object.keys(JSON.parse(fs.readFileSync(manifest, "utf8")).scripts);
                assert.ok(scripts.includes(m[1]), `${file} runs npm run ${m[1]}, which ${path.relative(ROOT, manifest)} lacks`);
            }
        }
    });
});
