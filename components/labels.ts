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

/** A DNS subdomain (RFC 1123): Gateway, GatewayClass, VolumeSnapshot(Class) and Secret names, and a label key's prefix. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/**
 * A label value (empty, or up to 63 of [A-Za-z0-9_.-] beginning and ending with a letter or digit):
 * every object's `app.kubernetes.io/instance` is the stack's name.
 */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** The name part of a label key (after an optional `prefix/`): a label value but empty. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Whether `key` is a label key: a name, or a DNS subdomain prefix and a name (k8s.io/apimachinery's IsQualifiedName). */
export function validLabelKey(key: string): boolean {
    const slash = key.split("/");
    return slash.length === 1 ? LABEL_NAME.test(key) : slash.length === 2 && DNS_SUBDOMAIN.test(slash[0]) && LABEL_NAME.test(slash[1]);
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

/** The keys of the labels standardLabels gives every object: a caller's extra labels may not set them. */
export const STANDARD_LABEL_KEYS: readonly string[] = [
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by", "env", "tier",
];

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
