/**
 * Every config key of the project: its type, its default and the stacks it
 * does something in. Pulumi.yaml's `config:` block declares the same types
 * and defaults (test/config.spec.ts keeps the two equal, and the README's
 * configuration reference shows every key with its default).
 *
 * `appliesTo` is the one place that says where a key means something: a key
 * set to anything but its default in a stack it does nothing in is refused
 * (settings/modes.ts), never ignored. The key names are a type (`ConfigKey`):
 * a misspelt key in the program fails `tsc`.
 */

/** The project name: the prefix of every key (`sample-app:<key>`). */
export const PROJECT = "sample-app";

type KeyType = "string" | "integer" | "boolean" | "array";

/** The Redis a stack uses: its own (statefulset, sentinel), a managed one, or, in a canary, prod's. */
export type RedisKind = "statefulset" | "sentinel" | "managed" | "prod";

/**
 * Stacks a key does something in. Every condition given must hold; a key
 * without one applies everywhere. A list of scopes: any of them.
 */
export interface Scope {
    /** A canary of another stack (`prodStack` set), or not. */
    readonly canary?: boolean;
    /** The stack's Redis is one of these. */
    readonly redis?: readonly RedisKind[];
    /** Public traffic comes through a Gateway (HTTPRoute) or an Ingress. */
    readonly routing?: "gateway" | "ingress";
    /** With routing gateway: the stack creates its Gateway (not a shared one). */
    readonly gateway?: "created";
    /** The stack runs the Redis backup (a VolumeSnapshotClass for its volumes). */
    readonly backup?: true;
    /** Public traffic reaches the pods from outside the cluster (ALB), not from in-cluster proxy pods. */
    readonly proxy?: "outside";
    /** The stateless workloads scale with an HPA (`autoscaling: true`). */
    readonly autoscaling?: true;
    /** A Prometheus scrapes the API (`metricsNamespace` set); `podMonitor`: and finds it by PodMonitor. */
    readonly metrics?: "scraped" | "podMonitor";
}

/** A key's type, the value the program uses when the stack does not set it, and where it does something. */
export interface KeySpec {
    readonly type: KeyType;
    readonly default: string | number | boolean | readonly string[];
    /** Where the key does something; unset: every stack. */
    readonly appliesTo?: Scope | readonly Scope[];
    /** Its value never shows in a message. */
    readonly secret?: boolean;
    /** Why it does nothing outside its scope, when the scope alone does not say (added to the problem). */
    readonly why?: string;
}

const OWN_REDIS: readonly RedisKind[] = ["statefulset", "sentinel"];

/**
 * Every project key with its type, default and scope: the same types and
 * defaults as the `config:` block of Pulumi.yaml (a test keeps the two equal).
 */
export const CONFIG_KEYS = {
    environment: { type: "string", default: "" },
    clusterProfile: { type: "string", default: "minikube" },
    kubeContext: { type: "string", default: "" },
    protect: { type: "boolean", default: false },
    namespace: { type: "string", default: "" },
    host: { type: "string", default: "", appliesTo: { canary: false }, why: "a canary serves prod's host" },
    tlsSecretName: { type: "string", default: "", appliesTo: [{ canary: false }, { routing: "ingress" }], why: "with routing gateway a canary's header route rides on prod's Gateway, which terminates TLS for prod's host" },
    ingressClass: { type: "string", default: "", appliesTo: { routing: "ingress" } },
    ingressAllowedCidrs: { type: "array", default: [], appliesTo: { proxy: "outside" }, why: "in-cluster proxy pods reach the frontend, and the NetworkPolicy admits exactly those" },
    routing: { type: "string", default: "" },
    gatewayClass: { type: "string", default: "", appliesTo: { routing: "gateway" } },
    gatewayName: { type: "string", default: "", appliesTo: { routing: "gateway" } },
    gatewayNamespace: { type: "string", default: "", appliesTo: { routing: "gateway" } },
    gatewayPodNamespace: { type: "string", default: "", appliesTo: { routing: "gateway" } },
    gatewayPodLabels: { type: "array", default: [], appliesTo: { routing: "gateway" } },
    gatewayHttpPort: { type: "integer", default: 0, appliesTo: { routing: "gateway", gateway: "created" } },
    gatewayHttpsPort: { type: "integer", default: 0, appliesTo: { routing: "gateway", gateway: "created" } },
    grayWeight: { type: "integer", default: 0, appliesTo: { canary: false, routing: "gateway" }, why: "it is prod's key: prod's HTTPRoute splits the plain requests (with routing ingress the canary's canaryWeight does)" },
    frontendServiceType: { type: "string", default: "ClusterIP", appliesTo: { proxy: "outside" } },
    imageRegistry: { type: "string", default: "" },
    imageTag: { type: "string", default: "0.1.0" },
    apiImageDigest: { type: "string", default: "" },
    webImageDigest: { type: "string", default: "" },
    redisImage: { type: "string", default: "redis:7.4.2-alpine", appliesTo: { redis: OWN_REDIS } },
    kubectlImage: { type: "string", default: "registry.k8s.io/kubectl:v1.33.3", appliesTo: { backup: true } },
    logLevel: { type: "string", default: "info" },
    frontendReplicas: { type: "integer", default: 1 },
    apiReplicas: { type: "integer", default: 1 },
    autoscaling: { type: "boolean", default: false },
    frontendMaxReplicas: { type: "integer", default: 3, appliesTo: { autoscaling: true } },
    apiMaxReplicas: { type: "integer", default: 3, appliesTo: { autoscaling: true } },
    hpaCpuUtilization: { type: "integer", default: 70, appliesTo: { autoscaling: true } },
    hpaMemoryUtilization: { type: "integer", default: 80, appliesTo: { autoscaling: true } },
    podDisruptionBudgets: { type: "boolean", default: false },
    zoneSpread: { type: "boolean", default: false },
    redisStorageClass: { type: "string", default: "", appliesTo: { redis: OWN_REDIS } },
    redisStorageSize: { type: "string", default: "", appliesTo: { redis: OWN_REDIS } },
    redisReplicas: { type: "integer", default: 0, appliesTo: { redis: OWN_REDIS } },
    redisMode: { type: "string", default: "statefulset", appliesTo: { canary: false } },
    redisSentinelQuorum: { type: "integer", default: 0, appliesTo: { redis: ["sentinel"] } },
    redisSnapshotClass: { type: "string", default: "", appliesTo: { redis: OWN_REDIS } },
    redisCreateSnapshotClass: { type: "boolean", default: false, appliesTo: { backup: true } },
    redisSnapshotSchedule: { type: "string", default: "", appliesTo: { backup: true } },
    redisRestoreFromSnapshot: { type: "string", default: "", appliesTo: { redis: OWN_REDIS } },
    redisHost: { type: "string", default: "", appliesTo: { redis: ["managed"] } },
    redisPort: { type: "integer", default: 6379, appliesTo: { canary: false } },
    redisTls: { type: "boolean", default: false, appliesTo: { redis: ["managed"] }, why: "a Redis the stack runs speaks plain TCP inside the cluster; a canary follows prod's setting" },
    redisTlsCa: { type: "string", default: "", appliesTo: { redis: ["managed"] }, why: "a Redis the stack runs speaks plain TCP inside the cluster; a canary takes prod's CAs" },
    redisPassword: { type: "string", default: "", appliesTo: { canary: false }, secret: true },
    redisPasswordSecret: { type: "string", default: "", appliesTo: { redis: ["managed", "prod"] } },
    redisSentinelPassword: { type: "string", default: "", appliesTo: { redis: ["sentinel"] }, secret: true },
    redisCidrs: { type: "array", default: [], appliesTo: { redis: ["managed"] } },
    kubeApiServerCidrs: { type: "array", default: [], appliesTo: { backup: true } },
    kubeApiServerPort: { type: "integer", default: 0, appliesTo: { backup: true } },
    prodStack: { type: "string", default: "" },
    grayNamespace: { type: "string", default: "", appliesTo: { canary: false } },
    metricsNamespace: { type: "string", default: "" },
    metricsDiscovery: { type: "string", default: "annotations", appliesTo: { metrics: "scraped" }, why: "without a Prometheus let through the NetworkPolicies nothing scrapes the API" },
    metricsPodMonitorLabels: { type: "array", default: [], appliesTo: { metrics: "podMonitor" } },
    metricsScrapeInterval: { type: "string", default: "", appliesTo: { metrics: "podMonitor" }, why: "a Prometheus that finds pods by annotation scrapes them at its own interval" },
    canaryWeight: { type: "integer", default: 0, appliesTo: { canary: true, routing: "ingress" }, why: "with routing gateway prod's grayWeight sets gray's share" },
    canaryHeader: { type: "string", default: "X-Canary", appliesTo: { canary: true } },
    viewerGroups: { type: "array", default: [] },
    deployerGroups: { type: "array", default: [] },
    networkAdminGroups: { type: "array", default: [] },
    quotaRequestsCpu: { type: "string", default: "2" },
    quotaRequestsMemory: { type: "string", default: "4Gi" },
    quotaLimitsCpu: { type: "string", default: "4" },
    quotaLimitsMemory: { type: "string", default: "8Gi" },
    quotaPods: { type: "integer", default: 20 },
    quotaPvcs: { type: "integer", default: 4 },
    quotaStorage: { type: "string", default: "50Gi" },
    quotaRequestsEphemeralStorage: { type: "string", default: "4Gi" },
    quotaLimitsEphemeralStorage: { type: "string", default: "8Gi" },
} as const satisfies Readonly<Record<string, KeySpec>>;

/** The name of a project key, without the `sample-app:` prefix. */
export type ConfigKey = keyof typeof CONFIG_KEYS;

/** The spec of a key. */
export function keySpec(key: ConfigKey): KeySpec {
    return CONFIG_KEYS[key];
}

/** Whether `name` is a project key. */
export function isConfigKey(name: string): name is ConfigKey {
    return Object.prototype.hasOwnProperty.call(CONFIG_KEYS, name);
}
