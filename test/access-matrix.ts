/**
 * Who can do what in a stack's namespace: the access decisions of
 * docs/access-control.md, as data. The mocha tests evaluate them against the
 * rendered Roles and bindings (test/rbac.ts); scripts/rbac-checks.ts prints
 * them as `kubectl auth can-i` commands for a real API server.
 */
import { Identity, Request } from "./rbac";

/** One question and its designed answer. */
export interface Check {
    /** Short name of the identity (`viewer`, `deploy workflow`, …). */
    readonly who: string;
    readonly as: Identity;
    readonly req: Request;
    readonly allowed: boolean;
}

/** The identities a stack binds by default (see the stack files). */
export function identities(stack: string): Record<string, Identity> {
    return {
        viewer: { user: "vera", groups: [`sample-app:${stack}:viewers`] },
        deployer: { user: "dora", groups: [`sample-app:${stack}:deployers`] },
        "deploy workflow": { user: `system:serviceaccount:sample-app-${stack}:sample-app-deploy`, groups: [] },
        "network admin": { user: "nina", groups: [`sample-app:${stack}:network-admins`] },
        stranger: { user: "sam", groups: ["sample-app:other:viewers"] },
    };
}

/** [verb, group, resource, subresource?, name?] in the stack's namespace ("@ns" stands for the namespace's name; namespaces and cluster* resources are cluster-scoped). */
type Ask = readonly [string, string, string, string?, string?];

const ASKS: Readonly<Record<string, Ask>> = {
    "list pods": ["list", "", "pods"],
    "get pods/log": ["get", "", "pods", "log"],
    "create pods/exec": ["create", "", "pods", "exec"],
    "create pods/portforward": ["create", "", "pods", "portforward"],
    "list deployments": ["list", "apps", "deployments"],
    "patch deployments": ["patch", "apps", "deployments", undefined, "user-api"],
    "create deployments": ["create", "apps", "deployments", undefined, "user-api"],
    "delete deployments": ["delete", "apps", "deployments", undefined, "user-api"],
    "patch deployments/scale": ["patch", "apps", "deployments", "scale", "user-api"],
    "update statefulsets/scale": ["update", "apps", "statefulsets", "scale", "redis"],
    "patch configmaps": ["patch", "", "configmaps", undefined, "frontend-nginx"],
    "list secrets": ["list", "", "secrets"],
    "watch secrets": ["watch", "", "secrets"],
    "get secrets/redis-auth": ["get", "", "secrets", undefined, "redis-auth"],
    "create secrets/redis-auth": ["create", "", "secrets", undefined, "redis-auth"],
    "patch secrets/redis-auth": ["patch", "", "secrets", undefined, "redis-auth"],
    "delete secrets/redis-auth": ["delete", "", "secrets", undefined, "redis-auth"],
    "get secrets/sample-app-tls": ["get", "", "secrets", undefined, "sample-app-tls"],
    "create secrets/other": ["create", "", "secrets", undefined, "other"],
    "create serviceaccounts/token": ["create", "", "serviceaccounts", "token", "sample-app-deploy"],
    "patch httproutes": ["patch", "gateway.networking.k8s.io", "httproutes", undefined, "sample-app"],
    "patch ingresses": ["patch", "networking.k8s.io", "ingresses", undefined, "sample-app"],
    "list networkpolicies": ["list", "networking.k8s.io", "networkpolicies"],
    "delete networkpolicies": ["delete", "networking.k8s.io", "networkpolicies", undefined, "sample-app-default-deny"],
    "patch networkpolicies": ["patch", "networking.k8s.io", "networkpolicies", undefined, "sample-app-default-deny"],
    "create referencegrants": ["create", "gateway.networking.k8s.io", "referencegrants", undefined, "sample-app-backend"],
    "patch resourcequotas": ["patch", "", "resourcequotas", undefined, "sample-app-quota"],
    "delete limitranges": ["delete", "", "limitranges", undefined, "sample-app-limits"],
    "create roles": ["create", "rbac.authorization.k8s.io", "roles", undefined, "admin"],
    "patch rolebindings": ["patch", "rbac.authorization.k8s.io", "rolebindings", undefined, "deployer"],
    "get namespace": ["get", "", "namespaces", undefined, "@ns"],
    "delete namespace": ["delete", "", "namespaces", undefined, "@ns"],
    "get other namespace": ["get", "", "namespaces", undefined, "kube-system"],
    "get own clusterrole": ["get", "rbac.authorization.k8s.io", "clusterroles", undefined, "@ns-namespace-reader"],
    "get other clusterrole": ["get", "rbac.authorization.k8s.io", "clusterroles", undefined, "cluster-admin"],
};

/** Designed answers: for each identity, the asks it may make; every other ask in ASKS is denied. */
function allowedAsks(stack: string): Record<string, readonly string[]> {
    const read = ["list pods", "get pods/log", "list deployments", "list networkpolicies"];
    // gray and prod: people deploy only through the workflow, so no group holds deployer there.
    const peopleDeploy = stack === "dev" || stack === "test";
    const deploy = [
        ...read, "patch deployments", "create deployments", "delete deployments", "patch deployments/scale", "update statefulsets/scale",
        "patch configmaps", "get secrets/redis-auth", "create secrets/redis-auth", "patch secrets/redis-auth", "delete secrets/redis-auth",
        "patch httproutes", "patch ingresses", "get namespace", "get own clusterrole",
    ];
    return {
        viewer: read,
        deployer: peopleDeploy ? deploy : [],
        "deploy workflow": deploy,
        "network admin": ["list networkpolicies", "delete networkpolicies", "patch networkpolicies", "create referencegrants"],
        stranger: [],
    };
}

/** Every check of a stack: each identity against each ask, with the designed answer. */
export function accessMatrix(stack: string): Check[] {
    const namespace = `sample-app-${stack}`;
    const who = identities(stack);
    const allowed = allowedAsks(stack);
    return Object.entries(who).flatMap(([name, as]) => Object.entries(ASKS).map(([ask, [verb, group, resource, subresource, objectName]]) => {
        const clusterScoped = resource === "namespaces" || resource.startsWith("cluster");
        const req: Request = {
            verb, group, resource, subresource,
            namespace: clusterScoped ? undefined : namespace,
            name: objectName?.replace(/^@ns/, namespace),
        };
        return { who: name, as, req, allowed: allowed[name].includes(ask) };
    }));
}

/** The `kubectl auth can-i` command that asks a real API server the same question. */
export function kubectlCommand(c: Check): string {
    const r = c.req;
    const resource = `${r.resource}${r.group ? `.${r.group}` : ""}${r.name ? `/${r.name}` : ""}`;
    return [
        "kubectl auth can-i", r.verb, resource,
        ...(r.subresource ? [`--subresource=${r.subresource}`] : []),
        ...(r.namespace ? [`-n ${r.namespace}`] : []),
        `--as=${c.as.user}`,
        ...c.as.groups.map(g => `--as-group=${g}`),
    ].join(" ");
}
