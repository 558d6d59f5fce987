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
 *   keys.ts      every key with its type and default (= Pulumi.yaml's `config:`)
 *   reader.ts    reads a key (or its default), records problems; ConfigError
 *   validate.ts  the patterns values must match, quantities, CIDRs, labels
 *   profiles.ts  what differs by cluster: minikube, ack, local
 *   routing.ts   the public host, routing gateway or ingress, gray's canary
 *   images.ts    the app's images and the third-party ones, by tag or digest
 *   scaling.ts   replicas, HPA, PDB and zone spread of frontend and API
 *   redis.ts     the stack's own Redis (statefulset, sentinel) or a managed one
 *   quota.ts     the namespace quota, and that it admits every workload at its peak
 */
import * as pulumi from "@pulumi/pulumi";
import type { LogLevel } from "../components/userApi";
import { PROJECT } from "./keys";
import { ClusterProfile, PROFILES } from "./profiles";
import { peakPods, QuotaSettings, quotaProblems, quotaSettings } from "./quota";
import { ConfigError, Reader } from "./reader";
import { canaryRedis, redisSettings, StackRedisSettings } from "./redis";
import { CanarySettings, canarySettings, publicHost, RoutingSettings, routingSettings } from "./routing";
import { ImageSettings, imageSettings } from "./images";
import { ScalingSettings, workloadScaling } from "./scaling";
import { DNS_LABEL, STACK_REF } from "./validate";

export { CONFIG_KEYS, PROJECT } from "./keys";
export { PROFILES, ROUTINGS } from "./profiles";
export { quotaProblems } from "./quota";
export { ConfigError } from "./reader";
export { REDIS_MODES } from "./redis";
export { parseQuantity } from "./validate";
export type { KeySpec } from "./keys";
export type { ClusterProfile, PodSource, Routing } from "./profiles";
export type { PeakPods, QuotaSettings } from "./quota";
export type { ManagedRedisSettings, OwnRedisSettings, RedisMode, StackRedisSettings } from "./redis";
export type { CanarySettings, GatewaySettings, RoutingSettings } from "./routing";
export type { ImageSettings } from "./images";
export type { ScalingSettings } from "./scaling";

export const ENVIRONMENTS = ["dev", "test", "gray", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** Everything the program needs to know about its stack; routing fields: see RoutingSettings. */
export interface Settings extends RoutingSettings {
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
    readonly images: ImageSettings;
    readonly logLevel: LogLevel;
    readonly frontend: ScalingSettings;
    readonly api: ScalingSettings;
    /** The stack's Redis: its own (statefulset or sentinel) or a managed one; undefined in gray, which uses prod's. */
    readonly redis?: StackRedisSettings;
    /** Gray: a canary of the stack named here. */
    readonly canary?: CanarySettings;
    /** Prod: the gray namespace whose API pods may reach this Redis. */
    readonly grayNamespace?: string;
    /** Namespace whose pods (Prometheus) may scrape the API's /metrics. */
    readonly metricsNamespace?: string;
    readonly viewerGroups: readonly string[];
    readonly deployerGroups: readonly string[];
    readonly networkAdminGroups: readonly string[];
    readonly quota: QuotaSettings;
}

/**
 * Turns raw config (project keys without the `sample-app:` prefix, values as
 * Pulumi passes them: strings, arrays as JSON) into Settings, or throws a
 * ConfigError listing every problem.
 */
export function parseSettings(raw: Readonly<Record<string, string>>, stack: string): Settings {
    const r = new Reader(raw);

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
    if (prodStack !== "") {
        r.matching("prodStack", prodStack, STACK_REF, "must be a stack reference: <stack>, <org>/<project>/<stack>");
    }
    const { host, tlsSecretName } = publicHost(r, prodStack);
    const grayNamespace = r.string("grayNamespace");
    const routing = routingSettings(r, profile, { namespace, canary: prodStack !== "", tlsSecretName, grayNamespace });

    // What runs: images, the API's log level, the workloads' scale, Redis (or prod's, for a canary).
    const images = imageSettings(r, profile);
    const logLevel = r.oneOf<LogLevel>("logLevel", r.string("logLevel"), ["debug", "info", "warn", "error"]);
    const { frontend, api } = workloadScaling(r);
    const redis = prodStack === "" ? redisSettings(r, profile) : canaryRedis(r);
    const canary = prodStack === "" ? undefined : canarySettings(r, prodStack);

    // Who else may reach it, who may change it, and how much it may use.
    const metricsNamespace = r.string("metricsNamespace");
    for (const [key, value] of [["grayNamespace", grayNamespace], ["metricsNamespace", metricsNamespace]]) {
        if (value !== "") {
            r.matching(key, value, DNS_LABEL, "must be a namespace name (a DNS label)");
        }
    }
    const quota = quotaSettings(r);
    const viewerGroups = r.stringArray("viewerGroups");
    const deployerGroups = r.stringArray("deployerGroups");
    const networkAdminGroups = r.stringArray("networkAdminGroups");
    const protect = r.boolean("protect");
    if (r.problems.length === 0) {
        r.problems.push(...quotaProblems(quota, peakPods(frontend, api, redis)));
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
