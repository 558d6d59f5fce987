import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { standardLabels } from "./labels";

/** Namespace-wide quota. Every field is a Kubernetes quantity or count. */
export interface NamespaceQuota {
    /** Sum of CPU requests. Default: `2`. */
    readonly requestsCpu?: string;
    /** Sum of memory requests. Default: `4Gi`. */
    readonly requestsMemory?: string;
    /** Sum of CPU limits. Default: `4`. */
    readonly limitsCpu?: string;
    /** Sum of memory limits. Default: `8Gi`. */
    readonly limitsMemory?: string;
    /** Number of pods. Default: 20. */
    readonly pods?: number;
    /** Number of PersistentVolumeClaims. Default: 4. */
    readonly persistentVolumeClaims?: number;
    /** Sum of PVC storage requests. Default: `50Gi`. */
    readonly requestsStorage?: string;
    /** Sum of local disk (ephemeral-storage) requests. Default: `4Gi`. */
    readonly requestsEphemeralStorage?: string;
    /** Sum of local disk (ephemeral-storage) limits. Default: `8Gi`. */
    readonly limitsEphemeralStorage?: string;
}

/** Defaults a container gets from the LimitRange when it sets none. */
export interface ContainerDefaults {
    /** Default CPU request. Default: `50m`. */
    readonly cpuRequest?: string;
    /** Default memory request. Default: `64Mi`. */
    readonly memoryRequest?: string;
    /** Default CPU limit. Default: `500m`. */
    readonly cpuLimit?: string;
    /** Default memory limit. Default: `256Mi`. */
    readonly memoryLimit?: string;
    /** Default local disk (ephemeral-storage) request. Default: `64Mi`. */
    readonly ephemeralStorageRequest?: string;
    /** Default local disk (ephemeral-storage) limit. Default: `256Mi`. */
    readonly ephemeralStorageLimit?: string;
}

export interface AppNamespaceArgs {
    /** Name of the Namespace (metadata.name). Default: the component's name. */
    readonly namespace?: string;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
    /** ResourceQuota values; a field left out keeps its own default. Default: each field's default. */
    readonly quota?: NamespaceQuota;
    /** LimitRange container defaults; a field left out keeps its own default. Default: each field's default. */
    readonly containerDefaults?: ContainerDefaults;
}

export const DEFAULT_QUOTA: Required<NamespaceQuota> = {
    requestsCpu: "2",
    requestsMemory: "4Gi",
    limitsCpu: "4",
    limitsMemory: "8Gi",
    pods: 20,
    persistentVolumeClaims: 4,
    requestsStorage: "50Gi",
    requestsEphemeralStorage: "4Gi",
    limitsEphemeralStorage: "8Gi",
};

export const DEFAULT_CONTAINER_DEFAULTS: Required<ContainerDefaults> = {
    cpuRequest: "50m",
    memoryRequest: "64Mi",
    cpuLimit: "500m",
    memoryLimit: "256Mi",
    ephemeralStorageRequest: "64Mi",
    ephemeralStorageLimit: "256Mi",
};

/** Pod Security Admission labels enforcing (and warning on) the `restricted` standard. */
export function podSecurityLabels(): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    };
}

/** ResourceQuota `hard` map from {@link NamespaceQuota}. */
export function quotaHard(q: Required<NamespaceQuota>): Record<string, string> {
    return {
        "requests.cpu": q.requestsCpu,
        "requests.memory": q.requestsMemory,
        "limits.cpu": q.limitsCpu,
        "limits.memory": q.limitsMemory,
        pods: String(q.pods),
        persistentvolumeclaims: String(q.persistentVolumeClaims),
        "requests.storage": q.requestsStorage,
        "requests.ephemeral-storage": q.requestsEphemeralStorage,
        "limits.ephemeral-storage": q.limitsEphemeralStorage,
    };
}

/**
 * The Namespace object of each AppNamespace, kept off the class: every field of a component is an
 * output of the component package's schema, and this one would be its only reference into the
 * kubernetes package (binding the schema, and every SDK generated from it, would then need
 * pulumi-kubernetes at exactly the version this repository's tests use).
 */
const namespaceObjects = new WeakMap<AppNamespace, k8s.core.v1.Namespace>();

/**
 * A Namespace for the app, labelled for Pod Security Admission `restricted`,
 * with a ResourceQuota and a LimitRange that gives containers defaults.
 */
export class AppNamespace extends pulumi.ComponentResource {
    /** The namespace's name, known once it exists. */
    public readonly name: pulumi.Output<string>;

    /** The Namespace object itself (TypeScript only; other languages use `name`). */
    public get namespace(): k8s.core.v1.Namespace {
        const ns = namespaceObjects.get(this);
        if (!ns) {
            throw new Error("an AppNamespace has its Namespace once its constructor has run");
        }
        return ns;
    }

    constructor(name: string, args: AppNamespaceArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("AppNamespace"), name, {}, componentOptions("AppNamespace", opts));
        const instance = args.instance ?? pulumi.getStack();
        const labels = standardLabels({ name: "sample-app", component: "namespace", instance, env: args.env ?? instance, tier: "platform" });
        const quota = { ...DEFAULT_QUOTA, ...args.quota };
        const defaults = { ...DEFAULT_CONTAINER_DEFAULTS, ...args.containerDefaults };

        const namespace = new k8s.core.v1.Namespace(name, {
            metadata: { name: args.namespace ?? name, labels: { ...labels, ...podSecurityLabels() } },
        }, { parent: this });
        namespaceObjects.set(this, namespace);
        const ns = namespace.metadata.name;

        new k8s.core.v1.ResourceQuota(`${name}-quota`, {
            metadata: { name: "sample-app-quota", namespace: ns, labels },
            spec: { hard: quotaHard(quota) },
        }, { parent: this });

        new k8s.core.v1.LimitRange(`${name}-limits`, {
            metadata: { name: "sample-app-limits", namespace: ns, labels },
            spec: {
                limits: [{
                    type: "Container",
                    defaultRequest: { cpu: defaults.cpuRequest, memory: defaults.memoryRequest, "ephemeral-storage": defaults.ephemeralStorageRequest },
                    default: { cpu: defaults.cpuLimit, memory: defaults.memoryLimit, "ephemeral-storage": defaults.ephemeralStorageLimit },
                }],
            },
        }, { parent: this });

        this.name = ns;
        this.registerOutputs({ name: this.name });
    }
}
