import * as k8s from "@pulumi/kubernetes";
import { parseQuantity } from "./quantity";

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

/**
 * CPU, memory and local disk requests and limits of one container, as a component takes them: each
 * field set replaces the component's default for that field, each unset one keeps it.
 */
export interface ContainerResources {
    /** CPU request, e.g. `50m`. Default: the component's. */
    readonly cpuRequest?: string;
    /** Memory request, e.g. `64Mi`. Default: the component's. */
    readonly memoryRequest?: string;
    /** CPU limit, e.g. `500m`. Default: the component's. */
    readonly cpuLimit?: string;
    /** Memory limit, e.g. `128Mi`. Default: the component's. */
    readonly memoryLimit?: string;
    /** Local disk request (logs, writable layer, disk-backed emptyDirs), e.g. `64Mi`. Default: the component's. */
    readonly ephemeralStorageRequest?: string;
    /** Local disk limit; the kubelet evicts a pod that writes more. Default: the component's. */
    readonly ephemeralStorageLimit?: string;
}

/** Every field a container's resources have once the defaults fill what args left unset. */
export type ResolvedResources = Required<ContainerResources>;

const RESOURCE_FIELDS = ["cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit", "ephemeralStorageRequest", "ephemeralStorageLimit"] as const;

/**
 * A component's defaults with each field `given` sets in their place (per field: `undefined` keeps the
 * default). Throws naming the field when a value is not a Kubernetes quantity, or a request exceeds
 * its limit, which the API server would refuse only at `pulumi up`.
 */
export function resolveResources(defaults: ResolvedResources, given: ContainerResources = {}): ResolvedResources {
    const out = { ...defaults };
    for (const field of RESOURCE_FIELDS) {
        const value = given[field];
        if (value === undefined) {
            continue;
        }
        if (parseQuantity(value) === undefined) {
            throw new Error(`resources.${field} must be a Kubernetes quantity such as 500m or 128Mi, got ${JSON.stringify(value)}`);
        }
        out[field] = value;
    }
    for (const [request, limit] of [["cpuRequest", "cpuLimit"], ["memoryRequest", "memoryLimit"], ["ephemeralStorageRequest", "ephemeralStorageLimit"]] as const) {
        if ((parseQuantity(out[request]) ?? 0) > (parseQuantity(out[limit]) ?? 0)) {
            throw new Error(`resources.${request} (${out[request]}) must not exceed resources.${limit} (${out[limit]})`);
        }
    }
    return out;
}

/** Kubernetes `resources` block from resolved {@link ContainerResources}. */
export function resourceRequirements(r: ResolvedResources): k8s.types.input.core.v1.ResourceRequirements {
    return {
        requests: { cpu: r.cpuRequest, memory: r.memoryRequest, "ephemeral-storage": r.ephemeralStorageRequest },
        limits: { cpu: r.cpuLimit, memory: r.memoryLimit, "ephemeral-storage": r.ephemeralStorageLimit },
    };
}
