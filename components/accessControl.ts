import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType } from "./typeToken";
import { standardLabels } from "./labels";

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

export interface AccessControlArgs {
    /** Namespace of the ServiceAccounts, Roles and RoleBindings. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Workloads that get a ServiceAccount each (named like the workload, token automount off). Default: none. */
    readonly workloads?: string[];
    /** Groups bound to the `viewer` Role. Default: none (no binding). */
    readonly viewerGroups?: string[];
    /** Groups bound to the `deployer` Role. Default: none (no binding). */
    readonly deployerGroups?: string[];
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

const READ = ["get", "list", "watch"];
const WRITE = [...READ, "create", "update", "patch", "delete"];

/** `viewer`: read the app's workloads, pods, their logs and events; never Secrets. */
export function viewerRules(): PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["pods", "pods/log", "events", "services", "endpoints", "configmaps", "persistentvolumeclaims", "serviceaccounts"], verbs: READ },
        { apiGroups: ["apps"], resources: ["deployments", "replicasets", "statefulsets"], verbs: READ },
        { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: READ },
        { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: READ },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: READ },
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "httproutes", "referencegrants"], verbs: READ },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: READ },
    ];
}

/**
 * `deployer`: manage the kinds this app is made of, in this namespace only.
 * No RBAC kinds, so the Role cannot grant itself more.
 */
export function deployerRules(): PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["services", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims"], verbs: WRITE },
        { apiGroups: [""], resources: ["pods", "pods/log", "events", "endpoints"], verbs: READ },
        { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: WRITE },
        { apiGroups: ["apps"], resources: ["replicasets"], verbs: READ },
        { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: WRITE },
        { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: WRITE },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: WRITE },
        // The stack's routing through the Gateway API (GatewayRoute): its Gateway, HTTPRoute and ReferenceGrants.
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways", "httproutes", "referencegrants"], verbs: WRITE },
    ];
}

/**
 * RBAC for the app: one ServiceAccount per workload without API token
 * automount, and namespace Roles `viewer` and `deployer` bound to groups.
 */
export class AccessControl extends pulumi.ComponentResource {
    /** ServiceAccount name per workload name. */
    public readonly serviceAccountNames: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: AccessControlArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("AccessControl"), name, {}, opts);
        const instance = args.instance ?? pulumi.getStack();
        const env = args.env ?? instance;
        const ns = args.namespace;
        const labelsFor = (component: string) => standardLabels({ name, component, instance, env, tier: "platform" });

        this.serviceAccountNames = {};
        for (const workload of args.workloads ?? []) {
            this.serviceAccountNames[workload] = new k8s.core.v1.ServiceAccount(`${name}-${workload}`, {
                metadata: { name: workload, namespace: ns, labels: labelsFor("service-account") },
                automountServiceAccountToken: false,
            }, { parent: this }).metadata.name;
        }

        const roles: [string, PolicyRule[], readonly string[]][] = [
            ["viewer", viewerRules(), args.viewerGroups ?? []],
            ["deployer", deployerRules(), args.deployerGroups ?? []],
        ];
        for (const [roleName, rules, groups] of roles) {
            const role = new k8s.rbac.v1.Role(`${name}-${roleName}`, {
                metadata: { name: roleName, namespace: ns, labels: labelsFor("rbac") },
                rules,
            }, { parent: this });
            if (groups.length > 0) {
                new k8s.rbac.v1.RoleBinding(`${name}-${roleName}`, {
                    metadata: { name: roleName, namespace: ns, labels: labelsFor("rbac") },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects: groups.map(group => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group })),
                }, { parent: this });
            }
        }
        this.registerOutputs({ serviceAccountNames: this.serviceAccountNames });
    }
}
