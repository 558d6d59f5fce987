/**
 * Stack configuration → a typed, validated Settings object.
 *
 * `parseSettings` is pure (raw strings in, Settings out) so every rule is unit
 * tested; `loadSettings` feeds it the stack's config. All problems are
 * reported together, before the program registers a single resource, each
 * naming the key, the value and what is allowed.
 *
 * One module per concern, in the order parseSettings reads them:
 *
 *   keys.ts      every key with its type, default and the stacks it applies to (= Pulumi.yaml's `config:`)
 *   reader.ts    reads a key (or its default), records problems; ConfigError
 *   modes.ts     the mode a stack is in, and the one check that every key set does something there
 *   validate.ts  the patterns values must match, quantities, CIDRs, labels
 *   profiles.ts  what differs by cluster: minikube, ack, local
 *   routing.ts   the public host, routing gateway or ingress, gray's canary
 *   images.ts    the app's images and the third-party ones, by tag or digest
 *   scaling.ts   replicas, HPA, PDB and zone spread of frontend and API
 *   metrics.ts   the Prometheus that may scrape the API, and how it finds the pods
 *   redis.ts     the stack's own Redis (statefulset, sentinel) or a managed one
 *   quota.ts     the namespace quota, and that it admits every workload at its peak
 */
import * as pulumi from "@pulumi/pulumi";
import type { LogLevel } from "../components/userApi";
import { PROJECT } from "./keys";
import { StackMode, scopeProblems } from "./modes";
import { ClusterProfile, PROFILES } from "./profiles";
import { peakPods, QuotaSettings, quotaProblems, quotaSettings } from "./quota";
import { ConfigError, Reader } from "./reader";
import { CanaryRedisSettings, canaryRedis, redisMode, redisSettings, StackRedisSettings } from "./redis";
import { CanarySettings, canarySettings, grayWeight, publicHost, RoutingSettings, routingSettings } from "./routing";
import { ImageSettings, imageSettings } from "./images";
import { MetricsSettings, metricsSettings } from "./metrics";
import { ScalingSettings, workloadScaling } from "./scaling";
import { DNS_LABEL, LABEL_VALUE, STACK_REF } from "./validate";

export { CONFIG_KEYS, PROJECT } from "./keys";
export { applies, describeMode } from "./modes";
export { PROFILES, ROUTINGS } from "./profiles";
export { quotaProblems } from "./quota";
export { ConfigError } from "./reader";
export { REDIS_MODES } from "./redis";
export { cronProblem, parseQuantity, PASSWORD } from "./validate";
export type { ConfigKey, KeySpec, RedisKind, Scope } from "./keys";
export type { StackMode } from "./modes";
export type { ClusterProfile, PodSource, Routing } from "./profiles";
export type { PeakPods, QuotaSettings } from "./quota";
export type {
    BackupSettings, CanaryRedisSettings, ManagedRedisSettings, OwnRedisSettings, RedisMode, SentinelRedisSettings, StackRedisSettings,
    StatefulSetRedisSettings,
} from "./redis";
export type { CanarySettings, CreatedGateway, GatewayRouting, GatewaySettings, IngressRouting, RoutingSettings, SharedGateway } from "./routing";
export type { ImageSettings } from "./images";
export { METRICS_DISCOVERIES } from "./metrics";
export type { MetricsDiscovery, MetricsSettings } from "./metrics";
export type { ScalingSettings } from "./scaling";

export const ENVIRONMENTS = ["dev", "test", "gray", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** What every stack has, whatever its mode. */
interface CommonSettings {
    readonly project: string;
    readonly stack: string;
    readonly env: Environment;
    readonly profile: ClusterProfile;
    readonly kubeContext: string;
    /** Protect the namespace and Redis from deletion (`pulumi destroy`, a replacement). */
    readonly protect: boolean;
    readonly namespace: string;
    readonly tlsSecretName?: string;
    readonly images: ImageSettings;
    readonly logLevel: LogLevel;
    readonly frontend: ScalingSettings;
    readonly api: ScalingSettings;
    /** A Prometheus that may scrape the API's /metrics, and how it finds the pods; unset: none may. */
    readonly metrics?: MetricsSettings;
    readonly viewerGroups: readonly string[];
    readonly deployerGroups: readonly string[];
    readonly networkAdminGroups: readonly string[];
    readonly quota: QuotaSettings;
    /** What may not work on some clusters although the settings are valid: warned at preview. */
    readonly warnings: readonly string[];
    /** What decided which keys the stack takes (settings/modes.ts). */
    readonly mode: StackMode;
}

/** A stack with its own host and Redis (dev, test, prod). */
export type OwnStackSettings = CommonSettings & RoutingSettings & {
    readonly kind: "own";
    /** Public host. */
    readonly host: string;
    /** The stack's Redis: its own (statefulset or sentinel) or a managed one. */
    readonly redis: StackRedisSettings;
    /** Prod: the gray namespace whose API pods may reach this Redis and whose frontend takes grayWeight. */
    readonly grayNamespace?: string;
    /** Prod, routing gateway: percent of plain requests its HTTPRoute sends to gray's frontend (in grayNamespace); 0: none. */
    readonly grayWeight: number;
};

/** A canary of another stack (gray): prod's host, prod's Redis. */
export type CanaryStackSettings = CommonSettings & RoutingSettings & {
    readonly kind: "canary";
    readonly canary: CanarySettings;
    /** What gray needs of its own to use prod's Redis. */
    readonly prodRedis: CanaryRedisSettings;
};

/** Everything the program needs to know about its stack: each mode its own type, so only its fields exist. */
export type Settings = OwnStackSettings | CanaryStackSettings;

/**
 * Turns raw config (project keys without the `sample-app:` prefix, values as
 * Pulumi passes them: strings, arrays as JSON) into Settings, or throws a
 * ConfigError listing every problem.
 */
export function parseSettings(raw: Readonly<Record<string, string>>, stack: string): Settings {
    const r = new Reader(raw);
    if (!LABEL_VALUE.test(stack) || stack === "") {
        r.problems.push(`the stack name ${JSON.stringify(stack)} is every object's app.kubernetes.io/instance label: it must be a label value (at most 63 of letters, digits, '-', '_' and '.', beginning and ending with a letter or digit); use another stack name`);
    }

    // Where the stack lands: environment, cluster, kube context, namespace.
    const env = r.oneOf("environment", r.string("environment") || stack, ENVIRONMENTS);
    const profile = clusterProfile(r);
    const kubeContext = r.string("kubeContext") || profile.defaultKubeContext || "";
    if (kubeContext === "") {
        r.problem("kubeContext", "", `is required for cluster profile ${profile.name}: name the kube context of the target cluster`);
    }
    const namespace = r.matching("namespace", r.string("namespace") || `${PROJECT}-${env}`, DNS_LABEL, "must be a DNS label (lowercase letters, digits, '-', at most 63)");

    // How traffic reaches it: a canary of prod (gray) or a host of its own, then gateway or ingress.
    const prodStack = r.string("prodStack");
    const canary = prodStack !== "";
    if (canary) {
        r.matching("prodStack", prodStack, STACK_REF, "must be a stack reference: <stack>, <org>/<project>/<stack>");
    }
    const { host, tlsSecretName } = publicHost(r, canary);
    const grayNamespace = canary ? "" : namespaceKey(r, "grayNamespace");
    const routed = routingSettings(r, profile, { canary, namespace });
    const routing = routed.settings;

    // What runs: the workloads' scale, Redis (or prod's, for a canary), images, the API's log level.
    const { frontend, api } = workloadScaling(r);
    const mode = canary ? undefined : redisMode(r);
    const redis = mode === undefined ? undefined : redisSettings(r, profile, mode);
    const own = redis?.mode === "managed" ? undefined : redis;
    const images = imageSettings(r, profile, { redis: own !== undefined, kubectl: own?.backup !== undefined });
    const logLevel = r.oneOf<LogLevel>("logLevel", r.string("logLevel"), ["debug", "info", "warn", "error"]);

    // A canary: its header, its share (routing ingress), and prod's Redis; or prod's share for gray.
    const canarySide = canary ? { canary: canarySettings(r, prodStack, routing), prodRedis: canaryRedis(r) } : undefined;
    const weight = grayWeight(r, routing, canary, grayNamespace);

    // Who else may reach it, who may change it, and how much it may use.
    const metrics = metricsSettings(r);
    const quota = quotaSettings(r);
    const viewerGroups = r.stringArray("viewerGroups");
    const deployerGroups = r.stringArray("deployerGroups");
    const networkAdminGroups = r.stringArray("networkAdminGroups");
    const protect = r.boolean("protect");

    // Every key set must do something in this stack's mode.
    const stackMode: StackMode = {
        canary, redis: mode ?? "prod", routing: routing.routing, gateway: routed.gateway, backup: own?.backup !== undefined,
        proxy: routed.proxy, autoscaling: frontend.autoscaling !== undefined, metrics: metrics?.discovery ?? "none",
    };
    scopeProblems(r, stackMode);
    if (r.problems.length === 0) {
        r.problems.push(...quotaProblems(quota, peakPods(frontend, api, redis)));
    }
    if (r.problems.length > 0) {
        throw new ConfigError(r.problems);
    }

    const common: CommonSettings = {
        project: PROJECT, stack, env, profile, kubeContext, protect, namespace, images, logLevel, frontend, api,
        viewerGroups, deployerGroups, networkAdminGroups, quota, warnings: settingsWarnings(profile, own !== undefined && frontend.zoneSpread), mode: stackMode,
        ...(tlsSecretName ? { tlsSecretName } : {}),
        ...(metrics ? { metrics } : {}),
    };
    if (canarySide || redis === undefined) {
        return { ...common, ...routing, kind: "canary", canary: canarySide?.canary ?? { prodStack, header: "" }, prodRedis: canarySide?.prodRedis ?? {} };
    }
    return { ...common, ...routing, kind: "own", host: host ?? "", redis, grayWeight: weight, ...(grayNamespace ? { grayNamespace } : {}) };
}

/** A namespace name from `key` ("" when unset). */
function namespaceKey(r: Reader, key: "grayNamespace"): string {
    const value = r.string(key);
    return value === "" ? "" : r.matching(key, value, DNS_LABEL, "must be a namespace name (a DNS label)");
}

/** What valid settings may still meet on a cluster: Redis spread strictly over zones where nodes may have no zone label. */
function settingsWarnings(profile: ClusterProfile, redisOverZones: boolean): string[] {
    return redisOverZones && profile.name !== "ack"
        ? [`zoneSpread: the Redis pods are spread strictly over zones (topology.kubernetes.io/zone), and stay Pending on a cluster whose nodes have no zone label, as ${profile.name} nodes usually do; check with kubectl get nodes -L topology.kubernetes.io/zone (docs/redis.md)`]
        : [];
}

/** The profile `clusterProfile` names (a problem, and minikube's, for an unknown one). */
function clusterProfile(r: Reader): ClusterProfile {
    const name = r.string("clusterProfile");
    return PROFILES[name] ?? (r.problem("clusterProfile", name, `must be one of ${Object.keys(PROFILES).join(", ")}`), PROFILES.minikube);
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
