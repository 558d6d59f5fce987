/**
 * Stack configuration → a typed, validated Settings object.
 *
 * `parseSettings` is pure (raw strings in, Settings out) so every rule is unit
 * tested; `loadSettings` feeds it the stack's config. All problems are
 * reported together, before the program registers a single resource, each
 * naming the key, the value and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { FRONTEND_DEFAULTS } from "./components/frontend";
import type { IngressSource } from "./components/networkPolicies";
import { REDIS_DEFAULTS } from "./components/redis";
import { BACKUP_DEFAULTS } from "./components/redisBackup";
import type { ContainerResources } from "./components/security";
import { LogLevel, USER_API_DEFAULTS } from "./components/userApi";

export const PROJECT = "sample-app";
export const ENVIRONMENTS = ["dev", "test", "gray", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Pods in a namespace, selected by labels: an in-cluster proxy that forwards public traffic to the frontend. */
export interface PodSource {
    readonly namespace: string;
    readonly podSelector: Readonly<Record<string, string>>;
}

export const ROUTINGS = ["gateway", "ingress"] as const;
/** `gateway`: HTTPRoute on a Gateway (Gateway API); `ingress`: a networking.k8s.io/v1 Ingress. */
export type Routing = (typeof ROUTINGS)[number];

/** What differs between the clusters the app runs on. */
export interface ClusterProfile {
    readonly name: "minikube" | "ack" | "local";
    /** StorageClasses a PVC may use; the first is the default. */
    readonly storageClasses: readonly string[];
    /** Smallest volume the class provisions (ACK cloud disks: 20Gi). */
    readonly minStorage: string;
    /** Default Redis volume size. */
    readonly defaultStorage: string;
    /** Ingress classes the cluster has; the first is the default. */
    readonly ingressClasses: readonly string[];
    /** Where each in-cluster ingress controller runs (absent: traffic comes from outside the cluster, e.g. ALB). */
    readonly ingressControllers: Readonly<Record<string, PodSource>>;
    /** Routing when `routing` is not set: through the Gateway API or an Ingress. */
    readonly routing: Routing;
    /** GatewayClasses the cluster has; the first is the class of a Gateway the stack creates by default. */
    readonly gatewayClasses: readonly string[];
    /** Where each class's in-cluster data plane (the proxies) runs (absent: outside the cluster, e.g. ALB). */
    readonly gatewayDataPlanes: Readonly<Record<string, PodSource>>;
    /** Listener ports of a Gateway the stack creates (Traefik: they must equal its entryPoints' ports). */
    readonly gatewayPorts: { readonly http: number; readonly https: number };
    /** A Gateway the cluster provides for every app: stacks attach to it unless gatewayName or gatewayClass say otherwise. */
    readonly sharedGateway?: { readonly name: string; readonly namespace: string };
    /** Whether images need a registry prefix (no local image store to load into). */
    readonly registryRequired: boolean;
    readonly imagePullPolicy: "IfNotPresent" | "Always";
    /** Kube context used when `kubeContext` is not set; undefined: the key is required. */
    readonly defaultKubeContext?: string;
    /** VolumeSnapshotClass of the CSI driver behind each storage class that can be snapshotted. */
    readonly snapshotClasses: Readonly<Record<string, string>>;
}

export const PROFILES: Readonly<Record<string, ClusterProfile>> = {
    minikube: {
        name: "minikube",
        storageClasses: ["standard", "csi-hostpath-sc"],
        minStorage: "100Mi",
        defaultStorage: "1Gi",
        ingressClasses: ["nginx"],
        // The minikube `ingress` addon.
        ingressControllers: { nginx: { namespace: "ingress-nginx", podSelector: { "app.kubernetes.io/name": "ingress-nginx" } } },
        // Traefik v3 (Helm chart, installed into namespace traefik with its Gateway provider on) implements Gateway API v1.4.
        routing: "gateway",
        gatewayClasses: ["traefik"],
        gatewayDataPlanes: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // The Traefik Helm chart's entryPoints web and websecure (its Service maps 80 and 443 to them).
        gatewayPorts: { http: 8000, https: 8443 },
        registryRequired: false,
        imagePullPolicy: "IfNotPresent",
        defaultKubeContext: "minikube",
        // The `volumesnapshots` and `csi-hostpath-driver` addons; `standard` (minikube's hostpath provisioner) cannot snapshot.
        snapshotClasses: { "csi-hostpath-sc": "csi-hostpath-snapclass" },
    },
    ack: {
        name: "ack",
        // topology-alltype binds WaitForFirstConsumer: the disk is made in the zone the pod is scheduled to.
        storageClasses: ["alicloud-disk-topology-alltype", "alicloud-disk-essd", "alicloud-disk-ssd", "alicloud-disk-efficiency"],
        minStorage: "20Gi",
        defaultStorage: "20Gi",
        ingressClasses: ["nginx", "alb"],
        // ACK's managed nginx-ingress-controller component runs in kube-system beside DNS, so match its pods too.
        ingressControllers: { nginx: { namespace: "kube-system", podSelector: { app: "ingress-nginx" } } },
        // The ALB Ingress Controller (2.17 and later) serves GatewayClass alb; ALB reaches the pods from outside the cluster.
        routing: "gateway",
        gatewayClasses: ["alb"],
        gatewayDataPlanes: {},
        gatewayPorts: { http: 80, https: 443 },
        registryRequired: true,
        imagePullPolicy: "IfNotPresent",
        // ACK's csi-plugin snapshots every cloud-disk class.
        snapshotClasses: {
            "alicloud-disk-topology-alltype": "alicloud-disk-snapshot",
            "alicloud-disk-essd": "alicloud-disk-snapshot",
            "alicloud-disk-ssd": "alicloud-disk-snapshot",
            "alicloud-disk-efficiency": "alicloud-disk-snapshot",
        },
    },
    /** The single-node cluster this repository builds and runs itself (`npm run cluster -- up`). */
    local: {
        name: "local",
        // Served by rancher's local-path-provisioner under the name minikube uses.
        storageClasses: ["standard"],
        minStorage: "100Mi",
        defaultStorage: "1Gi",
        ingressClasses: ["traefik"],
        // Traefik v3 runs in namespace traefik (host network, a loopback port) and serves Ingress and the Gateway API.
        ingressControllers: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // Gateway API through the same Traefik: stacks attach to the cluster's shared Gateway traefik/sample-app-local.
        routing: "gateway",
        gatewayClasses: ["traefik"],
        gatewayDataPlanes: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // A Gateway a stack creates must listen on Traefik's web entryPoint (scripts/cluster/lib.sh HTTP_PORT); there is no HTTPS entryPoint.
        gatewayPorts: { http: 18080, https: 18443 },
        sharedGateway: { name: "sample-app-local", namespace: "traefik" },
        registryRequired: false,
        // Images are imported into the node's containerd by scripts/cluster/images.sh; there is no registry to pull from.
        imagePullPolicy: "IfNotPresent",
        defaultKubeContext: "sample-app-local",
        // local-path-provisioner cannot snapshot.
        snapshotClasses: {},
    },
};

/** Routing gateway: create a Gateway of a class, or attach to a shared one. Exactly one is set. */
export interface GatewaySettings {
    /** Create a Gateway of this GatewayClass in the stack's namespace. */
    readonly className?: string;
    /** Listener ports of the created Gateway. */
    readonly ports?: { readonly http: number; readonly https: number };
    /** Attach to this existing Gateway. */
    readonly shared?: { readonly name: string; readonly namespace: string };
}

/** Replicas and autoscaling of one stateless workload. */
export interface ScalingSettings {
    readonly replicas: number;
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuUtilization: number; readonly memoryUtilization: number };
    readonly podDisruptionBudget: boolean;
    readonly zoneSpread: boolean;
}

export interface Settings {
    readonly project: string;
    readonly stack: string;
    readonly env: Environment;
    readonly profile: ClusterProfile;
    readonly kubeContext: string;
    /** Protect the namespace and Redis from deletion (`pulumi destroy`, a replacement). */
    readonly protect: boolean;
    readonly namespace: string;
    /** Public host; undefined in gray, which takes prod's. */
    readonly host?: string;
    readonly tlsSecretName?: string;
    /** How public traffic reaches the frontend: an HTTPRoute on a Gateway, or an Ingress. */
    readonly routing: Routing;
    /** Ingress class (routing ingress; with routing gateway the profile's default, unused). */
    readonly ingressClass: string;
    /** Routing gateway: the Gateway the HTTPRoute attaches to. */
    readonly gateway?: GatewaySettings;
    /** Where public traffic to the frontend comes from: the ingress controller's or the gateway data plane's pods, or CIDRs. */
    readonly ingressSource: IngressSource;
    /** Prod, routing gateway: percent of plain requests its HTTPRoute sends to gray's frontend (in grayNamespace); 0: none. */
    readonly grayWeight: number;
    readonly images: { readonly api: string; readonly web: string; readonly redis: string; readonly kubectl: string };
    readonly logLevel: LogLevel;
    readonly frontend: ScalingSettings;
    readonly api: ScalingSettings;
    /** The stack's Redis: its own (statefulset or sentinel) or a managed one; undefined in gray, which uses prod's. */
    readonly redis?: OwnRedisSettings | ManagedRedisSettings;
    /** Gray: a canary of the stack named here. */
    readonly canary?: { readonly prodStack: string; readonly weight: number; readonly header: string };
    /** Prod: the gray namespace whose API pods may reach this Redis. */
    readonly grayNamespace?: string;
    /** Namespace whose pods (Prometheus) may scrape the API's /metrics. */
    readonly metricsNamespace?: string;
    readonly viewerGroups: readonly string[];
    readonly deployerGroups: readonly string[];
    readonly networkAdminGroups: readonly string[];
    readonly quota: {
        readonly requestsCpu: string; readonly requestsMemory: string; readonly limitsCpu: string; readonly limitsMemory: string;
        readonly pods: number; readonly persistentVolumeClaims: number; readonly requestsStorage: string;
        readonly requestsEphemeralStorage: string; readonly limitsEphemeralStorage: string;
    };
}

/** How a stack gets its Redis (`redisMode`). */
export const REDIS_MODES = ["statefulset", "sentinel", "managed"] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

/** A Redis the stack runs: a StatefulSet (pod 0 primary) or Sentinel mode (automatic failover). */
export interface OwnRedisSettings {
    readonly mode: "statefulset" | "sentinel";
    readonly storageClass: string;
    readonly storageSize: string;
    readonly replicas: number;
    /** Sentinel mode: Sentinels that must agree the primary is down. */
    readonly sentinelQuorum?: number;
    /** VolumeSnapshotClass for backups; undefined: no backups (the cluster takes no snapshots). */
    readonly snapshotClass?: string;
    /** Cron schedule of the backup CronJob; undefined: no CronJob (snapshots on demand only). */
    readonly snapshotSchedule?: string;
    /** VolumeSnapshot new data volumes start from. */
    readonly restoreFromSnapshot?: string;
    /** Where the Kubernetes API server is, for the backup Job's egress; undefined: anywhere. */
    readonly apiServerCidrs?: readonly string[];
    /** The Redis password from secret config; undefined: generated (random provider). */
    readonly password?: string;
    /** Sentinel mode: the Sentinel password from secret config; undefined: generated. */
    readonly sentinelPassword?: string;
}

/** A Redis someone else runs (ApsaraDB for Redis / Tair): address, TLS and where its password is. */
export interface ManagedRedisSettings {
    readonly mode: "managed";
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** The password from config (a Pulumi secret); or */
    readonly password?: string;
    /** the name of an existing Secret with key `password`. */
    readonly passwordSecret?: string;
    /** Where the managed Redis is, for the API's NetworkPolicy egress. */
    readonly cidrs: readonly string[];
}

type KeyType = "string" | "integer" | "boolean" | "array";
interface KeySpec { readonly type: KeyType; readonly default: string | number | boolean | readonly string[] }

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

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOST = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** `name:tag`, `name:tag@sha256:…` or `name@sha256:…` (name: path segments, an optional registry host:port). */
const IMAGE_REF = /^([a-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const REGISTRY = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$/;
const QUANTITY = /^([0-9]+(\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const STACK_REF = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^((?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** Five cron fields of numbers, `*`, ranges, lists and steps (what a CronJob accepts, without names or macros). */
const CRON = /^([0-9*,/-]+\s+){4}[0-9*,/-]+$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

const SUFFIX: Readonly<Record<string, number>> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`20Gi`, `500m`) as a number, or undefined when it is not one. */
export function parseQuantity(q: string): number | undefined {
    const m = QUANTITY.exec(q);
    return m ? Number(m[1]) * SUFFIX[m[3] ?? ""] : undefined;
}

/** Thrown with every configuration problem, one per line. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: readonly string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** Reads raw config strings by key, recording a problem for each bad value. */
class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: Readonly<Record<string, string>>) {
        for (const key of Object.keys(raw)) {
            if (!(key in CONFIG_KEYS)) {
                this.problems.push(`${PROJECT}:${key} is not a known key; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
            }
        }
    }

    problem(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${PROJECT}:${key} = ${JSON.stringify(value)}: ${allowed}`);
    }

    string(key: string): string {
        const v = this.raw[key];
        return v === undefined ? String(CONFIG_KEYS[key].default) : v.trim();
    }

    integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const v = this.raw[key];
        const fallback = CONFIG_KEYS[key].default as number;
        if (v === undefined) {
            return fallback;
        }
        const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
            this.problem(key, v, max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`);
            return fallback;
        }
        return n;
    }

    boolean(key: string): boolean {
        const v = this.raw[key];
        if (v === undefined) {
            return CONFIG_KEYS[key].default as boolean;
        }
        if (v !== "true" && v !== "false") {
            this.problem(key, v, "must be true or false");
            return CONFIG_KEYS[key].default as boolean;
        }
        return v === "true";
    }

    stringArray(key: string): string[] {
        const v = this.raw[key];
        if (v === undefined) {
            return [...(CONFIG_KEYS[key].default as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every(x => typeof x === "string" && x.trim() !== "")) {
            this.problem(key, v, "must be a list of non-empty strings");
            return [];
        }
        return parsed.map(x => x.trim());
    }

    oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
        if (!(allowed as readonly string[]).includes(value)) {
            this.problem(key, value, `must be one of ${allowed.join(", ")}`);
            return allowed[0];
        }
        return value as T;
    }

    matching(key: string, value: string, pattern: RegExp, allowed: string): string {
        if (!pattern.test(value)) {
            this.problem(key, value, allowed);
        }
        return value;
    }
}

function scaling(r: Reader, prefix: "frontend" | "api", common: { autoscaling: boolean; pdb: boolean; zoneSpread: boolean; cpu: number; memory: number }): ScalingSettings {
    const replicas = r.integer(`${prefix}Replicas`, 1);
    if (!common.autoscaling) {
        return { replicas, podDisruptionBudget: common.pdb, zoneSpread: common.zoneSpread };
    }
    const maxReplicas = r.integer(`${prefix}MaxReplicas`, 1);
    if (maxReplicas < replicas) {
        r.problem(`${prefix}MaxReplicas`, maxReplicas, `must be >= ${PROJECT}:${prefix}Replicas (${replicas}), the HPA minimum`);
    }
    return {
        replicas,
        autoscaling: { minReplicas: replicas, maxReplicas, cpuUtilization: common.cpu, memoryUtilization: common.memory },
        podDisruptionBudget: common.pdb,
        zoneSpread: common.zoneSpread,
    };
}

/** How many pods of one container shape a stack can run at its peak. */
interface PeakPods {
    readonly what: string;
    readonly pods: number;
    readonly resources: ContainerResources;
    /** Size of each pod's volume, if it has one. */
    readonly storage?: string;
    /** A sidecar container in pods counted elsewhere: its resources count, not its pods. */
    readonly sidecar?: boolean;
}

/**
 * Checks that the namespace quota admits every workload at its maximum scale
 * plus one rolling-update surge pod per Deployment; returns the problems.
 */
export function quotaProblems(quota: Settings["quota"], peaks: readonly PeakPods[]): string[] {
    const sum = (f: (p: PeakPods) => number) => peaks.reduce((acc, p) => acc + p.pods * f(p), 0);
    const q = (v: string) => parseQuantity(v) ?? 0;
    const checks: [string, string, number, (p: PeakPods) => string | undefined][] = [
        ["quotaPods", String(quota.pods), sum(p => (p.sidecar ? 0 : 1)), p => (p.sidecar ? undefined : "1 pod")],
        ["quotaRequestsCpu", quota.requestsCpu, sum(p => q(p.resources.cpuRequest)), p => p.resources.cpuRequest],
        ["quotaRequestsMemory", quota.requestsMemory, sum(p => q(p.resources.memoryRequest)), p => p.resources.memoryRequest],
        ["quotaLimitsCpu", quota.limitsCpu, sum(p => q(p.resources.cpuLimit)), p => p.resources.cpuLimit],
        ["quotaLimitsMemory", quota.limitsMemory, sum(p => q(p.resources.memoryLimit)), p => p.resources.memoryLimit],
        ["quotaPvcs", String(quota.persistentVolumeClaims), sum(p => (p.storage ? 1 : 0)), p => p.storage && "1 PVC"],
        ["quotaStorage", quota.requestsStorage, sum(p => (p.storage ? q(p.storage) : 0)), p => p.storage],
        ["quotaRequestsEphemeralStorage", quota.requestsEphemeralStorage, sum(p => q(p.resources.ephemeralStorageRequest ?? "0")), p => p.resources.ephemeralStorageRequest],
        ["quotaLimitsEphemeralStorage", quota.limitsEphemeralStorage, sum(p => q(p.resources.ephemeralStorageLimit ?? "0")), p => p.resources.ephemeralStorageLimit],
    ];
    const problems: string[] = [];
    for (const [key, allowed, needed, each] of checks) {
        if (needed > q(allowed) * (1 + 1e-9)) {
            const parts = peaks.filter(p => each(p) !== undefined).map(p => `${p.what} ${p.pods} x ${each(p)}`).join(", ");
            problems.push(`${PROJECT}:${key} = ${JSON.stringify(allowed)}: must admit every workload at its maximum scale plus a rolling-update surge pod: ${parts}`);
        }
    }
    return problems;
}

/** The peak pod counts of a stack: HPA maximum (or replicas) + 1 surge per Deployment, Redis replicas (and Sentinels), a backup Job. */
function peaks(frontend: ScalingSettings, api: ScalingSettings, redis: Settings["redis"]): PeakPods[] {
    const top = (s: ScalingSettings) => (s.autoscaling?.maxReplicas ?? s.replicas) + 1;
    return [
        { what: "frontend", pods: top(frontend), resources: FRONTEND_DEFAULTS.resources },
        { what: "api", pods: top(api), resources: USER_API_DEFAULTS.resources },
        ...(redis && redis.mode !== "managed" ? [{ what: "redis", pods: redis.replicas, resources: REDIS_DEFAULTS.resources, storage: redis.storageSize }] : []),
        ...(redis?.mode === "sentinel" ? [{ what: "sentinel", pods: redis.replicas, resources: REDIS_DEFAULTS.sentinel.resources, sidecar: true }] : []),
        ...(redis && redis.mode !== "managed" && redis.snapshotSchedule ? [{ what: "redis backup", pods: 1, resources: BACKUP_DEFAULTS.resources }] : []),
    ];
}

/** The stack's Redis from the `redis*` keys. */
function redisSettings(r: Reader, profile: ClusterProfile): OwnRedisSettings | ManagedRedisSettings {
    const mode = r.oneOf<RedisMode>("redisMode", r.string("redisMode"), REDIS_MODES);
    if (mode === "managed") {
        const host = r.string("redisHost");
        if (host === "") {
            r.problem("redisHost", host, "is required with redisMode managed: the endpoint of the managed Redis, e.g. r-bp1xxxx.redis.rds.aliyuncs.com");
        } else {
            r.matching("redisHost", host, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i, "must be a DNS name or an IPv4 address");
        }
        const password = r.string("redisPassword");
        const passwordSecret = r.string("redisPasswordSecret");
        if ((password === "") === (passwordSecret === "")) {
            r.problem("redisPasswordSecret", passwordSecret, "with redisMode managed, set exactly one of redisPassword (pulumi config set --secret) and redisPasswordSecret (an existing Secret with key password)");
        } else if (passwordSecret !== "") {
            r.matching("redisPasswordSecret", passwordSecret, DNS_SUBDOMAIN, "must be the name of a Secret in the namespace");
        }
        const cidrs = r.stringArray("redisCidrs");
        cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("redisCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
        if (cidrs.length === 0) {
            r.problem("redisCidrs", [], "must list the CIDRs of the managed Redis (e.g. its VPC vSwitch range, or its private IP/32): the API's NetworkPolicy lets it reach only those");
        }
        return {
            mode, host, port: r.integer("redisPort", 1, 65535), tls: r.boolean("redisTls"), cidrs,
            ...(password ? { password } : {}), ...(passwordSecret ? { passwordSecret } : {}),
        };
    }
    for (const key of ["redisHost", "redisPasswordSecret", "redisCidrs"]) {
        if (r.string(key) !== "" && r.string(key) !== "[]") {
            r.problem(key, r.string(key), `is only for redisMode managed (redisMode is ${mode})`);
        }
    }
    // A password the stack supplies as secret config instead of one the random provider generates.
    const password = suppliedPassword(r, "redisPassword");
    const sentinelPassword = suppliedPassword(r, "redisSentinelPassword");
    if (sentinelPassword !== undefined && mode !== "sentinel") {
        r.problem("redisSentinelPassword", "[secret]", `is only for redisMode sentinel (redisMode is ${mode})`);
    }
    const storageClass = r.oneOf("redisStorageClass", r.string("redisStorageClass") || profile.storageClasses[0], profile.storageClasses);
    const storageSize = r.string("redisStorageSize") || profile.defaultStorage;
    const size = parseQuantity(storageSize);
    if (size === undefined) {
        r.problem("redisStorageSize", storageSize, "must be a Kubernetes quantity such as 20Gi");
    } else if (size < parseQuantity(profile.minStorage)!) {
        r.problem("redisStorageSize", storageSize, `must be at least ${profile.minStorage}, the smallest volume cluster profile ${profile.name} provisions`);
    }
    const replicas = r.integer("redisReplicas", 0) || (mode === "sentinel" ? REDIS_DEFAULTS.sentinelReplicas : REDIS_DEFAULTS.replicas);
    let sentinelQuorum: number | undefined;
    if (mode === "sentinel") {
        if (replicas < 3) {
            r.problem("redisReplicas", replicas, "must be at least 3 with redisMode sentinel: a primary, a replica to promote, and a Sentinel majority that survives losing one pod");
        }
        sentinelQuorum = r.integer("redisSentinelQuorum", 0) || Math.floor(replicas / 2) + 1;
        if (sentinelQuorum > replicas) {
            r.problem("redisSentinelQuorum", sentinelQuorum, `must be from 1 to redisReplicas (${replicas}): there is one Sentinel per Redis pod`);
        }
    } else if (r.string("redisSentinelQuorum") !== String(CONFIG_KEYS.redisSentinelQuorum.default)) {
        r.problem("redisSentinelQuorum", r.string("redisSentinelQuorum"), `is only for redisMode sentinel (redisMode is ${mode})`);
    }
    const snapshotClass = r.string("redisSnapshotClass") || profile.snapshotClasses[storageClass];
    if (snapshotClass !== undefined) {
        r.matching("redisSnapshotClass", snapshotClass, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshotClass");
    }
    const schedule = r.string("redisSnapshotSchedule");
    if (schedule !== "") {
        r.matching("redisSnapshotSchedule", schedule, CRON, "must be a five-field cron schedule such as \"0 3 * * *\" (03:00 every day)");
        if (snapshotClass === undefined) {
            r.problem("redisSnapshotSchedule", schedule, `needs a VolumeSnapshotClass: set redisSnapshotClass, or a redisStorageClass that can be snapshotted (${Object.keys(profile.snapshotClasses).join(", ") || `none in cluster profile ${profile.name}`})`);
        }
    }
    const restore = r.string("redisRestoreFromSnapshot");
    if (restore !== "") {
        r.matching("redisRestoreFromSnapshot", restore, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshot in the namespace");
    }
    const apiServerCidrs = r.stringArray("kubeApiServerCidrs");
    apiServerCidrs.filter(c => !validCidr(c)).forEach(c => r.problem("kubeApiServerCidrs", c, "must be IPv4 CIDRs such as 192.168.0.10/32"));
    return {
        mode, storageClass, storageSize, replicas,
        ...(apiServerCidrs.length > 0 ? { apiServerCidrs } : {}),
        ...(sentinelQuorum !== undefined ? { sentinelQuorum } : {}),
        ...(snapshotClass !== undefined ? { snapshotClass } : {}),
        ...(schedule ? { snapshotSchedule: schedule } : {}),
        ...(restore ? { restoreFromSnapshot: restore } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(sentinelPassword !== undefined && mode === "sentinel" ? { sentinelPassword } : {}),
    };
}

/** Characters a supplied Redis password may use: it is written into redis.conf lines (`requirepass <password>`). */
const PASSWORD = /^[\x21-\x7e]{16,512}$/;

/** A password from secret config (undefined when unset); its value never shows in a message. */
function suppliedPassword(r: Reader, key: string): string | undefined {
    const value = r.string(key);
    if (value === "") {
        return undefined;
    }
    if (!PASSWORD.test(value)) {
        r.problem(key, "[secret]", "must be 16 to 512 printable ASCII characters without spaces (it is written into redis.conf); set it with pulumi config set --secret");
    }
    return value;
}

function validCidr(c: string): boolean {
    const m = CIDR.exec(c);
    return m !== null && m.slice(1, 5).every(o => Number(o) <= 255) && Number(m[5]) <= 32;
}

/** What routingSettings needs from the rest of the settings. */
interface RoutingContext {
    readonly namespace: string;
    /** The stack is a canary (prodStack set). */
    readonly canary: boolean;
    readonly tlsSecretName: string;
    readonly grayNamespace: string;
}

type RoutingPart = Pick<Settings, "routing" | "ingressClass" | "gateway" | "ingressSource" | "grayWeight">;

/** Keys that only mean something with routing gateway (grayWeight, an integer, is checked apart). */
const GATEWAY_ONLY_KEYS = ["gatewayClass", "gatewayName", "gatewayNamespace", "gatewayPodNamespace"] as const;

/** `key=value` label strings as a map; a problem for each malformed one. */
function labelMap(r: Reader, key: string, items: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of items) {
        const m = LABEL.exec(item);
        if (!m) {
            r.problem(key, item, "must be labels written key=value, e.g. app.kubernetes.io/name=traefik");
        } else {
            out[m[1]] = m[4] ?? "";
        }
    }
    return out;
}

/**
 * The routing mode and everything that depends on it: the Gateway (created or
 * shared) or the ingress class, and where the frontend's public traffic comes
 * from (for the NetworkPolicies). Rejects keys that do not fit the mode.
 */
function routingSettings(r: Reader, profile: ClusterProfile, ctx: RoutingContext): RoutingPart {
    const routing = r.oneOf("routing", r.string("routing") || profile.routing, ROUTINGS);
    const cidrs = r.stringArray("ingressAllowedCidrs");
    cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("ingressAllowedCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
    const grayWeight = r.integer("grayWeight", 0, 100);
    const httpPort = r.integer("gatewayHttpPort", 0, 65535);
    const httpsPort = r.integer("gatewayHttpsPort", 0, 65535);
    const podLabels = r.stringArray("gatewayPodLabels");
    const ingressClassRaw = r.string("ingressClass");
    let ingressClass = ingressClassRaw || profile.ingressClasses[0];
    let source: PodSource | undefined;
    let proxy: string;
    let gateway: GatewaySettings | undefined;

    if (routing === "ingress") {
        for (const key of GATEWAY_ONLY_KEYS) {
            if (r.string(key) !== "") {
                r.problem(key, r.string(key), "only applies with routing gateway (this stack routes through an Ingress)");
            }
        }
        if (podLabels.length > 0) {
            r.problem("gatewayPodLabels", podLabels, "only applies with routing gateway (this stack routes through an Ingress)");
        }
        if (grayWeight > 0) {
            r.problem("grayWeight", grayWeight, "only applies with routing gateway; with routing ingress the canary stack's canaryWeight sets gray's share");
        }
        for (const [key, value] of [["gatewayHttpPort", httpPort], ["gatewayHttpsPort", httpsPort]] as const) {
            if (value > 0) {
                r.problem(key, value, "only applies with routing gateway (this stack routes through an Ingress)");
            }
        }
        ingressClass = r.oneOf("ingressClass", ingressClass, profile.ingressClasses);
        source = profile.ingressControllers[ingressClass];
        proxy = `the ${ingressClass} load balancer`;
    } else {
        if (ingressClassRaw !== "") {
            r.problem("ingressClass", ingressClassRaw, "only applies with routing ingress (this stack routes through a Gateway: see gatewayClass, gatewayName)");
        }
        const name = r.string("gatewayName");
        const namespace = r.string("gatewayNamespace");
        const cls = r.string("gatewayClass");
        if (name !== "") {
            r.matching("gatewayName", name, DNS_SUBDOMAIN, "must be the name of a Gateway (a DNS subdomain)");
        }
        if (namespace !== "") {
            r.matching("gatewayNamespace", namespace, DNS_LABEL, "must be a namespace name (a DNS label)");
            if (name === "") {
                r.problem("gatewayNamespace", namespace, "needs gatewayName: it is the namespace of the shared Gateway to attach to");
            }
        }
        if (cls !== "") {
            r.matching("gatewayClass", cls, DNS_SUBDOMAIN, "must be the name of a GatewayClass (a DNS subdomain)");
            if (name !== "") {
                r.problem("gatewayClass", cls, "conflicts with gatewayName: set gatewayClass to create a Gateway, or gatewayName to attach to a shared one, not both");
            }
        }
        const shared = name !== "" ? { name, namespace: namespace || ctx.namespace } : cls === "" ? profile.sharedGateway : undefined;
        const className = shared ? undefined : cls || profile.gatewayClasses[0];
        if (ctx.canary) {
            if (shared === undefined) {
                r.problem("gatewayName", name, "is required in a canary stack (prodStack set) with routing gateway: its header route attaches to prod's Gateway; set gatewayName and gatewayNamespace to it");
            }
            if (ctx.tlsSecretName !== "") {
                r.problem("tlsSecretName", ctx.tlsSecretName, "does not fit a canary stack with routing gateway: prod's Gateway terminates TLS for prod's host; remove it");
            }
            if (grayWeight > 0) {
                r.problem("grayWeight", grayWeight, "is prod's key (prod's HTTPRoute splits the plain requests); remove it from the canary stack");
            }
        } else if (grayWeight > 0 && ctx.grayNamespace === "") {
            r.problem("grayWeight", grayWeight, "needs grayNamespace: the namespace of gray's frontend Service the share goes to");
        }
        if (shared === undefined && className === undefined && !ctx.canary) {
            r.problem("gatewayName", "", `is required with routing gateway on cluster profile ${profile.name}, which has no default GatewayClass: set gatewayName (and gatewayNamespace) to attach to a shared Gateway, or gatewayClass to create one`);
        }
        for (const [key, value] of [["gatewayHttpPort", httpPort], ["gatewayHttpsPort", httpsPort]] as const) {
            if (value > 0 && shared !== undefined) {
                r.problem(key, value, "only applies to a Gateway the stack creates; the shared Gateway's owner sets its listeners");
            }
        }
        const ports = { http: httpPort || profile.gatewayPorts.http, https: httpsPort || profile.gatewayPorts.https };
        gateway = shared ? { shared } : { className, ports };

        const podNamespace = r.string("gatewayPodNamespace");
        const podSelector = labelMap(r, "gatewayPodLabels", podLabels);
        if (podNamespace !== "") {
            r.matching("gatewayPodNamespace", podNamespace, DNS_LABEL, "must be a namespace name (a DNS label)");
            source = { namespace: podNamespace, podSelector };
        } else {
            if (podLabels.length > 0) {
                r.problem("gatewayPodLabels", podLabels, "needs gatewayPodNamespace: the namespace of the gateway's data-plane pods");
            }
            source = profile.gatewayDataPlanes[className ?? profile.gatewayClasses[0] ?? ""];
        }
        proxy = "the Gateway's load balancer";
    }
    if (source === undefined && cidrs.length === 0) {
        r.problem("ingressAllowedCidrs", [], `must list the CIDRs ${proxy} reaches the pods from (e.g. the vSwitch ranges)`);
    }
    const ingressSource: IngressSource = source ? { namespace: source.namespace, podSelector: { ...source.podSelector } } : { cidrs };
    return { routing, ingressClass, gateway, ingressSource, grayWeight };
}

/**
 * Turns raw config (project keys without the `sample-app:` prefix, values as
 * Pulumi passes them: strings, arrays as JSON) into Settings, or throws a
 * ConfigError listing every problem.
 */
export function parseSettings(raw: Readonly<Record<string, string>>, stack: string): Settings {
    const r = new Reader(raw);

    const env = r.oneOf("environment", r.string("environment") || stack, ENVIRONMENTS);
    const profileName = r.string("clusterProfile");
    const profile = PROFILES[profileName] ?? (r.problem("clusterProfile", profileName, `must be one of ${Object.keys(PROFILES).join(", ")}`), PROFILES.minikube);

    const kubeContext = r.string("kubeContext") || profile.defaultKubeContext || "";
    if (kubeContext === "") {
        r.problem("kubeContext", "", `is required for cluster profile ${profile.name}: name the kube context of the target cluster`);
    }
    const namespace = r.matching("namespace", r.string("namespace") || `${PROJECT}-${env}`, DNS_LABEL, "must be a DNS label (lowercase letters, digits, '-', at most 63)");

    const prodStack = r.string("prodStack");
    if (prodStack !== "") {
        r.matching("prodStack", prodStack, STACK_REF, "must be a stack reference: <stack>, <org>/<project>/<stack>");
    }
    const hostRaw = r.string("host");
    let host: string | undefined;
    if (hostRaw !== "" && prodStack !== "") {
        r.problem("host", hostRaw, "does not fit a canary stack (prodStack set): a canary serves prod's host; remove it");
    } else if (hostRaw !== "") {
        host = r.matching("host", hostRaw, HOST, "must be a lowercase DNS host name with at least one dot, e.g. sample-app.example.com");
    } else if (prodStack === "") {
        r.problem("host", "", "is required (the public host name), e.g. sample-app.dev.local");
    }
    const tlsSecretName = r.string("tlsSecretName");
    if (tlsSecretName !== "") {
        r.matching("tlsSecretName", tlsSecretName, DNS_LABEL, "must be the name of a Secret (a DNS label)");
    }

    const grayNamespace = r.string("grayNamespace");
    const routing = routingSettings(r, profile, { namespace, canary: prodStack !== "", tlsSecretName, grayNamespace });

    const registry = r.string("imageRegistry").replace(/\/+$/, "");
    if (registry === "" && profile.registryRequired) {
        r.problem("imageRegistry", "", `is required for cluster profile ${profile.name}: the registry prefix the images are pushed to, e.g. registry.cn-hangzhou.aliyuncs.com/my-team`);
    } else if (registry !== "") {
        r.matching("imageRegistry", registry, REGISTRY, "must be a registry prefix such as registry.cn-hangzhou.aliyuncs.com/my-team");
    }
    const tag = r.matching("imageTag", r.string("imageTag"), IMAGE_TAG, "must be an image tag ([A-Za-z0-9_.-], at most 128)");
    if (tag === "latest") {
        r.problem("imageTag", tag, "must pin a version: `latest` is not allowed");
    }
    const digest = (key: string): string => {
        const d = r.string(key);
        return d === "" ? "" : `@${r.matching(key, d, DIGEST, "must be an image digest sha256:<64 lowercase hex digits>, as `docker buildx build --push` prints it")}`;
    };
    // Third-party images: pinned by tag, or by digest too; with imageRegistry, pulled from its mirror under the same name.
    const thirdParty = (key: string, example: string): string => {
        const image = r.string(key);
        const ref = /^(.*?)(?::([^/:@]+))?(@.*)?$/.exec(image)!;
        if (ref[3] !== undefined && !DIGEST.test(ref[3].slice(1))) {
            r.problem(key, image, "has a malformed digest: want <name>:<tag>@sha256:<64 lowercase hex digits>");
        } else if (!IMAGE_REF.test(image) || (ref[3] === undefined && (ref[2] === undefined || ref[2] === "latest"))) {
            r.problem(key, image, `must be an image pinned by tag or digest, e.g. ${example} or ${example}@sha256:<64 hex digits>`);
        }
        return registry === "" ? image : `${registry}/${image.split("/").pop()}`;
    };
    const prefix = registry === "" ? `${PROJECT}/` : `${registry}/${PROJECT}-`;
    const images = {
        api: `${prefix}api:${tag}${digest("apiImageDigest")}`,
        web: `${prefix}web:${tag}${digest("webImageDigest")}`,
        redis: thirdParty("redisImage", "redis:7.4.2-alpine"),
        kubectl: thirdParty("kubectlImage", "registry.k8s.io/kubectl:v1.33.3"),
    };

    const logLevel = r.oneOf<LogLevel>("logLevel", r.string("logLevel"), ["debug", "info", "warn", "error"]);
    const common = {
        autoscaling: r.boolean("autoscaling"),
        pdb: r.boolean("podDisruptionBudgets"),
        zoneSpread: r.boolean("zoneSpread"),
        cpu: r.integer("hpaCpuUtilization", 1, 100),
        memory: r.integer("hpaMemoryUtilization", 1, 100),
    };
    const frontend = scaling(r, "frontend", common);
    const api = scaling(r, "api", common);

    let redis: Settings["redis"];
    let canary: Settings["canary"];
    if (prodStack === "") {
        redis = redisSettings(r, profile);
    } else {
        for (const key of ["redisPassword", "redisSentinelPassword"]) {
            if (r.string(key) !== "") {
                r.problem(key, "[secret]", "does not fit a canary stack (prodStack set): it uses prod's Redis and prod's password; remove it");
            }
        }
        canary = {
            prodStack,
            weight: r.integer("canaryWeight", 0, 100),
            header: r.matching("canaryHeader", r.string("canaryHeader"), HEADER, "must be an HTTP header name"),
        };
    }
    const metricsNamespace = r.string("metricsNamespace");
    for (const [key, value] of [["grayNamespace", grayNamespace], ["metricsNamespace", metricsNamespace]]) {
        if (value !== "") {
            r.matching(key, value, DNS_LABEL, "must be a namespace name (a DNS label)");
        }
    }

    const quantity = (key: string) => {
        const v = r.string(key);
        if (parseQuantity(v) === undefined) {
            r.problem(key, v, "must be a Kubernetes quantity such as 2, 500m or 4Gi");
        }
        return v;
    };
    const quota = {
        requestsCpu: quantity("quotaRequestsCpu"),
        requestsMemory: quantity("quotaRequestsMemory"),
        limitsCpu: quantity("quotaLimitsCpu"),
        limitsMemory: quantity("quotaLimitsMemory"),
        pods: r.integer("quotaPods", 1),
        persistentVolumeClaims: r.integer("quotaPvcs", 0),
        requestsStorage: quantity("quotaStorage"),
        requestsEphemeralStorage: quantity("quotaRequestsEphemeralStorage"),
        limitsEphemeralStorage: quantity("quotaLimitsEphemeralStorage"),
    };
    const viewerGroups = r.stringArray("viewerGroups");
    const deployerGroups = r.stringArray("deployerGroups");
    const networkAdminGroups = r.stringArray("networkAdminGroups");
    const protect = r.boolean("protect");
    if (r.problems.length === 0) {
        r.problems.push(...quotaProblems(quota, peaks(frontend, api, redis)));
    }

    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }
    return {
        project: PROJECT, stack, env, profile, kubeContext, protect, namespace, host, ...routing, images, logLevel,
        frontend, api, redis, canary, viewerGroups, deployerGroups, networkAdminGroups, quota,
        ...(tlsSecretName ? { tlsSecretName } : {}),
        ...(grayNamespace ? { grayNamespace } : {}),
        ...(metricsNamespace ? { metricsNamespace } : {}),
    };
}

/** Reads this stack's `sample-app:*` config and parses it. */
export function loadSettings(): Settings {
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(`${PROJECT}:`)) {
            raw[key.slice(PROJECT.length + 1)] = value;
        }
    }
    return parseSettings(raw, pulumi.getStack());
}
