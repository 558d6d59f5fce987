/**
 * Replicas, autoscaling, disruption budgets and zone spread of the two
 * stateless workloads (frontend and API) from the `*Replicas`,
 * `*MaxReplicas`, `autoscaling`, `hpa*`, `podDisruptionBudgets` and
 * `zoneSpread` keys.
 */
import { PROJECT } from "./keys";
import { Reader } from "./reader";

/** Replicas and autoscaling of one stateless workload. */
export interface ScalingSettings {
    readonly replicas: number;
    readonly autoscaling?: { readonly minReplicas: number; readonly maxReplicas: number; readonly cpuUtilization: number; readonly memoryUtilization: number };
    readonly podDisruptionBudget: boolean;
    readonly zoneSpread: boolean;
}

/** What both workloads share: one switch each for autoscaling, PDBs and zone spread, one pair of HPA targets. */
interface CommonScaling { autoscaling: boolean; pdb: boolean; zoneSpread: boolean; cpu: number; memory: number }

/** The frontend's and the API's scaling. */
export function workloadScaling(r: Reader): { readonly frontend: ScalingSettings; readonly api: ScalingSettings } {
    const common: CommonScaling = {
        autoscaling: r.boolean("autoscaling"),
        pdb: r.boolean("podDisruptionBudgets"),
        zoneSpread: r.boolean("zoneSpread"),
        cpu: r.integer("hpaCpuUtilization", 1, 100),
        memory: r.integer("hpaMemoryUtilization", 1, 100),
    };
    const frontend = scaling(r, "frontend", common);
    const api = scaling(r, "api", common);
    return { frontend, api };
}

function scaling(r: Reader, prefix: "frontend" | "api", common: CommonScaling): ScalingSettings {
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
