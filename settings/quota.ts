/**
 * The namespace quota from the `quota*` keys, and the arithmetic that checks
 * it admits every workload at its peak: HPA maximum (or replicas) plus a
 * rolling-update surge pod per Deployment, the Redis pods (their Sentinel
 * sidecars counted as containers, not pods) and the backup Jobs.
 */
import { FRONTEND_DEFAULTS } from "../components/frontend";
import { REDIS_DEFAULTS } from "../components/redis";
import { BACKUP_DEFAULTS } from "../components/redisBackup";
import type { ResolvedResources } from "../components/security";
import { USER_API_DEFAULTS } from "../components/userApi";
import { ConfigKey, PROJECT } from "./keys";
import { Reader } from "./reader";
import type { StackRedisSettings } from "./redis";
import type { ScalingSettings } from "./scaling";
import { parseQuantity } from "./validate";

/** The ResourceQuota of the namespace. */
export interface QuotaSettings {
    readonly requestsCpu: string; readonly requestsMemory: string; readonly limitsCpu: string; readonly limitsMemory: string;
    readonly pods: number; readonly persistentVolumeClaims: number; readonly requestsStorage: string;
    readonly requestsEphemeralStorage: string; readonly limitsEphemeralStorage: string;
}

/** The quota from the `quota*` keys, each quantity checked to be one. */
export function quotaSettings(r: Reader): QuotaSettings {
    const quantity = (key: ConfigKey) => {
        const v = r.string(key);
        if (parseQuantity(v) === undefined) {
            r.problem(key, v, "must be a Kubernetes quantity such as 2, 500m or 4Gi");
        }
        return v;
    };
    return {
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
}

/** How many pods of one container shape a stack can run at its peak. */
export interface PeakPods {
    readonly what: string;
    readonly pods: number;
    readonly resources: ResolvedResources;
    /** Size of each pod's volume, if it has one. */
    readonly storage?: string;
    /** A sidecar container in pods counted elsewhere: its resources count, not its pods. */
    readonly sidecar?: boolean;
}

/**
 * Checks that the namespace quota admits every workload at its maximum scale
 * plus one rolling-update surge pod per Deployment; returns the problems.
 */
export function quotaProblems(quota: QuotaSettings, peaks: readonly PeakPods[]): string[] {
    const sum = (f: (p: PeakPods) => number) => peaks.reduce((acc, p) => acc + p.pods * f(p), 0);
    const q = (v: string) => parseQuantity(v) ?? 0;
    const checks: [ConfigKey, string, number, (p: PeakPods) => string | undefined][] = [
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

/**
 * The peak pod counts of a stack: HPA maximum (or replicas) + 1 surge per Deployment, Redis replicas
 * (and Sentinels), and the backup Jobs: one run on demand (`kubectl create job --from=cronjob/...`,
 * which the CronJob's concurrencyPolicy does not hold back) beside a scheduled one.
 */
export function peakPods(frontend: ScalingSettings, api: ScalingSettings, redis: StackRedisSettings | undefined): PeakPods[] {
    const top = (s: ScalingSettings) => (s.autoscaling?.maxReplicas ?? s.replicas) + 1;
    const own = redis && redis.mode !== "managed" ? redis : undefined;
    return [
        { what: "frontend", pods: top(frontend), resources: FRONTEND_DEFAULTS.resources },
        { what: "api", pods: top(api), resources: USER_API_DEFAULTS.resources },
        ...(own ? [{ what: "redis", pods: own.replicas, resources: REDIS_DEFAULTS.resources, storage: own.storageSize }] : []),
        ...(own?.mode === "sentinel" ? [{ what: "sentinel", pods: own.replicas, resources: REDIS_DEFAULTS.sentinel.resources, sidecar: true }] : []),
        ...(own?.backup ? [{ what: "redis backup", pods: own.backup.schedule ? 2 : 1, resources: BACKUP_DEFAULTS.resources }] : []),
    ];
}
