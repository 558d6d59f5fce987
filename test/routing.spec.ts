import * as assert from "assert";
import { KObj, one as oneNamed, PROD_OUTPUTS, routingOverrides, ROUTINGS, runStack, STACKS, StackRun } from "./harness";
import { attachedRoutes, conflicts, GatewayId, route, Shares, withinTolerance } from "./httproute";
import { stackRun } from "./runs";

const GW = "gateway.networking.k8s.io";
const PROD = `${PROD_OUTPUTS.namespace}/frontend`;
const GRAY = "sample-app-gray/frontend";
const SHARED: GatewayId = { namespace: "gateway-system", name: "public-alb" };
const HOST = PROD_OUTPUTS.host;
const CANARY = { "X-Canary": "always" };
/** Paths a browser and the UI's API calls hit. */
const PATHS = ["/", "/index.html", "/users/42", "/api/users", "/api/users/42", "/apiary"];

function gatewayObjects(run: StackRun): KObj[] {
    return run.objects.filter(o => String(o.apiVersion).startsWith(`${GW}/`));
}

function assertShares(actual: Shares, expected: Shares, what: string): void {
    assert.deepStrictEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${what}: ${JSON.stringify(actual)}`);
    for (const [k, v] of Object.entries(expected)) {
        assert.ok(Math.abs(actual[k] - v) < 1e-9, `${what}: ${k} gets ${actual[k]}, expected ${v}`);
    }
}

/** Hand-made objects for the evaluator's own tests. */
const svc = (ns: string, name: string): KObj => ({ apiVersion: "v1", kind: "Service", metadata: { namespace: ns, name }, spec: { ports: [{ port: 80 }] } });
const httpRoute = (ns: string, name: string, rules: KObj[]): KObj => ({
    apiVersion: `${GW}/v1`, kind: "HTTPRoute", metadata: { namespace: ns, name },
    spec: { parentRefs: [{ name: "gw", namespace: "infra" }], hostnames: ["a.example.com"], rules },
});
const prefix = (value: string, headers?: KObj[]): KObj => ({ path: { type: "PathPrefix", value }, ...(headers ? { headers } : {}) });
const INFRA: GatewayId = { namespace: "infra", name: "gw" };

describe("the HTTPRoute evaluator", () => {
    it("prefers more header matches on an equal path, and a longer path prefix over header matches", () => {
        const objects = [
            svc("a", "web"), svc("a", "canary"),
            httpRoute("a", "main", [{ matches: [prefix("/api"), prefix("/")], backendRefs: [{ name: "web", port: 80 }] }]),
            httpRoute("a", "header", [{ matches: [prefix("/", [{ type: "Exact", name: "X-Canary", value: "always" }])], backendRefs: [{ name: "canary", port: 80 }] }]),
        ];
        const at = (path: string, headers?: Record<string, string>) => route(objects, INFRA, { host: "a.example.com", path, headers });
        assert.deepStrictEqual(at("/"), { "a/web": 1 });
        assert.deepStrictEqual(at("/", { "x-canary": "always" }), { "a/canary": 1 }, "header names match case-insensitively");
        assert.deepStrictEqual(at("/", { "X-Canary": "never" }), { "a/web": 1 });
        // The trap a header-only route must avoid: "/api" is longer than "/", so it beats the header match.
        assert.deepStrictEqual(at("/api/users", CANARY), { "a/web": 1 });
        assert.deepStrictEqual(route(objects, INFRA, { host: "b.example.com", path: "/" }), { 404: 1 });
        assert.deepStrictEqual(conflicts(objects, INFRA), []);
    });

    it("judges an observed split by the binomial spread: 100 of 1000 at 10 % is in, 150 is out, an exact share has no spread", () => {
        assert.ok(withinTolerance(100, 1000, 0.1) && withinTolerance(70, 1000, 0.1));
        assert.ok(!withinTolerance(150, 1000, 0.1) && !withinTolerance(50, 1000, 0.1));
        assert.ok(withinTolerance(1000, 1000, 1) && !withinTolerance(999, 1000, 1));
    });

    it("splits by weight, answers 500 for a cross-namespace backend without a ReferenceGrant, and finds routes that fight", () => {
        const split = httpRoute("a", "main", [{ matches: [prefix("/")], backendRefs: [{ name: "web", port: 80, weight: 3 }, { name: "web", namespace: "b", port: 80, weight: 1 }] }]);
        const grant: KObj = {
            apiVersion: `${GW}/v1beta1`, kind: "ReferenceGrant", metadata: { namespace: "b", name: "g" },
            spec: { from: [{ group: GW, kind: "HTTPRoute", namespace: "a" }], to: [{ group: "", kind: "Service", name: "web" }] },
        };
        const req = { host: "a.example.com", path: "/x" };
        assert.deepStrictEqual(route([svc("a", "web"), svc("b", "web"), split, grant], INFRA, req), { "a/web": 0.75, "b/web": 0.25 });
        assert.deepStrictEqual(route([svc("a", "web"), svc("b", "web"), split], INFRA, req), { "a/web": 0.75, 500: 0.25 });
        assert.deepStrictEqual(route([svc("a", "web"), split, grant], INFRA, req), { "a/web": 0.75, 500: 0.25 }, "a missing Service");
        const rival = httpRoute("c", "rival", [{ matches: [prefix("/")], backendRefs: [{ name: "web", port: 80 }] }]);
        assert.deepStrictEqual(conflicts([split, rival], INFRA), ["a/main and c/rival both match a.example.com PathPrefix / [] "]);
    });
});

describe("routing through the Gateway API", () => {
    for (const stack of STACKS) {
        for (const mode of ROUTINGS) {
            it(`${stack} with routing ${mode} registers ${mode === "gateway" ? "HTTPRoutes and no Ingress" : "an Ingress and no Gateway API object"}`, async () => {
                const run = await stackRun(stack, mode);
                const ingresses = run.objects.filter(o => o.kind === "Ingress");
                const routes = run.objects.filter(o => o.kind === "HTTPRoute");
                assert.strictEqual(ingresses.length > 0, mode === "ingress");
                assert.strictEqual(routes.length, mode === "gateway" ? 1 : 0);
                if (mode === "ingress") {
                    assert.deepStrictEqual(gatewayObjects(run), []);
                }
                assert.match(String(run.outputs.publicUrl), /^https?:\/\/[a-z.-]+\/$/);
            });
        }
    }

    it("lets the deployer Role write, and the viewer Role read, every routing object of every stack in both modes; ReferenceGrants are network-admin's", async () => {
        const plural = (kind: string) => kind.toLowerCase().replace(/s$/, "se") + "s";
        for (const stack of STACKS) {
            for (const mode of ROUTINGS) {
                const run = await stackRun(stack, mode);
                const rules = (role: string) => run.objects.find(o => o.kind === "Role" && o.metadata.name === role)!.rules as KObj[];
                for (const o of run.objects.filter(x => ["Ingress", "Gateway", "HTTPRoute", "ReferenceGrant"].includes(x.kind))) {
                    const group = String(o.apiVersion).split("/")[0];
                    const can = (role: string, verb: string) => rules(role).some(r => r.apiGroups.includes(group) && r.resources.includes(plural(o.kind)) && r.verbs.includes(verb));
                    // A ReferenceGrant lets another namespace reference ours: a trust boundary, like a NetworkPolicy.
                    const writer = o.kind === "ReferenceGrant" ? "network-admin" : "deployer";
                    for (const verb of ["create", "update", "patch", "delete"]) {
                        assert.ok(can(writer, verb), `${stack}/${mode}: ${writer} cannot ${verb} ${o.kind}`);
                    }
                    assert.strictEqual(can("deployer", "create"), writer === "deployer", `${stack}/${mode}: deployer on ${o.kind}`);
                    assert.ok(can("deployer", "get") && can("viewer", "list") && !can("viewer", "create"), `${stack}/${mode}: viewer on ${o.kind}`);
                }
            }
        }
    });

    it("dev's own Gateway admits only dev's routes and sends every path of its host to the frontend", async () => {
        const run = await stackRun("dev", "gateway");
        const gw: GatewayId = { namespace: "sample-app-dev", name: "sample-app" };
        assert.deepStrictEqual(one(run, "Gateway").spec.listeners[0].allowedRoutes.namespaces, { from: "Same" });
        assert.strictEqual(attachedRoutes(run.objects, gw).length, 1);
        for (const path of PATHS) {
            assertShares(route(run.objects, gw, { host: "sample-app.dev.local", path }), { "sample-app-dev/frontend": 1 }, path);
        }
        assertShares(route(run.objects, gw, { host: "other.dev.local", path: "/" }), { 404: 1 }, "another host");
        // A route from another namespace is not admitted to dev's Gateway.
        const stray = { ...one(run, "HTTPRoute"), metadata: { namespace: "intruder", name: "steal" } };
        assert.strictEqual(attachedRoutes([...run.objects, stray], gw).length, 1);
    });

    it("test serves HTTPS too when it has a TLS Secret: its Gateway gets an HTTPS listener with it, on the configured ports", async () => {
        const run = await runStack("test", { tlsSecretName: "test-tls" });
        const listeners = one(run, "Gateway").spec.listeners as KObj[];
        assert.deepStrictEqual(listeners.map(l => [l.name, l.protocol, l.port]), [["http", "HTTP", 8000], ["https", "HTTPS", 8443]]);
        const ported = await runStack("test", { gatewayHttpPort: 80, gatewayHttpsPort: 443, tlsSecretName: "test-tls" });
        assert.deepStrictEqual((one(ported, "Gateway").spec.listeners as KObj[]).map(l => l.port), [80, 443]);
        assert.deepStrictEqual(listeners[1].tls, { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: "test-tls" }] });
        assert.strictEqual(run.outputs.publicUrl, "https://sample-app.test.local/");
    });

    describe("gray's canary on prod's host", () => {
        let prod: StackRun;
        let gray: StackRun;
        let prodAlone: StackRun;
        before(async () => {
            prod = await runStack("prod", { grayWeight: 10 });
            gray = await stackRun("gray", "gateway");
            prodAlone = await stackRun("prod", "gateway");
        });
        const both = (p: StackRun, g?: StackRun) => [...p.objects, ...(g?.objects ?? [])];

        it("sends every request with the canary header to gray, on every path", () => {
            for (const path of PATHS) {
                assertShares(route(both(prod, gray), SHARED, { host: HOST, path, headers: CANARY }), { [GRAY]: 1 }, path);
            }
        });

        it("sends prod's grayWeight (10 %) of plain requests to gray and the rest to prod", () => {
            for (const path of PATHS) {
                assertShares(route(both(prod, gray), SHARED, { host: HOST, path }), { [PROD]: 0.9, [GRAY]: 0.1 }, path);
                assertShares(route(both(prod, gray), SHARED, { host: HOST, path, headers: { "X-Canary": "never" } }), { [PROD]: 0.9, [GRAY]: 0.1 }, `${path} other header value`);
            }
        });

        it("never has two routes claim the same match", () => {
            assert.deepStrictEqual(conflicts(both(prod, gray), SHARED), []);
            assert.deepStrictEqual(attachedRoutes(both(prod, gray), SHARED).map(r => `${r.metadata.namespace}/${r.metadata.name}`).sort(),
                ["sample-app-gray/sample-app-canary", "sample-app-prod/sample-app"]);
        });

        it("deploying gray changes nothing for plain requests until prod's grayWeight says so", () => {
            assertShares(route(both(prodAlone, gray), SHARED, { host: HOST, path: "/" }), { [PROD]: 1 }, "plain");
            assertShares(route(both(prodAlone, gray), SHARED, { host: HOST, path: "/api/users", headers: CANARY }), { [GRAY]: 1 }, "header");
            assert.ok(!JSON.stringify(one(prodAlone, "HTTPRoute").spec).includes("sample-app-gray"), "with grayWeight 0 prod's route does not reference gray at all");
        });

        it("destroying gray after prod's grayWeight is back to 0 leaves every request on prod", () => {
            for (const path of PATHS) {
                assertShares(route(both(prodAlone), SHARED, { host: HOST, path }), { [PROD]: 1 }, path);
                assertShares(route(both(prodAlone), SHARED, { host: HOST, path, headers: CANARY }), { [PROD]: 1 }, `${path} with header`);
            }
        });

        it("destroying gray while prod still sends it a share fails that share (why docs/routing.md orders the steps)", () => {
            assertShares(route(both(prod), SHARED, { host: HOST, path: "/" }), { [PROD]: 0.9, 500: 0.1 }, "plain");
            assertShares(route(both(prod), SHARED, { host: HOST, path: "/", headers: CANARY }), { [PROD]: 0.9, 500: 0.1 }, "header falls back to prod's route");
        });

        it("follows any grayWeight from 0 to 100", async () => {
            for (const weight of [1, 50, 100]) {
                const p = await runStack("prod", { grayWeight: weight });
                const expected: Shares = weight === 100 ? { [GRAY]: 1 } : { [PROD]: (100 - weight) / 100, [GRAY]: weight / 100 };
                assertShares(route(both(p, gray), SHARED, { host: HOST, path: "/api/users" }), expected, `grayWeight ${weight}`);
            }
        });

        it("works the same on a Gateway prod creates, which admits gray's namespace and no other", async () => {
            const own = { gatewayName: undefined, gatewayNamespace: undefined, gatewayClass: "alb", grayWeight: 10 };
            const p = await runStack("prod", own);
            const g = await runStack("gray", { gatewayName: "sample-app", gatewayNamespace: PROD_OUTPUTS.namespace });
            const gw: GatewayId = { namespace: PROD_OUTPUTS.namespace, name: "sample-app" };
            assert.deepStrictEqual(one(p, "Gateway").spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values, [PROD_OUTPUTS.namespace, "sample-app-gray"]);
            assertShares(route(both(p, g), gw, { host: HOST, path: "/" }), { [PROD]: 0.9, [GRAY]: 0.1 }, "plain");
            assertShares(route(both(p, g), gw, { host: HOST, path: "/api/users", headers: CANARY }), { [GRAY]: 1 }, "header");
            const stranger = { ...one(g, "HTTPRoute"), metadata: { namespace: "sample-app-dev", name: "sample-app-canary" } };
            assert.strictEqual(attachedRoutes([...p.objects, stranger], gw).length, 1, "a route from another namespace is not admitted");
        });

        it("runs on the local cluster through config alone: test as the canary of dev, both on the shared Gateway traefik/sample-app-local", async () => {
            const local = { clusterProfile: "local", kubeContext: "sample-app-local" };
            const dev = await runStack("dev", { ...local, host: "sample-app.dev.localhost", grayNamespace: "sample-app-test", grayWeight: 20 });
            const canary = await runStack("test", { ...local, prodStack: "dev", host: undefined }, { stackOutputs: dev.outputs });
            const shared: GatewayId = { namespace: "traefik", name: "sample-app-local" };
            const req = { host: "sample-app.dev.localhost", path: "/api/users" };
            assertShares(route(both(dev, canary), shared, req), { "sample-app-dev/frontend": 0.8, "sample-app-test/frontend": 0.2 }, "plain");
            assertShares(route(both(dev, canary), shared, { ...req, headers: CANARY }), { "sample-app-test/frontend": 1 }, "header");
            assert.deepStrictEqual(conflicts(both(dev, canary), shared), []);
        });

        it("uses the configured canary header", async () => {
            const g = await runStack("gray", { ...routingOverrides("gateway"), canaryHeader: "X-Beta" });
            assertShares(route(both(prod, g), SHARED, { host: HOST, path: "/", headers: { "X-Beta": "always" } }), { [GRAY]: 1 }, "X-Beta");
            assertShares(route(both(prod, g), SHARED, { host: HOST, path: "/", headers: CANARY }), { [PROD]: 0.9, [GRAY]: 0.1 }, "the old header is plain");
        });
    });
});

function one(run: StackRun, kind: string): KObj {
    const found = run.objects.filter(o => o.kind === kind);
    assert.strictEqual(found.length, 1, `${run.stack}: expected one ${kind}, found ${found.length}`);
    return found[0];
}

describe("ALB on a Flannel cluster", () => {
    it("gets a NodePort frontend Service, which ALB can reach where it cannot reach pod addresses; ClusterIP otherwise", async () => {
        const run = await runStack("prod", { frontendServiceType: "NodePort" });
        assert.strictEqual(oneNamed(run, "Service", "frontend").spec.type, "NodePort");
        assert.strictEqual(oneNamed(run, "Service", "user-api").spec.type, "ClusterIP", "only what ALB reaches");
        assert.strictEqual(oneNamed(await runStack("prod"), "Service", "frontend").spec.type, "ClusterIP");
    });
});
