/**
 * The sample-app policies: the Kubernetes rules every object of the app
 * follows (policy/README.md lists them), as CrossGuard policies. Every policy is mandatory: a violation fails the
 * preview (so the pull request's check) and blocks the update.
 *
 * Resource policies see each resource's inputs before it is created or
 * updated; `hpa-deployment-without-replicas` is a stack policy, because it
 * relates two objects (an HPA and the Deployment it scales).
 *
 * Configurable policies (per cluster profile, see config/*.json):
 *   no-external-services     allowedServices, allowedTypes
 *   allowed-storage-classes  allowedStorageClasses (default: every class of
 *                            every profile in ../settings/profiles.ts; a test keeps the two equal)
 */
import {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";
import { at, containersOf, credentialIn, describe, imagePin, kubeType, KubeType, Obj, podSpec } from "./kube";

/** StorageClasses of every cluster profile in settings/profiles.ts (minikube, then ack), the default of `allowedStorageClasses`. */
export const DEFAULT_ALLOWED_STORAGE_CLASSES: readonly string[] = [
    "standard",
    "csi-hostpath-sc",
    "alicloud-disk-topology-alltype",
    "alicloud-disk-essd",
    "alicloud-disk-ssd",
    "alicloud-disk-efficiency",
];

/** Service types that expose pods outside the cluster without the Gateway or the Ingress. */
export const EXTERNAL_SERVICE_TYPES: readonly string[] = ["LoadBalancer", "NodePort"];

/** Seccomp profile types the Pod Security Standard `restricted` accepts. */
const ALLOWED_SECCOMP = ["RuntimeDefault", "Localhost"];
/** The only capability `restricted` lets a container add. */
const ALLOWED_ADDED_CAPABILITIES = ["NET_BIND_SERVICE"];

type Check = (args: ResourceValidationArgs, t: KubeType, report: ReportViolation) => void;

/** A mandatory resource policy that runs `check` on Kubernetes objects only. */
function kubePolicy(p: Omit<ResourceValidationPolicy, "validateResource" | "enforcementLevel">, check: Check): ResourceValidationPolicy {
    return {
        ...p,
        enforcementLevel: "mandatory",
        validateResource: (args, report) => {
            const t = kubeType(args.type);
            if (t) {
                check(args, t, report);
            }
        },
    };
}

/** Runs `check` on every container of a workload's pod spec. */
function eachContainer(
    fn: (c: ReturnType<typeof containersOf>[number], pod: Obj, where: string, report: ReportViolation) => void,
): Check {
    return (args, t, report) => {
        const spec = podSpec(t, args.props);
        if (!spec) {
            return;
        }
        const where = describe(t.kind, args.props, args.name);
        for (const c of containersOf(spec)) {
            fn(c, spec, where, report);
        }
    };
}

export const containerResources = kubePolicy({
    name: "container-resources",
    description: "Every container and init container requests and limits CPU and memory.",
    remediationSteps: "Set resources.requests.{cpu,memory} and resources.limits.{cpu,memory} on the container (the components take a `resources` argument).",
}, eachContainer(({ label, container }, _pod, where, report) => {
    const missing = ["requests", "limits"].flatMap(kind =>
        ["cpu", "memory"].filter(r => at(container, "resources", kind, r) === undefined).map(r => `resources.${kind}.${r}`));
    if (missing.length > 0) {
        report(`${where}: ${label} has no ${missing.join(", ")}; every container needs CPU and memory requests and limits.`);
    }
}));

export const containerProbes = kubePolicy({
    name: "container-probes",
    description: "Every container (not init containers) has a liveness and a readiness probe.",
    remediationSteps: "Add livenessProbe and readinessProbe to the container (and a startupProbe for slow starts).",
}, eachContainer(({ label, container, init }, _pod, where, report) => {
    if (init) {
        return;
    }
    const missing = ["livenessProbe", "readinessProbe"].filter(p => container[p] === undefined || container[p] === null);
    if (missing.length > 0) {
        report(`${where}: ${label} has no ${missing.join(" and ")}.`);
    }
}));

export const restrictedSecurityContext = kubePolicy({
    name: "restricted-security-context",
    description: "Every container runs under the Pod Security Standard `restricted` with a read-only root filesystem: " +
        "runAsNonRoot (pod or container), allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault (pod or container), readOnlyRootFilesystem.",
    remediationSteps: "Use restrictedPodSecurityContext() and restrictedContainerSecurityContext() from components/security.ts; mount an emptyDir where the container must write.",
}, eachContainer(({ label, container }, pod, where, report) => {
    const sc: Obj = container.securityContext ?? {};
    const podSc: Obj = pod.securityContext ?? {};
    const problems: string[] = [];
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) {
        problems.push("runAsNonRoot is not true (pod or container)");
    }
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) {
        problems.push("runAsUser is 0 (root)");
    }
    if (sc.allowPrivilegeEscalation !== false) {
        problems.push("allowPrivilegeEscalation is not false");
    }
    if (sc.privileged === true) {
        problems.push("privileged is true");
    }
    const drop: unknown[] = at(sc, "capabilities", "drop") ?? [];
    if (!drop.includes("ALL")) {
        problems.push("capabilities.drop does not contain ALL");
    }
    const added = ((at(sc, "capabilities", "add") ?? []) as string[]).filter(c => !ALLOWED_ADDED_CAPABILITIES.includes(c));
    if (added.length > 0) {
        problems.push(`capabilities.add has ${added.join(", ")} (only NET_BIND_SERVICE is allowed)`);
    }
    const seccomp = at(sc, "seccompProfile", "type") ?? at(podSc, "seccompProfile", "type");
    if (!ALLOWED_SECCOMP.includes(seccomp)) {
        problems.push(`seccompProfile.type is ${seccomp === undefined ? "unset" : JSON.stringify(seccomp)} (pod or container; use RuntimeDefault)`);
    }
    if (sc.readOnlyRootFilesystem !== true) {
        problems.push("readOnlyRootFilesystem is not true");
    }
    if (problems.length > 0) {
        report(`${where}: ${label} is not restricted: ${problems.join("; ")}.`);
    }
}));

/** The lowest UID and GID `high-uid-gid` accepts: lower IDs are often a host's own users and groups. */
export const MIN_UID_GID = 10000;

export const highUidGid = kubePolicy({
    name: "high-uid-gid",
    description: `Every container runs as a UID and a GID of ${MIN_UID_GID} or more, set explicitly (runAsUser and runAsGroup, pod or container), ` +
        `and the pod's fsGroup and supplementalGroups, where set, are ${MIN_UID_GID} or more: a container that escapes would otherwise act as one of the node's own users or groups. ` +
        "A container without runAsUser or runAsGroup is refused too, since the image's USER (often low: nginx 101, redis 999) cannot be seen here.",
    remediationSteps: `Set runAsUser, runAsGroup and fsGroup to ${MIN_UID_GID} or more with restrictedPodSecurityContext() (components/security.ts); ` +
        "check that the image runs as any UID (writable paths are volumes, nothing it reads belongs to its own user only).",
}, eachContainer(({ label, container }, pod, where, report) => {
    const sc: Obj = container.securityContext ?? {};
    const podSc: Obj = pod.securityContext ?? {};
    const problems: string[] = [];
    for (const key of ["runAsUser", "runAsGroup"]) {
        const id = sc[key] ?? podSc[key];
        if (id === undefined || id === null) {
            problems.push(`${key} is unset (pod or container), so the image's own user or group applies`);
        } else if (!(typeof id === "number" && id >= MIN_UID_GID)) {
            problems.push(`${key} is ${JSON.stringify(id)}`);
        }
    }
    if (podSc.fsGroup !== undefined && podSc.fsGroup !== null && !(typeof podSc.fsGroup === "number" && podSc.fsGroup >= MIN_UID_GID)) {
        problems.push(`the pod's fsGroup is ${JSON.stringify(podSc.fsGroup)}`);
    }
    const lowSupplemental = ((podSc.supplementalGroups ?? []) as unknown[]).filter(g => !(typeof g === "number" && g >= MIN_UID_GID));
    if (lowSupplemental.length > 0) {
        problems.push(`the pod's supplementalGroups has ${lowSupplemental.join(", ")}`);
    }
    if (problems.length > 0) {
        report(`${where}: ${label} does not run as a UID and GID of ${MIN_UID_GID} or more: ${problems.join("; ")}.`);
    }
}));

export const pinnedImageTags = kubePolicy({
    name: "pinned-image-tags",
    description: "Every container image is pinned by a version tag or a digest: no :latest and no untagged image.",
    remediationSteps: "Deploy images by an immutable version tag (imageTag in the stack config) or by digest.",
}, eachContainer(({ label, container }, _pod, where, report) => {
    const pin = imagePin(container.image);
    if (!pin.pinned) {
        report(`${where}: ${label} image ${JSON.stringify(container.image ?? "")} ${pin.reason}; pin a version tag or a digest.`);
    }
}));

/** Config of `image-digests`. */
export interface ImageDigestsConfig {
    /** Every image must carry a digest (`name[:tag]@sha256:…`). */
    requireDigest?: boolean;
}

export const imageDigests = kubePolicy({
    name: "image-digests",
    description: "Where the cluster profile requires it (images from a registry: ack), every container image is pinned by digest, " +
        "so a re-pushed tag cannot change what runs and every node runs the same build.",
    remediationSteps: "Set apiImageDigest and webImageDigest (the deploy workflow sets the digests of the images it built) and pin redisImage as <name>:<tag>@sha256:<digest>.",
    configSchema: {
        properties: {
            requireDigest: {
                type: "boolean",
                default: false,
                description: "Every image must be pinned by digest. On for the ack profile (registryRequired in ../settings/profiles.ts; a test keeps the two equal).",
            },
        },
    },
}, (args, t, report) => {
    if (args.getConfig<ImageDigestsConfig>().requireDigest !== true) {
        return;
    }
    eachContainer(({ label, container }, _pod, where, rep) => {
        const pin = imagePin(container.image);
        if (!pin.pinned || pin.by !== "digest") {
            rep(`${where}: ${label} image ${JSON.stringify(container.image ?? "")} is not pinned by digest; this cluster profile runs images by digest only (<name>:<tag>@sha256:<digest>).`);
        }
    })(args, t, report);
});

/** Config of `no-external-services`. */
export interface ExternalServicesConfig {
    /** Services allowed to be LoadBalancer or NodePort, as `name` or `namespace/name`. */
    allowedServices?: string[];
    /** Types allowed for every Service (e.g. NodePort on a bare-metal cluster). */
    allowedTypes?: string[];
}

export const noExternalServices = kubePolicy({
    name: "no-external-services",
    description: "No Service of type LoadBalancer or NodePort (traffic enters through the Gateway or the Ingress) unless the policy config allows it.",
    remediationSteps: "Use type ClusterIP behind the Gateway or the Ingress, or allow the Service in the policy config (allowedServices or allowedTypes).",
    configSchema: {
        properties: {
            allowedServices: {
                type: "array",
                items: { type: "string", minLength: 1 },
                default: [],
                description: "Services allowed to be LoadBalancer or NodePort, as `name` or `namespace/name`.",
            },
            allowedTypes: {
                type: "array",
                items: { type: "string", enum: [...EXTERNAL_SERVICE_TYPES] },
                default: [],
                description: "Service types allowed for every Service.",
            },
        },
    },
}, (args, t, report) => {
    if (t.group !== "" || t.kind !== "Service") {
        return;
    }
    const type = at(args.props, "spec", "type");
    if (!EXTERNAL_SERVICE_TYPES.includes(type)) {
        return;
    }
    const config = args.getConfig<ExternalServicesConfig>();
    if ((config.allowedTypes ?? []).includes(type)) {
        return;
    }
    const name = at(args.props, "metadata", "name") ?? args.name;
    for (const allowed of config.allowedServices ?? []) {
        // Only read the namespace when an entry names one: during a preview it may not be known yet.
        if (allowed === name || (allowed.includes("/") && allowed === `${at(args.props, "metadata", "namespace")}/${name}`)) {
            return;
        }
    }
    report(`${describe(t.kind, args.props, args.name)} is of type ${type}: expose it through the Gateway or the Ingress, ` +
        `or allow it in the policy config (no-external-services.allowedServices or allowedTypes).`);
});

/** Config of `allowed-storage-classes`. */
export interface StorageClassesConfig {
    /** StorageClasses a PersistentVolumeClaim may use. */
    allowedStorageClasses?: string[];
}

export const allowedStorageClasses = kubePolicy({
    name: "allowed-storage-classes",
    description: "Every PersistentVolumeClaim and StatefulSet volumeClaimTemplate names a StorageClass the cluster profile allows.",
    remediationSteps: "Set storageClassName to one of the profile's classes (redisStorageClass in the stack config), or extend allowedStorageClasses in the policy config.",
    configSchema: {
        properties: {
            allowedStorageClasses: {
                type: "array",
                items: { type: "string", minLength: 1 },
                minItems: 1,
                default: [...DEFAULT_ALLOWED_STORAGE_CLASSES],
                description: "StorageClasses a PersistentVolumeClaim may use. Default: every class of every cluster profile.",
            },
        },
    },
}, (args, t, report) => {
    const claims: { label: string; spec: Obj }[] = [];
    if (t.group === "" && t.kind === "PersistentVolumeClaim") {
        claims.push({ label: "", spec: args.props.spec ?? {} });
    } else if (t.group === "apps" && t.kind === "StatefulSet") {
        for (const vct of (at(args.props, "spec", "volumeClaimTemplates") ?? []) as Obj[]) {
            claims.push({ label: ` volumeClaimTemplate "${at(vct, "metadata", "name")}"`, spec: vct.spec ?? {} });
        }
    }
    if (claims.length === 0) {
        return;
    }
    const allowed = args.getConfig<StorageClassesConfig>().allowedStorageClasses ?? DEFAULT_ALLOWED_STORAGE_CLASSES;
    const where = describe(t.kind, args.props, args.name);
    for (const { label, spec } of claims) {
        const cls = spec.storageClassName;
        if (typeof cls !== "string" || cls === "") {
            report(`${where}${label} names no storageClassName (the cluster default may not be allowed); allowed: ${allowed.join(", ")}.`);
        } else if (!allowed.includes(cls)) {
            report(`${where}${label} uses storage class "${cls}", which the cluster profile does not allow; allowed: ${allowed.join(", ")}.`);
        }
    }
});

export const noSecretsInConfigMaps = kubePolicy({
    name: "no-secrets-in-configmaps",
    description: "No credential in a ConfigMap: no key named like password/secret/token/key with a value, " +
        "no requirepass/masterauth, no `password = …` assignment, no private key, no URL with a password.",
    remediationSteps: "Keep the value in a Secret and mount it (or reference it with secretKeyRef); the ConfigMap may `include` the mounted file.",
}, (args, t, report) => {
    if (t.group !== "" || t.kind !== "ConfigMap") {
        return;
    }
    const where = describe(t.kind, args.props, args.name);
    const entries: [string, unknown][] = [
        ...Object.entries((args.props.data ?? {}) as Obj),
        ...Object.entries((args.props.binaryData ?? {}) as Obj).map(([k, v]): [string, unknown] =>
            [k, typeof v === "string" ? Buffer.from(v, "base64").toString("utf8") : v]),
    ];
    for (const [key, value] of entries) {
        const why = credentialIn(key, value);
        if (why) {
            report(`${where}: key "${key}" looks like a credential (${why}); keep credentials in a Secret.`);
        }
    }
});

export const noSecretsInEnv = kubePolicy({
    name: "no-secrets-in-env",
    description: "No container gets a Secret through its environment (env valueFrom.secretKeyRef, envFrom secretRef): " +
        "environment variables leak through /proc, crash dumps and describe-style tooling.",
    remediationSteps: "Mount the Secret as a read-only volume (items: the keys needed, defaultMode 0440 with the pod's fsGroup) and point the program at the file (e.g. REDIS_PASSWORD_FILE).",
}, eachContainer(({ label, container }, _pod, where, report) => {
    const fromEnv = ((container.env ?? []) as Obj[])
        .filter(e => at(e, "valueFrom", "secretKeyRef") !== undefined)
        .map(e => `env ${e.name} (Secret "${at(e, "valueFrom", "secretKeyRef", "name")}")`);
    const fromEnvFrom = ((container.envFrom ?? []) as Obj[])
        .filter(e => e.secretRef !== undefined)
        .map(e => `envFrom Secret "${at(e, "secretRef", "name")}"`);
    const found = [...fromEnv, ...fromEnvFrom];
    if (found.length > 0) {
        report(`${where}: ${label} gets a Secret through its environment: ${found.join(", ")}; mount the Secret read-only as a file instead.`);
    }
}));

export const ingressClass = kubePolicy({
    name: "ingress-class",
    description: "Every Ingress names its ingress class in spec.ingressClassName.",
    remediationSteps: "Set spec.ingressClassName (PublicIngress's ingressClassName); the kubernetes.io/ingress.class annotation is deprecated.",
}, (args, t, report) => {
    if (t.kind !== "Ingress") {
        return;
    }
    const cls = at(args.props, "spec", "ingressClassName");
    if (typeof cls !== "string" || cls === "") {
        report(`${describe(t.kind, args.props, args.name)} has no spec.ingressClassName; name the ingress class ` +
            `(the kubernetes.io/ingress.class annotation is deprecated).`);
    }
});

/** A value read in a policy: UNKNOWN when it is not known yet (during a preview). */
const UNKNOWN = Symbol("unknown");

function known(read: () => unknown): unknown {
    try {
        return read();
    } catch (e) {
        if (e instanceof UnknownValueError || (e as Error)?.constructor?.name === "UnknownValueError") {
            return UNKNOWN;
        }
        throw e;
    }
}

/** Whether a field manager named like Pulumi's Kubernetes provider owns spec.replicas of a live object. */
function pulumiOwnsReplicas(managedFields: unknown): boolean {
    return Array.isArray(managedFields) && managedFields.some((m: Obj) =>
        typeof m?.manager === "string" && m.manager.startsWith("pulumi") && at(m, "fieldsV1", "f:spec", "f:replicas") !== undefined);
}

export const httpRouteScope = kubePolicy({
    name: "httproute-scope",
    description: "Every Gateway API HTTPRoute attaches to a named Gateway (spec.parentRefs) and names the exact hosts it serves " +
        "(spec.hostnames, no wildcard): a route without hostnames takes every host of a shared Gateway.",
    remediationSteps: "Build routes with GatewayRoute (components/gatewayRoute.ts), which sets parentRefs and hostnames from the stack's gateway and host settings.",
}, (args, t, report) => {
    if (t.group !== "gateway.networking.k8s.io" || t.kind !== "HTTPRoute") {
        return;
    }
    const where = describe(t.kind, args.props, args.name);
    const parents = known(() => at(args.props, "spec", "parentRefs"));
    if (parents !== UNKNOWN && (!Array.isArray(parents) || parents.length === 0 || parents.some((p: Obj) => typeof p?.name !== "string" || p.name === ""))) {
        report(`${where} names no parent Gateway in spec.parentRefs; attach it to the stack's Gateway.`);
    }
    const hostnames = known(() => at(args.props, "spec", "hostnames"));
    if (hostnames === UNKNOWN) {
        return;
    }
    if (!Array.isArray(hostnames) || hostnames.length === 0) {
        report(`${where} has no spec.hostnames, so it takes every host of its Gateway; name the host it serves.`);
    } else if (hostnames.some(h => typeof h === "string" && h.includes("*"))) {
        report(`${where} has a wildcard hostname (${hostnames.filter(h => typeof h === "string" && h.includes("*")).join(", ")}); name the exact host it serves.`);
    }
});

export const hpaDeploymentWithoutReplicas: StackValidationPolicy = {
    name: "hpa-deployment-without-replicas",
    description: "A Deployment scaled by a HorizontalPodAutoscaler has no spec.replicas, so an update never fights the autoscaler.",
    remediationSteps: "Leave replicas unset when autoscaling is on (components/scaling.ts replicasField does that).",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const byKind = (kind: string) => args.resources.filter(r => kubeType(r.type)?.kind === kind);
        const deployments = byKind("Deployment").filter(r => kubeType(r.type)?.group === "apps");
        for (const hpa of byKind("HorizontalPodAutoscaler")) {
            const ref = known(() => {
                const r = hpa.props.spec?.scaleTargetRef;
                return r ? { kind: r.kind, name: r.name, apiVersion: r.apiVersion } : undefined;
            }) as Obj | undefined | typeof UNKNOWN;
            if (ref === UNKNOWN || ref === undefined || ref.kind !== "Deployment") {
                continue;
            }
            const hpaNamespace = known(() => hpa.props.metadata?.namespace);
            const targets = deployments.filter((d: PolicyResource) => {
                if (known(() => d.props.metadata?.name) !== ref.name) {
                    return false;
                }
                const ns = known(() => d.props.metadata?.namespace);
                // Compare namespaces only when both are known (a new namespace's name is unknown in a preview).
                return ns === UNKNOWN || hpaNamespace === UNKNOWN || (ns ?? "default") === (hpaNamespace ?? "default");
            });
            for (const d of targets) {
                const replicas = known(() => d.props.spec?.replicas);
                if (replicas === undefined || replicas === null || replicas === UNKNOWN) {
                    continue;
                }
                // A live Deployment always has spec.replicas (the autoscaler sets it); only a value Pulumi
                // applies is wrong. Planned objects (no managedFields yet) carry exactly what the program sets.
                const managedFields = known(() => d.props.metadata?.managedFields);
                if (managedFields === UNKNOWN || (Array.isArray(managedFields) && !pulumiOwnsReplicas(managedFields))) {
                    continue;
                }
                report(`${describe("Deployment", d.props, d.name)} sets spec.replicas = ${JSON.stringify(replicas)} but ` +
                    `${describe("HorizontalPodAutoscaler", hpa.props, hpa.name)} scales it; remove spec.replicas so updates do not fight the autoscaler.`, d.urn);
            }
        }
    },
};

/** Every policy of the pack, in the order they are reported. */
export const resourcePolicies: readonly ResourceValidationPolicy[] = [
    containerResources,
    containerProbes,
    restrictedSecurityContext,
    highUidGid,
    pinnedImageTags,
    imageDigests,
    noExternalServices,
    allowedStorageClasses,
    noSecretsInConfigMaps,
    noSecretsInEnv,
    ingressClass,
    httpRouteScope,
];

export const stackPolicies: readonly StackValidationPolicy[] = [hpaDeploymentWithoutReplicas];

export const policies = [...resourcePolicies, ...stackPolicies];
