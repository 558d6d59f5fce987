import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { standardLabels } from "./labels";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

export interface AccessControlArgs {
    /** Namespace of the ServiceAccounts, Roles and RoleBindings. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Workloads that get a ServiceAccount each (named like the workload, token automount off). Default: none. */
    readonly workloads?: string[];
    /** Groups bound to the `viewer` Role (read the app, never Secrets). Default: none (no binding). */
    readonly viewerGroups?: string[];
    /** Groups bound to the `deployer` Role (run `pulumi up` of the app: the rules of `deployerRules`). Default: none. */
    readonly deployerGroups?: string[];
    /** Groups bound to the `network-admin` Role (NetworkPolicies and ReferenceGrants). Default: none. */
    readonly networkAdminGroups?: string[];
    /**
     * ServiceAccount the deploy workflow runs `pulumi up` as: created without token automount, bound to
     * `deployer` and allowed to read this Namespace. Default: none.
     */
    readonly deployServiceAccount?: string;
    /**
     * Names of the Secrets the program itself creates in the namespace: the only Secrets `deployer` may
     * create, get, update, patch and delete (never list or watch, never another Secret). Default: none.
     */
    readonly managedSecrets?: string[];
    /**
     * VolumeSnapshotClasses (cluster-scoped) the program reads or owns, e.g. the class a `RedisBackup` uses:
     * whoever runs `pulumi up` may `get` them (a preview reads them; the platform owner creates them). Default: none.
     */
    readonly snapshotClasses?: string[];
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

const READ = ["get", "list", "watch"];
const CHANGE = ["create", "update", "patch", "delete"];

/** Kinds of the app that everyone with access may read: never Secrets. */
const APP_KINDS: readonly [string, readonly string[]][] = [
    ["", ["pods", "pods/log", "events", "services", "endpoints", "configmaps", "persistentvolumeclaims", "serviceaccounts", "resourcequotas", "limitranges"]],
    ["apps", ["deployments", "deployments/scale", "replicasets", "statefulsets", "statefulsets/scale"]],
    ["autoscaling", ["horizontalpodautoscalers"]],
    ["policy", ["poddisruptionbudgets"]],
    ["batch", ["cronjobs", "jobs"]],
    ["snapshot.storage.k8s.io", ["volumesnapshots"]],
    ["networking.k8s.io", ["ingresses", "networkpolicies"]],
    ["gateway.networking.k8s.io", ["gateways", "httproutes", "referencegrants"]],
    ["discovery.k8s.io", ["endpointslices"]],
    ["events.k8s.io", ["events"]],
    ["rbac.authorization.k8s.io", ["roles", "rolebindings"]],
    ["monitoring.coreos.com", ["podmonitors"]],
];

/** `viewer`: read the app's workloads, pods, logs, events, routing, policies and RBAC; never Secrets, no exec or port-forward. */
export function viewerRules(): PolicyRule[] {
    return APP_KINDS.map(([group, resources]) => ({ apiGroups: [group], resources: [...resources], verbs: READ }));
}

/**
 * `deployer`: what `pulumi up` of the app needs in its namespace, and no more.
 * It reads what the viewer reads (the provider waits on pods, ReplicaSets,
 * endpoints and events, and a refresh reads every object); it creates,
 * changes and deletes the app's own kinds and scales them; it reaches
 * Secrets only by name, the program's own (`managedSecrets`): server-side
 * apply creates an object with a PATCH that the API server authorizes as
 * `create` of that name, so `resourceNames` holds for creation too. It never
 * writes NetworkPolicies, ReferenceGrants (`network-admin`), the quota, the
 * LimitRange or RBAC (the platform owner), and cannot mint tokens
 * (`serviceaccounts/token`), exec into pods or port-forward.
 */
export function deployerRules(managedSecrets: readonly pulumi.Input<string>[] = []): PolicyRule[] {
    return [
        ...viewerRules(),
        { apiGroups: [""], resources: ["services", "configmaps", "serviceaccounts"], verbs: CHANGE },
        ...(managedSecrets.length > 0
            ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: [...managedSecrets], verbs: ["get", ...CHANGE] }]
            : []),
        { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: CHANGE },
        { apiGroups: ["apps"], resources: ["deployments/scale", "statefulsets/scale"], verbs: ["update", "patch"] },
        { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: CHANGE },
        { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: CHANGE },
        // The Redis backup CronJob, and its Jobs: `kubectl create job --from=cronjob/redis-backup` backs up on demand.
        { apiGroups: ["batch"], resources: ["cronjobs", "jobs"], verbs: CHANGE },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: CHANGE },
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "httproutes"], verbs: CHANGE },
        // The API's PodMonitor (metricsDiscovery podMonitor): where a Prometheus finds the pods, not who may reach them.
        { apiGroups: ["monitoring.coreos.com"], resources: ["podmonitors"], verbs: CHANGE },
    ];
}

/**
 * `network-admin`: the objects that decide who may talk to the app and what
 * other namespaces may reference: NetworkPolicies (deleting the default deny
 * opens the namespace) and ReferenceGrants. Nothing else.
 */
export function networkAdminRules(): PolicyRule[] {
    return [
        { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: [...READ, ...CHANGE] },
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["referencegrants"], verbs: [...READ, ...CHANGE] },
    ];
}

/**
 * `get` of one Namespace, of this ClusterRole and its binding (named
 * `clusterName`), and of the VolumeSnapshotClasses named: a `pulumi refresh`
 * reads every cluster-scoped object the program owns or reads.
 */
export function namespaceReaderRules(namespace: pulumi.Input<string>, clusterName: pulumi.Input<string>, snapshotClasses: readonly string[] = []): PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["namespaces"], resourceNames: [namespace], verbs: ["get"] },
        { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles", "clusterrolebindings"], resourceNames: [clusterName], verbs: ["get"] },
        ...(snapshotClasses.length > 0
            ? [{ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshotclasses"], resourceNames: [...snapshotClasses], verbs: ["get"] }]
            : []),
    ];
}

type Subject = k8s.types.input.rbac.v1.Subject;

function groupSubjects(groups: readonly string[]): Subject[] {
    return groups.map(name => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name }));
}

/**
 * RBAC for the app: one ServiceAccount per workload without API token
 * automount; namespace Roles `viewer`, `deployer` and `network-admin` bound to
 * configured groups; and, for the deploy workflow, a ServiceAccount bound to
 * `deployer` plus a ClusterRole that reads this one Namespace.
 */
export class AccessControl extends pulumi.ComponentResource {
    /** ServiceAccount name per workload name. */
    public readonly serviceAccountNames: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: AccessControlArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("AccessControl"), name, {}, componentOptions("AccessControl", opts));
        const instance = args.instance ?? pulumi.getStack();
        const env = args.env ?? instance;
        const ns = args.namespace;
        const labelsFor = (component: string) => standardLabels({ name, component, instance, env, tier: "platform" });
        const serviceAccount = (accountName: string, resourceName: string) => new k8s.core.v1.ServiceAccount(resourceName, {
            metadata: { name: accountName, namespace: ns, labels: labelsFor("service-account") },
            automountServiceAccountToken: false,
        }, { parent: this }).metadata.name;

        this.serviceAccountNames = {};
        for (const workload of args.workloads ?? []) {
            this.serviceAccountNames[workload] = serviceAccount(workload, `${name}-${workload}`);
        }
        const deployAccount: Subject[] = args.deployServiceAccount === undefined
            ? []
            : [{ kind: "ServiceAccount", name: serviceAccount(args.deployServiceAccount, `${name}-${args.deployServiceAccount}`), namespace: ns }];
        const deployers = [...groupSubjects(args.deployerGroups ?? []), ...deployAccount];

        const roles: [string, PolicyRule[], Subject[]][] = [
            ["viewer", viewerRules(), groupSubjects(args.viewerGroups ?? [])],
            ["deployer", deployerRules(args.managedSecrets ?? []), deployers],
            ["network-admin", networkAdminRules(), groupSubjects(args.networkAdminGroups ?? [])],
        ];
        for (const [roleName, rules, subjects] of roles) {
            const role = new k8s.rbac.v1.Role(`${name}-${roleName}`, {
                metadata: { name: roleName, namespace: ns, labels: labelsFor("rbac") },
                rules,
            }, { parent: this });
            if (subjects.length > 0) {
                new k8s.rbac.v1.RoleBinding(`${name}-${roleName}`, {
                    metadata: { name: roleName, namespace: ns, labels: labelsFor("rbac") },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects,
                }, { parent: this });
            }
        }

        // Namespaces are cluster-scoped: whoever runs `pulumi up` must be able to read this one (and only this one).
        if (deployers.length > 0) {
            const clusterName = pulumi.interpolate`${ns}-namespace-reader`;
            const reader = new k8s.rbac.v1.ClusterRole(`${name}-namespace-reader`, {
                metadata: { name: clusterName, labels: labelsFor("rbac") },
                rules: namespaceReaderRules(ns, clusterName, args.snapshotClasses),
            }, { parent: this });
            new k8s.rbac.v1.ClusterRoleBinding(`${name}-namespace-reader`, {
                metadata: { name: clusterName, labels: labelsFor("rbac") },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: reader.metadata.name },
                subjects: deployers,
            }, { parent: this });
        }
        this.registerOutputs({ serviceAccountNames: this.serviceAccountNames });
    }
}
