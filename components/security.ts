import * as k8s from "@pulumi/kubernetes";

/**
 * Pure helpers for the Pod Security Standard `restricted` profile, shared by
 * every workload so no container can drift from it.
 */

/** Container securityContext that satisfies PSA `restricted`, with a read-only root filesystem. */
export function restrictedContainerSecurityContext(): k8s.types.input.core.v1.SecurityContext {
    return {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** UID and GID a container runs as. */
export interface RunAs {
    /** runAsUser. */
    readonly user: number;
    /** runAsGroup (and fsGroup of the data volume). */
    readonly group: number;
}

/** Pod securityContext for a non-root user; `fsGroup` makes mounted volumes writable by that group. */
export function restrictedPodSecurityContext(user: number, group: number, fsGroup?: number): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: user,
        runAsGroup: group,
        ...(fsGroup === undefined ? {} : { fsGroup, fsGroupChangePolicy: "OnRootMismatch" }),
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** CPU and memory requests and limits of one container. */
export interface ContainerResources {
    /** CPU request, e.g. `50m`. */
    readonly cpuRequest: string;
    /** Memory request, e.g. `64Mi`. */
    readonly memoryRequest: string;
    /** CPU limit, e.g. `500m`. */
    readonly cpuLimit: string;
    /** Memory limit, e.g. `128Mi`. */
    readonly memoryLimit: string;
    /** Local disk request (logs, writable layer, disk-backed emptyDirs), e.g. `64Mi`. Default: none (the namespace LimitRange's). */
    readonly ephemeralStorageRequest?: string;
    /** Local disk limit; the kubelet evicts a pod that writes more. Default: none (the namespace LimitRange's). */
    readonly ephemeralStorageLimit?: string;
}

/** Kubernetes `resources` block from {@link ContainerResources}. */
export function resourceRequirements(r: ContainerResources): k8s.types.input.core.v1.ResourceRequirements {
    const disk = (q: string | undefined): Record<string, string> => (q === undefined ? {} : { "ephemeral-storage": q });
    return {
        requests: { cpu: r.cpuRequest, memory: r.memoryRequest, ...disk(r.ephemeralStorageRequest) },
        limits: { cpu: r.cpuLimit, memory: r.memoryLimit, ...disk(r.ephemeralStorageLimit) },
    };
}
