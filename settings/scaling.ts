/**
 * Replicas, autoscaling, disruption budgets and zone spread of the two
 * stateless workloads (frontend and API) from the `*Replicas`,
 * `*MaxReplicas`, `autoscaling`, `hpa*`, `podDisruptionBudgets` and
 * `zoneSpread` keys. The HPA keys are read only with autoscaling on
 * (settings/modes.ts refuses them otherwise).
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
interface CommonScaling { readonly autoscaling: boolean; readonly pdb: boolean; readonly zoneSpread: boolean; readonly cpu: number; readonly memory: number }

/** The frontend's and the API's scaling. */
export function workloadScaling(r: Reader): { readonly frontend: ScalingSettings; readonly api: ScalingSettings } {
    const autoscaling = r.boolean("autoscaling");
    const common: CommonScaling = {
        autoscaling,
        pdb: r.boolean("podDisruptionBudgets"),
        zoneSpread: r.boolean("zoneSpread"),
        cpu: autoscaling ? r.integer("hpaCpuUtilization", 1, 100) : 0,
        memory: autoscaling ? r.integer("hpaMemoryUtilization", 1, 100) : 0,
    };
    const frontend = scaling(r, "frontend", common);
    const api = scaling(r, "api", common);
    return { frontend, api };
}

function scaling(r: Reader, prefix: "frontend" | "api", common: CommonScaling): ScalingSettings {
    const replicas = r.integer(`${prefix}Replicas`, 1);
    if (common.pdb && replicas === 1) {
        // The PDB is maxUnavailable 1 (components/scaling.ts pdbSpec): over one pod it allows evicting that pod.
        r.problem("podDisruptionBudgets", true, `with ${PROJECT}:${prefix}Replicas = 1 (${common.autoscaling ? "the HPA minimum" : "the replica count"}), a PodDisruptionBudget over the ${prefix} either blocks every drain (minAvailable 1) or protects nothing (maxUnavailable 1: a drain evicts the only pod while traffic still goes to it); set ${prefix}Replicas to 2 or more, or podDisruptionBudgets to false`);
    }
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
