import * as assert from "assert";
import { CLUSTER_SCOPED, KObj, ROUTINGS, STACKS, StackRun } from "./harness";
import { accessMatrix, identities, kubectlCommand } from "./access-matrix";
import { can, groupOf, resourceOf } from "./rbac";
import { stackRun } from "./runs";

/** Kinds only the platform owner changes: the deploy identity may read them (for a refresh), never write. */
const PLATFORM_KINDS = ["Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "VolumeSnapshotClass"];
/** Kinds of network-admin: who may talk to the app, what other namespaces may reference. */
const NETWORK_KINDS = ["NetworkPolicy", "ReferenceGrant"];

for (const stack of STACKS) {
    describe(`who can do what in the ${stack} stack`, () => {
        let run: StackRun;
        before(async () => { run = await stackRun(stack); });

        it("answers every question of the access matrix as designed", () => {
            const wrong = accessMatrix(stack)
                .filter(c => can(run.objects, c.as, c.req) !== c.allowed)
                .map(c => `${c.who} ${c.allowed ? "cannot" : "can"}: ${kubectlCommand(c)}`);
            assert.deepStrictEqual(wrong, []);
        });

        it("lets the deploy workflow create, change and delete every object it registers (both routing modes), except the platform's and network-admin's, which it may only read", async () => {
            const workflow = identities(stack)["deploy workflow"];
            const problems: string[] = [];
            const objects: KObj[] = [];
            for (const mode of ROUTINGS) { // one at a time: the Pulumi mocks are global
                objects.push(...(await stackRun(stack, mode)).objects);
            }
            assert.ok(objects.some(o => o.kind === "HTTPRoute") && objects.some(o => o.kind === "Ingress"));
            for (const o of objects) {
                const clusterScoped = CLUSTER_SCOPED.includes(o.kind);
                const base = { group: groupOf(o.apiVersion), resource: resourceOf(o.kind), namespace: clusterScoped ? undefined : o.metadata.namespace, name: o.metadata.name };
                const readOnly = PLATFORM_KINDS.includes(o.kind) || NETWORK_KINDS.includes(o.kind);
                if (!can(run.objects, workflow, { ...base, verb: "get" })) {
                    problems.push(`cannot get ${o.kind} ${o.metadata.name} (a refresh reads it)`);
                }
                for (const verb of ["create", "patch", "delete"]) {
                    if (can(run.objects, workflow, { ...base, verb }) === readOnly) {
                        problems.push(`${readOnly ? "can" : "cannot"} ${verb} ${o.kind} ${o.metadata.name}`);
                    }
                }
            }
            assert.deepStrictEqual(problems, []);
        });

        it("names every Secret the program creates, and only those, in the deployer's Secret rule", () => {
            const secrets = run.objects.filter(o => o.kind === "Secret").map(o => o.metadata.name).sort();
            assert.ok(secrets.length > 0);
            const deployer = run.objects.find(o => o.kind === "Role" && o.metadata.name === "deployer")!;
            const secretRules = (deployer.rules as KObj[]).filter(r => r.resources.includes("secrets"));
            assert.deepStrictEqual(secretRules.map(r => [...r.resourceNames].sort()), [secrets], "one rule, by name");
        });

        it("lets network-admin write NetworkPolicies and ReferenceGrants and nothing else", () => {
            const role = run.objects.find(o => o.kind === "Role" && o.metadata.name === "network-admin")!;
            assert.deepStrictEqual((role.rules as KObj[]).flatMap(r => r.resources).sort(), ["networkpolicies", "referencegrants"]);
        });
    });
}

describe("the RBAC evaluator the access tests rely on", () => {
    const role = (name: string, rules: KObj[]) => ({ kind: "Role", metadata: { name, namespace: "ns" }, rules });
    const binding = (name: string, subjects: KObj[]) => ({ kind: "RoleBinding", metadata: { name, namespace: "ns" }, roleRef: { kind: "Role", name }, subjects });
    const objects = [
        role("r", [{ apiGroups: [""], resources: ["secrets"], resourceNames: ["a"], verbs: ["get"] }, { apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["patch"] }]),
        binding("r", [{ kind: "Group", name: "g" }, { kind: "ServiceAccount", name: "sa" }]),
    ];
    const g = { user: "u", groups: ["g"] };

    it("honours groups, ServiceAccounts, resourceNames, subresources and namespaces", () => {
        assert.strictEqual(can(objects, g, { verb: "get", group: "", resource: "secrets", namespace: "ns", name: "a" }), true);
        assert.strictEqual(can(objects, g, { verb: "get", group: "", resource: "secrets", namespace: "ns", name: "b" }), false);
        assert.strictEqual(can(objects, g, { verb: "list", group: "", resource: "secrets", namespace: "ns" }), false);
        assert.strictEqual(can(objects, g, { verb: "get", group: "", resource: "secrets", namespace: "other", name: "a" }), false);
        assert.strictEqual(can(objects, { user: "system:serviceaccount:ns:sa", groups: [] }, { verb: "patch", group: "apps", resource: "deployments", subresource: "scale", namespace: "ns", name: "x" }), true);
        assert.strictEqual(can(objects, g, { verb: "patch", group: "apps", resource: "deployments", namespace: "ns", name: "x" }), false);
        assert.strictEqual(can(objects, { user: "u", groups: [] }, { verb: "get", group: "", resource: "secrets", namespace: "ns", name: "a" }), false);
    });

    it("names resources as RBAC does", () => {
        assert.deepStrictEqual(["NetworkPolicy", "Ingress", "HTTPRoute", "PodDisruptionBudget", "Deployment", "Gateway"].map(resourceOf),
            ["networkpolicies", "ingresses", "httproutes", "poddisruptionbudgets", "deployments", "gateways"]);
    });
});
