/**
 * A small RBAC authorizer (rbac.authorization.k8s.io/v1 semantics) over
 * rendered Roles, ClusterRoles and their bindings, to assert who can do what,
 * the way `kubectl auth can-i --as USER --as-group GROUP` asks the API server.
 */
import { KObj } from "./harness";

/** Who asks: a user name (a ServiceAccount is `system:serviceaccount:<ns>:<name>`) and groups. */
export interface Identity {
    readonly user: string;
    readonly groups: readonly string[];
}

/** What is asked: a verb on a resource (optionally a subresource and one object's name) in a namespace. */
export interface Request {
    readonly verb: string;
    /** API group; "" is the core group. */
    readonly group: string;
    /** Plural resource, e.g. `deployments`. */
    readonly resource: string;
    readonly subresource?: string;
    /** Namespace; undefined for cluster-scoped resources. */
    readonly namespace?: string;
    /** One object's name; undefined for list/watch/create-without-name. */
    readonly name?: string;
}

function subjectMatches(subject: KObj, who: Identity, bindingNamespace: string | undefined): boolean {
    switch (subject.kind) {
        case "User":
            return subject.name === who.user;
        case "Group":
            return who.groups.includes(subject.name);
        case "ServiceAccount":
            return who.user === `system:serviceaccount:${subject.namespace ?? bindingNamespace}:${subject.name}`;
    }
    return false;
}

function ruleAllows(rule: KObj, req: Request): boolean {
    const has = (list: string[] | undefined, v: string) => (list ?? []).includes(v) || (list ?? []).includes("*");
    const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
    const names: string[] = rule.resourceNames ?? [];
    return has(rule.apiGroups, req.group)
        && has(rule.resources, resource)
        && has(rule.verbs, req.verb)
        && (names.length === 0 || (req.name !== undefined && names.includes(req.name)));
}

/** Whether the RBAC objects among `objects` allow `who` to make `req`. */
export function can(objects: readonly KObj[], who: Identity, req: Request): boolean {
    const rulesOf = (kind: "Role" | "ClusterRole", name: string, namespace?: string): KObj[] =>
        objects.filter(o => o.kind === kind && o.metadata.name === name && (kind === "ClusterRole" || o.metadata.namespace === namespace))
            .flatMap(o => (o.rules ?? []) as KObj[]);
    for (const b of objects) {
        if (b.kind !== "RoleBinding" && b.kind !== "ClusterRoleBinding") {
            continue;
        }
        const namespace: string | undefined = b.metadata.namespace;
        if (b.kind === "RoleBinding" && namespace !== req.namespace) {
            continue;
        }
        if (!((b.subjects ?? []) as KObj[]).some(s => subjectMatches(s, who, namespace))) {
            continue;
        }
        const rules = rulesOf(b.roleRef.kind, b.roleRef.name, namespace);
        if (rules.some(r => ruleAllows(r, req))) {
            return true;
        }
    }
    return false;
}

/** The plural resource of a kind, as RBAC names it (`NetworkPolicy` → `networkpolicies`, `Ingress` → `ingresses`). */
export function resourceOf(kind: string): string {
    const lower = kind.toLowerCase();
    if (/[^aeiou]y$/.test(lower)) {
        return `${lower.slice(0, -1)}ies`;
    }
    return lower.endsWith("s") ? `${lower}es` : `${lower}s`;
}

/** The API group of an object's apiVersion (`apps/v1` → `apps`, `v1` → ""). */
export function groupOf(apiVersion: string): string {
    return apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
}
