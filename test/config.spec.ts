import * as assert from "assert";
import { applies, CONFIG_KEYS, ConfigError, ConfigKey, describeMode, GatewaySettings, parseQuantity, parseSettings, PROFILES, Settings } from "../settings";
import * as fs from "fs";
import * as path from "path";
import { failStack, programConfig, projectConfigSchema, redisModeOverrides, ROOT, routingOverrides } from "./harness";
import { manual } from "./manual";

const INGRESS = routingOverrides("ingress");

/** Raw config of a stack as the program sees it, without the project prefix. */
function raw(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    return programConfig(stack, overrides);
}

function gatewayOf(s: Settings): GatewaySettings | undefined {
    return s.routing === "gateway" ? s.gateway : undefined;
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
        { what: "a host of its own in a canary stack", stack: "gray", overrides: { host: "gray.example.com" }, expect: [/sample-app:host = "gray.example.com": does nothing in this stack \(a canary stack.*\): it applies only outside a canary stack \(prodStack unset\) \(a canary serves prod's host\)/] },
        { what: "an unknown routing mode", stack: "dev", overrides: { routing: "istio" }, expect: [/sample-app:routing = "istio": must be one of gateway, ingress/] },
        { what: "a canary with routing gateway but no Gateway to attach to", stack: "gray", overrides: { gatewayName: undefined, gatewayNamespace: undefined }, expect: [/sample-app:gatewayName = "": is required in a canary stack \(prodStack set\) with routing gateway/] },
        { what: "a Gateway namespace without a Gateway name", stack: "dev", overrides: { gatewayNamespace: "infra" }, expect: [/sample-app:gatewayNamespace = "infra": needs gatewayName/] },
        { what: "both creating and attaching to a Gateway", stack: "dev", overrides: { gatewayClass: "eg", gatewayName: "shared" }, expect: [/sample-app:gatewayClass = "eg": conflicts with gatewayName/] },
        { what: "a TLS Secret in a canary with routing gateway", stack: "gray", overrides: { tlsSecretName: "gray-tls" }, expect: [/sample-app:tlsSecretName = "gray-tls": does nothing in this stack .*: it applies only outside a canary stack \(prodStack unset\); or with routing ingress \(.*prod's Gateway, which terminates TLS/] },
        { what: "a Gateway key with routing ingress", stack: "dev", overrides: { ...INGRESS, gatewayClass: "traefik" }, expect: [/sample-app:gatewayClass = "traefik": does nothing in this stack \(redisMode statefulset, routing ingress, .*\): it applies only with routing gateway\. Remove it/] },
        { what: "an ingress class with routing gateway", stack: "dev", overrides: { ingressClass: "nginx" }, expect: [/sample-app:ingressClass = "nginx": does nothing in this stack \(.*routing gateway.*\): it applies only with routing ingress\. Remove it/] },
        { what: "a gray share without gray's namespace", stack: "prod", overrides: { grayWeight: 10, grayNamespace: undefined }, expect: [/sample-app:grayWeight = 10: needs grayNamespace/] },
        { what: "a gray share set in the canary stack", stack: "gray", overrides: { grayWeight: 5 }, expect: [/sample-app:grayWeight = "5": does nothing in this stack \(a canary stack.*it is prod's key/] },
        { what: "a gray share with routing ingress", stack: "prod", overrides: { ...INGRESS, grayWeight: 5 }, expect: [/sample-app:grayWeight = "5": does nothing in this stack \(.*routing ingress.*\): it applies only outside a canary stack \(prodStack unset\), with routing gateway/] },
        { what: "listener ports for a shared Gateway", stack: "prod", overrides: { gatewayHttpPort: 8080 }, expect: [/sample-app:gatewayHttpPort = "8080": does nothing in this stack \(.*shared Gateway.*\): it applies only with routing gateway, to a Gateway the stack creates/] },
        { what: "a listener port out of range", stack: "dev", overrides: { gatewayHttpsPort: 70000 }, expect: [/sample-app:gatewayHttpsPort = "70000": must be an integer from 0 to 65535/] },
        { what: "data-plane labels that are not key=value", stack: "dev", overrides: { gatewayPodNamespace: "traefik", gatewayPodLabels: ["traefik"] }, expect: [/sample-app:gatewayPodLabels = "traefik": must be labels written key=value/] },
        { what: "a canary weight over 100", stack: "gray", overrides: { ...INGRESS, canaryWeight: 150 }, expect: [/sample-app:canaryWeight = "150": must be an integer from 0 to 100/] },
        { what: "an unknown environment", stack: "dev", overrides: { environment: "staging" }, expect: [/sample-app:environment = "staging": must be one of dev, test, gray, prod/] },
        { what: "a boolean that is not one", stack: "dev", overrides: { autoscaling: "yes" }, expect: [/sample-app:autoscaling = "yes": must be true or false/] },
        { what: "a misspelt key", stack: "dev", overrides: { apiReplica: 2 }, expect: [/sample-app:apiReplica is not a known key/] },
        { what: "a group list that is not a list", stack: "dev", overrides: { viewerGroups: "ops" }, expect: [/sample-app:viewerGroups = "ops": must be a list of non-empty strings/] },
        { what: "Redis replicas whose volumes overflow the storage quota", stack: "prod", overrides: { redisReplicas: 6 }, expect: [/sample-app:quotaStorage = "100Gi": must admit every workload at its maximum scale plus a rolling-update surge pod: redis 6 x 20Gi/] },
        { what: "an HPA maximum the CPU limit quota cannot hold", stack: "prod", overrides: { apiMaxReplicas: 20 }, expect: [/sample-app:quotaLimitsCpu = "12": must admit every workload at its maximum scale plus a rolling-update surge pod: frontend 11 x 250m, api 21 x 500m, redis 3 x 500m, sentinel 3 x 100m, redis backup 2 x 200m/] },
        { what: "an unpinned kubectl image", stack: "prod", overrides: { kubectlImage: "bitnami/kubectl" }, expect: [/sample-app:kubectlImage = "bitnami\/kubectl": must be an image pinned by tag or digest, e.g. registry.k8s.io\/kubectl:v1.33.3/] },
        { what: "more pods than the pod quota, Sentinels counted as the sidecars they are, and a backup run on demand beside the scheduled one", stack: "prod", overrides: { quotaPods: 20 }, expect: [/sample-app:quotaPods = "20": must admit every workload .*: frontend 11 x 1 pod, api 11 x 1 pod, redis 3 x 1 pod, redis backup 2 x 1 pod$/] },
        { what: "an unknown way to find the pods to scrape", stack: "dev", overrides: { metricsNamespace: "monitoring", metricsDiscovery: "serviceMonitor" }, expect: [/sample-app:metricsDiscovery = "serviceMonitor": must be one of annotations, podMonitor/] },
        { what: "a metrics namespace that is not a namespace name", stack: "dev", overrides: { metricsNamespace: "Monitoring" }, expect: [/sample-app:metricsNamespace = "Monitoring": must be a namespace name/] },
        { what: "a way to find the pods with no Prometheus to scrape them", stack: "dev", overrides: { metricsDiscovery: "podMonitor" }, expect: [/sample-app:metricsDiscovery = "podMonitor": does nothing in this stack \(.*no metrics scraping\): it applies only where a Prometheus scrapes the API \(metricsNamespace set\)/] },
        { what: "PodMonitor labels where the pods are found by annotation", stack: "prod", overrides: { metricsDiscovery: "annotations", metricsPodMonitorLabels: ["release=prom"] }, expect: [/sample-app:metricsPodMonitorLabels = \["release=prom"\]: does nothing in this stack \(.*metrics found by annotations\): it applies only where a Prometheus finds the API by PodMonitor/] },
        { what: "a PodMonitor label that is not key=value", stack: "prod", overrides: { metricsNamespace: "arms-prom", metricsDiscovery: "podMonitor", metricsPodMonitorLabels: ["release prom"] }, expect: [/sample-app:metricsPodMonitorLabels = "release prom": must be labels written key=value/] },
        { what: "a PodMonitor label the program sets on every object", stack: "prod", overrides: { metricsNamespace: "arms-prom", metricsDiscovery: "podMonitor", metricsPodMonitorLabels: ["env=staging"] }, expect: [/sample-app:metricsPodMonitorLabels = "env=staging": sets env, a label the program gives every object/] },
        { what: "a scrape interval that is not a Prometheus duration", stack: "prod", overrides: { metricsNamespace: "arms-prom", metricsDiscovery: "podMonitor", metricsScrapeInterval: "15" }, expect: [/sample-app:metricsScrapeInterval = "15": must be a Prometheus duration longer than zero/] },
        { what: "an unknown Redis mode", stack: "dev", overrides: { redisMode: "cluster" }, expect: [/sample-app:redisMode = "cluster": must be one of statefulset, sentinel, managed/] },
        { what: "Sentinel with fewer than 3 pods", stack: "prod", overrides: { redisReplicas: 2 }, expect: [/sample-app:redisReplicas = 2: must be at least 3 with redisMode sentinel/] },
        { what: "a Sentinel quorum above the pod count", stack: "prod", overrides: { redisSentinelQuorum: 4 }, expect: [/sample-app:redisSentinelQuorum = 4: must be from 1 to redisReplicas \(3\)/] },
        { what: "a Sentinel quorum without Sentinel", stack: "dev", overrides: { redisSentinelQuorum: 2 }, expect: [/sample-app:redisSentinelQuorum = "2": does nothing in this stack \(redisMode statefulset.*\): it applies only with redisMode sentinel\. Remove it/] },
        { what: "a snapshot schedule that is not cron", stack: "prod", overrides: { redisSnapshotSchedule: "daily" }, expect: [/sample-app:redisSnapshotSchedule = "daily": must be a five-field cron schedule/] },
        { what: "a snapshot schedule on a class that cannot snapshot", stack: "dev", overrides: { redisSnapshotSchedule: "0 3 * * *" }, expect: [/sample-app:redisSnapshotSchedule = "0 3 \* \* \*": needs a VolumeSnapshotClass: set redisSnapshotClass, or a redisStorageClass that can be snapshotted \(csi-hostpath-sc\)/] },
        { what: "a restore from a snapshot name that is not a name", stack: "prod", overrides: { redisRestoreFromSnapshot: "Data_Redis" }, expect: [/sample-app:redisRestoreFromSnapshot = "Data_Redis": must be the name of a VolumeSnapshot/] },
        { what: "managed Redis without a host, password or CIDRs", stack: "prod", overrides: redisModeOverrides("prod", "managed"), expect: [/sample-app:redisHost = "": is required with redisMode managed/, /sample-app:redisPasswordSecret = "": with redisMode managed, set exactly one of redisPassword/, /sample-app:redisCidrs = \[\]: must list the CIDRs of the managed Redis/] },
        { what: "a managed Redis host in another mode", stack: "dev", overrides: { redisHost: "r-bp1.redis.rds.aliyuncs.com" }, expect: [/sample-app:redisHost = "r-bp1.redis.rds.aliyuncs.com": does nothing in this stack \(redisMode statefulset.*\): it applies only with redisMode managed\. Remove it/] },
        { what: "a local disk limit quota the pods' ephemeral-storage overflows", stack: "prod", overrides: { quotaLimitsEphemeralStorage: "1Gi" }, expect: [/sample-app:quotaLimitsEphemeralStorage = "1Gi": must admit every workload .*: frontend 11 x 192Mi, api 11 x 128Mi, redis 3 x 128Mi/] },
        { what: "a local disk request quota that is not a quantity", stack: "dev", overrides: { quotaRequestsEphemeralStorage: "lots" }, expect: [/sample-app:quotaRequestsEphemeralStorage = "lots": must be a Kubernetes quantity/] },
        { what: "more pods than the pod quota", stack: "test", overrides: { quotaPods: 10 }, expect: [/sample-app:quotaPods = "10": must admit every workload .*: frontend 5 x 1 pod, api 5 x 1 pod, redis 1 x 1 pod/] },
        { what: "a Redis password with a tab, which no config line keeps", stack: "dev", overrides: { redisPassword: "tab\there and more than sixteen" }, expect: [/sample-app:redisPassword = "\[secret\]": must be 16 to 512 printable ASCII characters/] },
        { what: "a Redis password too short to be one", stack: "dev", overrides: { redisPassword: "short" }, expect: [/sample-app:redisPassword = "\[secret\]": must be 16 to 512 printable ASCII characters/] },
        { what: "a Sentinel password without Sentinel", stack: "dev", overrides: { redisSentinelPassword: "a-sentinel-password-long-enough" }, expect: [/sample-app:redisSentinelPassword = "\[secret\]": does nothing in this stack \(redisMode statefulset.*\): it applies only with redisMode sentinel/] },
        { what: "a Redis password in a canary, which uses prod's", stack: "gray", overrides: { redisPassword: "a-redis-password-long-enough" }, expect: [/sample-app:redisPassword = "\[secret\]": does nothing in this stack \(a canary stack.*\): it applies only outside a canary stack/] },
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

    /** The Redis of a stack that has its own. */
    const redisOf = (stack: string, overrides: Record<string, unknown> = {}) => {
        const s = parseSettings(raw(stack, overrides), stack);
        assert.strictEqual(s.kind, "own");
        return s.kind === "own" ? s.redis : undefined;
    };

    it("reads each Redis mode: prod Sentinel with ACK snapshots, dev a single pod without backups, managed by address", () => {
        assert.deepStrictEqual(redisOf("prod"), {
            mode: "sentinel", storageClass: "alicloud-disk-topology-alltype", storageSize: "20Gi", replicas: 3, port: 6379, sentinelQuorum: 2,
            backup: { snapshotClass: "alicloud-disk-snapshot", createClassForDriver: "diskplugin.csi.alibabacloud.com", schedule: "0 3 * * *", apiServer: { port: 6443 } },
        });
        assert.deepStrictEqual(redisOf("dev"), { mode: "statefulset", storageClass: "standard", storageSize: "1Gi", replicas: 1, port: 6379 });
        const csi = redisOf("dev", { redisStorageClass: "csi-hostpath-sc" });
        assert.deepStrictEqual(csi?.mode !== "managed" && csi?.backup, { snapshotClass: "csi-hostpath-snapclass", apiServer: { port: 8443 } }, "minikube's CSI hostpath class snapshots; its API server listens on 8443");
        const managed = redisOf("prod", {
            ...redisModeOverrides("prod", "managed"), redisHost: "r-bp1xxxx.redis.rds.aliyuncs.com", redisTls: true, redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"],
        });
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
        assert.deepStrictEqual([albGateway.routing, gatewayOf(albGateway), albGateway.ingressSource], ["gateway", { shared: { name: "public-alb", namespace: "gateway-system" } }, { cidrs: ["10.0.0.0/16"] }]);
        const traefik = parseSettings(raw("dev"), "dev");
        assert.deepStrictEqual([traefik.routing, gatewayOf(traefik), traefik.ingressSource], ["gateway", { className: "traefik", ports: { http: 8000, https: 8443 } }, { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } }]);
    });

    it("routes through the Gateway API by default on both profiles, and through an Ingress when routing says so", () => {
        assert.deepStrictEqual(Object.fromEntries(Object.values(PROFILES).map(p => [p.name, p.routing])), { minikube: "gateway", ack: "gateway", local: "gateway" });
        for (const stack of ["dev", "test", "gray", "prod"]) {
            assert.strictEqual(parseSettings(raw(stack), stack).routing, "gateway", stack);
            const ingress = parseSettings(raw(stack, INGRESS), stack);
            assert.deepStrictEqual([ingress.routing, ingress.routing === "ingress" && ingress.ingressClass, "gateway" in ingress], ["ingress", "nginx", false], stack);
        }
    });

    it("attaches a stack on the local cluster to its shared Gateway traefik/sample-app-local, or to an own Gateway on Traefik's entryPoint", () => {
        const local = { clusterProfile: "local", kubeContext: "sample-app-local", host: "sample-app.dev.localhost" };
        const s = parseSettings(raw("dev", local), "dev");
        assert.deepStrictEqual([s.routing, gatewayOf(s), s.ingressSource], ["gateway", { shared: { name: "sample-app-local", namespace: "traefik" } }, { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } }]);
        assert.deepStrictEqual(gatewayOf(parseSettings(raw("dev", { ...local, gatewayClass: "traefik" }), "dev")), { className: "traefik", ports: { http: 8000, https: 8443 } });
        const ingress = parseSettings(raw("dev", { ...local, ...INGRESS }), "dev");
        assert.strictEqual(ingress.routing === "ingress" && ingress.ingressClass, "traefik");
    });

    it("puts a stack on any Gateway API implementation through config alone: class, data-plane namespace and labels", () => {
        const s = parseSettings(raw("dev", { routing: "gateway", gatewayClass: "eg", gatewayPodNamespace: "envoy-gateway-system", gatewayPodLabels: ["app.kubernetes.io/name=envoy", "gateway.envoyproxy.io/owning-gateway-name=sample-app"] }), "dev");
        assert.deepStrictEqual(gatewayOf(s), { className: "eg", ports: { http: 8000, https: 8443 } });
        assert.deepStrictEqual(s.ingressSource, {
            namespace: "envoy-gateway-system",
            podSelector: { "app.kubernetes.io/name": "envoy", "gateway.envoyproxy.io/owning-gateway-name": "sample-app" },
        });
        const shared = parseSettings(raw("dev", { gatewayName: "shared" }), "dev");
        assert.deepStrictEqual(gatewayOf(shared), { shared: { name: "shared", namespace: "sample-app-dev" } }, "gatewayNamespace defaults to the stack's namespace");
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

    it("lists every storage class, snapshot class and API server port of each cluster profile in its profile table", () => {
        for (const profile of Object.values(PROFILES)) {
            const row = readme.split("\n").find(line => line.startsWith(`| \`${profile.name}\` |`));
            assert.ok(row, `README has no profile row for ${profile.name}`);
            for (const name of [...profile.storageClasses, ...Object.values(profile.snapshotClasses), ...Object.values(profile.csiDrivers)]) {
                assert.ok(row.includes(`\`${name}\``), `the ${profile.name} row does not name ${name}`);
            }
            assert.ok(row.includes(`; ${profile.apiServerPort} |`), `the ${profile.name} row does not give its API server port ${profile.apiServerPort}`);
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

describe("keys that do nothing in a stack's mode", () => {
    /** Stacks in every mode there is: the four files, routing ingress, each Redis mode, autoscaling off. */
    const candidates: [string, Record<string, unknown>][] = [
        ["dev", {}], ["test", {}], ["gray", {}], ["prod", {}],
        ["dev", INGRESS], ["gray", INGRESS], ["prod", INGRESS], ["prod", { autoscaling: false, frontendMaxReplicas: undefined, apiMaxReplicas: undefined }],
        ["prod", { ...redisModeOverrides("prod", "managed"), redisHost: "r-bp1.redis.rds.aliyuncs.com", redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"] }],
        ["dev", { gatewayName: "shared" }],
    ];
    /** A value other than the key's default, of its type. */
    const otherValue = (key: ConfigKey): unknown => {
        const d = CONFIG_KEYS[key].default;
        return typeof d === "boolean" ? !d : typeof d === "number" ? d + 1 : Array.isArray(d) ? ["10.9.0.0/16"] : `${d}x`;
    };

    it("declares where each key applies, and refuses every key set where it does nothing, naming it and this stack's mode", () => {
        const scoped = (Object.keys(CONFIG_KEYS) as ConfigKey[]).filter(k => "appliesTo" in CONFIG_KEYS[k]);
        assert.ok(scoped.length >= 30, `${scoped.length} keys declare a scope`);
        for (const key of scoped) {
            const where = candidates.map(([stack, o]) => ({ stack, o, s: parseSettings(raw(stack, o), stack) })).find(c => !applies(key, c.s.mode));
            assert.ok(where, `no candidate stack where ${key} does nothing`);
            const problems = problemsOf(() => parseSettings(raw(where.stack, { ...where.o, [key]: otherValue(key) }), where.stack));
            assert.ok(problems.some(p => p.startsWith(`sample-app:${key} = `) && p.includes(`does nothing in this stack (${describeMode(where.s.mode)})`)), `${key} in ${where.stack}: ${problems.join(" | ")}`);
        }
    });

    const refused: { what: string; stack: string; overrides: Record<string, unknown>; key: string }[] = [
        { what: "a Redis mode in a canary", stack: "gray", overrides: { redisMode: "sentinel" }, key: "redisMode" },
        { what: "Redis replicas in a canary", stack: "gray", overrides: { redisReplicas: 3 }, key: "redisReplicas" },
        { what: "a Redis volume in a canary", stack: "gray", overrides: { redisStorageSize: "20Gi", redisStorageClass: "alicloud-disk-essd" }, key: "redisStorageSize" },
        { what: "a snapshot class and schedule in a canary", stack: "gray", overrides: { redisSnapshotClass: "alicloud-disk-snapshot", redisSnapshotSchedule: "0 3 * * *" }, key: "redisSnapshotSchedule" },
        { what: "a Redis volume with a managed Redis", stack: "prod", overrides: { redisMode: "managed", redisHost: "r.example.com", redisPasswordSecret: "s", redisCidrs: ["10.0.8.0/24"] }, key: "redisStorageSize" },
        { what: "TLS to the Redis the stack runs itself", stack: "dev", overrides: { redisTls: true }, key: "redisTls" },
        { what: "a canary weight outside a canary", stack: "dev", overrides: { canaryWeight: 20 }, key: "canaryWeight" },
        { what: "a canary header outside a canary", stack: "prod", overrides: { canaryHeader: "X-Gray" }, key: "canaryHeader" },
        { what: "a canary weight in a canary routed through a Gateway, where prod's grayWeight decides", stack: "gray", overrides: { canaryWeight: 10 }, key: "canaryWeight" },
        { what: "CIDRs where in-cluster proxy pods reach the frontend", stack: "dev", overrides: { ingressAllowedCidrs: ["10.0.0.0/16"] }, key: "ingressAllowedCidrs" },
        { what: "HPA bounds without autoscaling", stack: "dev", overrides: { apiMaxReplicas: 5 }, key: "apiMaxReplicas" },
        { what: "the API server's port where no backup runs", stack: "dev", overrides: { kubeApiServerPort: 6443 }, key: "kubeApiServerPort" },
        { what: "a NodePort frontend behind in-cluster proxies", stack: "dev", overrides: { frontendServiceType: "NodePort" }, key: "frontendServiceType" },
    ];
    for (const c of refused) {
        it(`refuses ${c.what}`, async () => {
            const problems = problemsOf(() => parseSettings(raw(c.stack, c.overrides), c.stack));
            assert.ok(problems.some(p => p.startsWith(`sample-app:${c.key} = `) && /does nothing in this stack .*: it applies only .*\. Remove it$/.test(p)), problems.join(" | "));
            const { registered } = await failStack(c.stack, c.overrides);
            assert.strictEqual(registered, 0);
        });
    }

    it("keeps its key names a type: a misspelt key in the program fails tsc", () => {
        // @ts-expect-error "redisPasword" is not a ConfigKey: npm run typecheck fails if this line compiles.
        const misspelt: ConfigKey = "redisPasword";
        assert.ok(!(misspelt in CONFIG_KEYS));
    });

    it("has stack files that set only keys that do something in them (gray no longer sets canaryWeight)", () => {
        for (const stack of ["dev", "test", "gray", "prod"]) {
            parseSettings(raw(stack), stack);
        }
        assert.ok(!/^\s*sample-app:canaryWeight:/m.test(fs.readFileSync(path.join(ROOT, "Pulumi.gray.yaml"), "utf8")));
    });
});

describe("rules for values that pass their own check but cannot work together", () => {
    it("refuses a PodDisruptionBudget over a workload that can have a single pod, for either workload, saying why", () => {
        const problems = problemsOf(() => parseSettings(raw("dev", { podDisruptionBudgets: true }), "dev"));
        for (const w of ["frontend", "api"]) {
            assert.ok(problems.some(p => p.startsWith("sample-app:podDisruptionBudgets = true: with sample-app:" + w + "Replicas = 1 (the replica count)") && p.includes("blocks every drain") && p.includes("protects nothing")), problems.join(" | "));
        }
        const gray = problemsOf(() => parseSettings(raw("gray", { frontendReplicas: 1 }), "gray"));
        assert.match(gray.join("\n"), /sample-app:podDisruptionBudgets = true: with sample-app:frontendReplicas = 1 \(the HPA minimum\)/);
        assert.strictEqual(parseSettings(raw("gray"), "gray").frontend.autoscaling?.minReplicas, 2, "gray's stack file keeps two pods each");
    });

    it("counts a backup run on demand in the quota wherever the backup CronJob exists, even without a schedule", () => {
        const problems = problemsOf(() => parseSettings(raw("dev", { redisStorageClass: "csi-hostpath-sc", quotaPods: 4 }), "dev"));
        assert.match(problems.join("\n"), /sample-app:quotaPods = "4": .*redis backup 1 x 1 pod$/m);
    });

    it("refuses a stack name that cannot be the instance label of its objects", () => {
        const problems = problemsOf(() => parseSettings(raw("dev"), "dev."));
        assert.match(problems.join("\n"), /the stack name "dev\." is every object's app\.kubernetes\.io\/instance label: it must be a label value/);
        assert.ok(problemsOf(() => parseSettings(raw("dev"), "a".repeat(64))).some(p => p.startsWith("the stack name")));
        assert.strictEqual(parseSettings(raw("dev", { environment: "dev" }), "my_stack.v2").stack, "my_stack.v2");
    });

    it("warns, without refusing, that a Redis spread strictly over zones waits on nodes without zone labels, outside ACK", () => {
        assert.match(parseSettings(raw("dev", { zoneSpread: true }), "dev").warnings.join(""), /stay Pending on a cluster whose nodes have no zone label/);
        assert.deepStrictEqual(parseSettings(raw("prod"), "prod").warnings, [], "ACK's nodes carry topology.kubernetes.io/zone");
        assert.deepStrictEqual(parseSettings(raw("gray", { zoneSpread: true }), "gray").warnings, [], "no Redis of its own");
    });

    it("refuses to create a VolumeSnapshotClass for a storage class without a known CSI driver", () => {
        const problems = problemsOf(() => parseSettings(raw("dev", { redisSnapshotClass: "my-snapclass", redisCreateSnapshotClass: true }), "dev"));
        assert.match(problems.join("\n"), /sample-app:redisCreateSnapshotClass = true: needs a CSI storage class whose driver takes snapshots: standard on cluster profile minikube has none known/);
    });
});
