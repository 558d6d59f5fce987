import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Pure builders for the scaling and availability objects that UserApi and
 * Frontend share: HorizontalPodAutoscaler (autoscaling/v2), PodDisruptionBudget
 * and topology spread.
 */

/** Autoscaling bounds and targets of a Deployment. */
export interface AutoscalingArgs {
    /** Fewest replicas the HPA keeps. Default: 1. */
    readonly minReplicas?: number;
    /** Most replicas the HPA may create. Required. */
    readonly maxReplicas: number;
    /** Average CPU utilisation target, percent of the request. Default: 70. */
    readonly cpuUtilization?: number;
    /** Average memory utilisation target, percent of the request. Default: 80. */
    readonly memoryUtilization?: number;
}

/** HPA spec scaling the named Deployment on CPU and memory. */
export function hpaSpec(deploymentName: string, a: AutoscalingArgs): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec {
    const minReplicas = a.minReplicas ?? 1;
    if (!Number.isInteger(minReplicas) || minReplicas < 1 || !Number.isInteger(a.maxReplicas) || a.maxReplicas < minReplicas) {
        throw new Error(`autoscaling: minReplicas ${minReplicas} and maxReplicas ${a.maxReplicas} must be integers with 1 <= min <= max`);
    }
    const target = (name: string, averageUtilization: number) => ({
        type: "Resource",
        resource: { name, target: { type: "Utilization", averageUtilization } },
    });
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName },
        minReplicas,
        maxReplicas: a.maxReplicas,
        metrics: [target("cpu", a.cpuUtilization ?? 70), target("memory", a.memoryUtilization ?? 80)],
    };
}

/**
 * PDB spec: with a single replica `maxUnavailable: 1` still lets a node drain;
 * with more, at most one pod may be evicted at a time.
 */
export function pdbSpec(selector: Record<string, string>): k8s.types.input.policy.v1.PodDisruptionBudgetSpec {
    return { maxUnavailable: 1, selector: { matchLabels: selector } };
}

/** Spread pods over nodes (always) and zones (when asked), preferring balance over refusal. */
export function topologySpread(selector: Record<string, string>, zones: boolean): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    const constraint = (topologyKey: string) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: selector },
    });
    return zones
        ? [constraint("kubernetes.io/hostname"), constraint("topology.kubernetes.io/zone")]
        : [constraint("kubernetes.io/hostname")];
}

/** Scaling and availability options shared by the stateless workloads. */
export interface ScalingArgs {
    /** Fixed replica count, used when `autoscaling` is not set. Default: 1. */
    readonly replicas?: number;
    /** HorizontalPodAutoscaler bounds; when set the Deployment has no `spec.replicas`. Default: none. */
    readonly autoscaling?: AutoscalingArgs;
    /** Create a PodDisruptionBudget. Default: false. */
    readonly podDisruptionBudget?: boolean;
    /** Also spread pods over zones (`topology.kubernetes.io/zone`), not only nodes. Default: false. */
    readonly zoneSpread?: boolean;
}

/**
 * `spec.replicas` for a Deployment: absent when an HPA owns the count, so a
 * `pulumi up` never fights the autoscaler.
 */
export function replicasField(s: ScalingArgs): { replicas?: number } {
    if (s.autoscaling) {
        return {};
    }
    const replicas = s.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw new Error(`replicas must be an integer >= 1, got ${replicas}`);
    }
    return { replicas };
}

/** Creates the HPA and PDB a Deployment asked for, as children of `parent`. */
export function createScalingObjects(
    parent: pulumi.Resource,
    deploymentName: string,
    metadata: { namespace: pulumi.Input<string>; labels: Record<string, string> },
    selector: Record<string, string>,
    s: ScalingArgs,
): void {
    if (s.autoscaling) {
        new k8s.autoscaling.v2.HorizontalPodAutoscaler(deploymentName, {
            metadata: { name: deploymentName, ...metadata },
            spec: hpaSpec(deploymentName, s.autoscaling),
        }, { parent });
    }
    if (s.podDisruptionBudget) {
        new k8s.policy.v1.PodDisruptionBudget(deploymentName, {
            metadata: { name: deploymentName, ...metadata },
            spec: pdbSpec(selector),
        }, { parent });
    }
}
