/**
 * Every config key of the project with its type and default. Pulumi.yaml's
 * `config:` block declares the same (test/config.spec.ts keeps the two equal,
 * and the README's configuration reference shows every key with its default).
 */

/** The project name: the prefix of every key (`sample-app:<key>`). */
export const PROJECT = "sample-app";

type KeyType = "string" | "integer" | "boolean" | "array";
/** A key's type and the value the program uses when the stack does not set it. */
export interface KeySpec { readonly type: KeyType; readonly default: string | number | boolean | readonly string[] }

/**
 * Every project key with its type and default: the same as the `config:`
 * block of Pulumi.yaml (a test keeps the two equal).
 */
export const CONFIG_KEYS: Readonly<Record<string, KeySpec>> = {
    environment: { type: "string", default: "" },
    clusterProfile: { type: "string", default: "minikube" },
    kubeContext: { type: "string", default: "" },
    protect: { type: "boolean", default: false },
    namespace: { type: "string", default: "" },
    host: { type: "string", default: "" },
    tlsSecretName: { type: "string", default: "" },
    ingressClass: { type: "string", default: "" },
    ingressAllowedCidrs: { type: "array", default: [] },
    routing: { type: "string", default: "" },
    gatewayClass: { type: "string", default: "" },
    gatewayName: { type: "string", default: "" },
    gatewayNamespace: { type: "string", default: "" },
    gatewayPodNamespace: { type: "string", default: "" },
    gatewayPodLabels: { type: "array", default: [] },
    gatewayHttpPort: { type: "integer", default: 0 },
    gatewayHttpsPort: { type: "integer", default: 0 },
    grayWeight: { type: "integer", default: 0 },
    imageRegistry: { type: "string", default: "" },
    imageTag: { type: "string", default: "0.1.0" },
    apiImageDigest: { type: "string", default: "" },
    webImageDigest: { type: "string", default: "" },
    redisImage: { type: "string", default: "redis:7.4.2-alpine" },
    kubectlImage: { type: "string", default: "registry.k8s.io/kubectl:v1.33.3" },
    logLevel: { type: "string", default: "info" },
    frontendReplicas: { type: "integer", default: 1 },
    apiReplicas: { type: "integer", default: 1 },
    autoscaling: { type: "boolean", default: false },
    frontendMaxReplicas: { type: "integer", default: 3 },
    apiMaxReplicas: { type: "integer", default: 3 },
    hpaCpuUtilization: { type: "integer", default: 70 },
    hpaMemoryUtilization: { type: "integer", default: 80 },
    podDisruptionBudgets: { type: "boolean", default: false },
    zoneSpread: { type: "boolean", default: false },
    redisStorageClass: { type: "string", default: "" },
    redisStorageSize: { type: "string", default: "" },
    redisReplicas: { type: "integer", default: 0 },
    redisMode: { type: "string", default: "statefulset" },
    redisSentinelQuorum: { type: "integer", default: 0 },
    redisSnapshotClass: { type: "string", default: "" },
    redisSnapshotSchedule: { type: "string", default: "" },
    redisRestoreFromSnapshot: { type: "string", default: "" },
    redisHost: { type: "string", default: "" },
    redisPort: { type: "integer", default: 6379 },
    redisTls: { type: "boolean", default: false },
    redisPassword: { type: "string", default: "" },
    redisPasswordSecret: { type: "string", default: "" },
    redisSentinelPassword: { type: "string", default: "" },
    redisCidrs: { type: "array", default: [] },
    kubeApiServerCidrs: { type: "array", default: [] },
    prodStack: { type: "string", default: "" },
    grayNamespace: { type: "string", default: "" },
    metricsNamespace: { type: "string", default: "" },
    canaryWeight: { type: "integer", default: 10 },
    canaryHeader: { type: "string", default: "X-Canary" },
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
};
