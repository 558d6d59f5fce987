/**
 * Pure helpers that build the labels every object of the sample app carries.
 *
 * Selectors use only the labels that never change for a workload (name,
 * instance, component), so updating `env`, `tier` or the version never forces
 * Kubernetes to replace a Deployment or StatefulSet.
 */

/** The tiers of the design: front (nginx), back (api), data (redis), platform (namespace-wide objects). */
export type Tier = "front" | "back" | "data" | "platform";

/** Identity of one workload, shared by every component. */
export interface WorkloadIdentity {
    /** `app.kubernetes.io/name`, e.g. `redis`. */
    readonly name: string;
    /** `app.kubernetes.io/component`, e.g. `database`. */
    readonly component: string;
    /** `app.kubernetes.io/instance`: the stack that owns the object. */
    readonly instance: string;
    /** `env` label: dev, test, gray, prod or any environment name of the caller. */
    readonly env: string;
    /** `tier` label. */
    readonly tier: Tier;
}

export const PART_OF = "sample-app";
export const MANAGED_BY = "pulumi";

/** Labels that select a workload's pods: never change them on a live object. */
export function selectorLabels(id: Pick<WorkloadIdentity, "name" | "instance" | "component">): Record<string, string> {
    return {
        "app.kubernetes.io/name": id.name,
        "app.kubernetes.io/instance": id.instance,
        "app.kubernetes.io/component": id.component,
    };
}

/**
 * Labels that select a workload's pods whatever stack runs them: for
 * NetworkPolicy peers in another namespace (gray's API, prod's Redis).
 */
export function crossStackSelector(name: string, component: string): Record<string, string> {
    return { "app.kubernetes.io/name": name, "app.kubernetes.io/component": component };
}

/** All labels of an object: the selector labels plus part-of, managed-by, env and tier. */
export function standardLabels(id: WorkloadIdentity, extra: Record<string, string> = {}): Record<string, string> {
    return {
        ...extra,
        ...selectorLabels(id),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        env: id.env,
        tier: id.tier,
    };
}
