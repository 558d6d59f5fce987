/**
 * Every row of the flow table (test/flows.ts) against the NetworkPolicies the program renders for
 * the row's scenario, through the evaluator in netpol.ts. The cluster suite tries the same rows with
 * real connections; here the rows are also held to what the local cluster runs (its addresses, its
 * DNS and gateway pods), so a row the cluster cannot try fails here first.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PROFILES } from "../settings";
import { DNS, Flow, FLOW_SCENARIOS, flowSummary, FlowEnd, FlowScenario, GATEWAY, isAddress, LOCAL_CLUSTER, PodsEnd, StackDeployment, Verdict } from "./flows";
import { KObj, ofKind, ROOT, runStack, StackRun, workloads } from "./harness";
import { allowed, Endpoint } from "./netpol";

const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
const CLUSTER_DIR = path.join(ROOT, "scripts", "cluster");

/** Renders a scenario's stacks in order, a canary's StackReference reading the run of the stack it names. */
async function render(scenario: FlowScenario): Promise<Map<StackDeployment["stack"], StackRun>> {
    const runs = new Map<StackDeployment["stack"], StackRun>();
    for (const d of scenario.stacks) {
        const prod = d.readsOutputsOf === undefined ? undefined : runs.get(d.readsOutputsOf);
        assert.ok(d.readsOutputsOf === undefined || prod, `${d.stack} reads ${d.readsOutputsOf}, which the scenario deploys after it`);
        runs.set(d.stack, await runStack(d.stack, d.config, prod ? { stackOutputs: prod.outputs } : {}));
    }
    return runs;
}

function endpoint(end: FlowEnd, id: string): Endpoint {
    return isAddress(end) ? { id, namespace: "", labels: {}, ip: end.address } : { id, namespace: end.namespace, labels: { ...end.labels } };
}

/** Pod templates of a run with the workload's name: Deployments, StatefulSets, and CronJobs' jobs. */
function podTemplates(run: StackRun): { name: string; replicas: number; template: KObj }[] {
    return [
        ...workloads(run).map(w => ({ name: w.metadata.name as string, replicas: w.spec.replicas ?? 1, template: w.spec.template as KObj })),
        ...ofKind(run, "CronJob").map(c => ({ name: c.metadata.name as string, replicas: 1, template: c.spec.jobTemplate.spec.template as KObj })),
    ];
}

function subsetOf(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** What is wrong with a row's pods end in the scenario, or undefined: a workload's pods that exist and listen on `port`, or a pod no workload's selector takes. */
function endProblem(end: PodsEnd, runs: Map<string, StackRun>, scenario: FlowScenario, port?: number): string | undefined {
    const run = [...runs.values()].find(r => r.objects.some(o => o.kind === "Namespace" && o.metadata.name === end.namespace));
    if (!run) {
        const known = [DNS.namespace, GATEWAY.namespace, ...scenario.probeNamespaces];
        return known.includes(end.namespace) ? undefined : `namespace ${end.namespace} is neither a stack's, an addon's nor a probe namespace`;
    }
    const templates = podTemplates(run);
    if (end.workload === undefined) {
        // A probe pod that a workload's or a Service's selector takes would be adopted or sent traffic.
        const selectors = [
            ...workloads(run).map(w => ({ what: `${w.kind} ${w.metadata.name}`, selector: w.spec.selector.matchLabels as Record<string, string> })),
            ...ofKind(run, "Service").filter(s => s.spec.selector).map(s => ({ what: `Service ${s.metadata.name}`, selector: s.spec.selector as Record<string, string> })),
        ];
        const taken = selectors.filter(s => subsetOf(s.selector, end.labels)).map(s => s.what);
        return taken.length === 0 ? undefined : `a probe pod with ${JSON.stringify(end.labels)} would be taken by ${taken.join(", ")}`;
    }
    const t = templates.find(x => x.name === end.workload);
    if (!t) {
        return `${run.stack} runs no workload ${end.workload}`;
    }
    const { [POD_NAME_LABEL]: podName, ...labels } = end.labels;
    if (!subsetOf(labels, t.template.metadata.labels)) {
        return `${end.workload}'s pods do not carry ${JSON.stringify(labels)}`;
    }
    if (podName !== undefined && !Array.from({ length: t.replicas }, (_, i) => `${end.workload}-${i}`).includes(podName)) {
        return `${end.workload} has no pod ${podName} (${t.replicas} replicas)`;
    }
    const ports = (t.template.spec.containers as KObj[]).flatMap(c => (c.ports ?? []) as KObj[]).map(p => p.containerPort);
    return port === undefined || ports.includes(port) ? undefined : `${end.workload} listens on ${ports.join(", ")}, not ${port}`;
}

for (const scenario of FLOW_SCENARIOS) {
    describe(`the flow table's scenario "${scenario.name}"`, () => {
        let runs: Map<StackDeployment["stack"], StackRun>;
        let policies: KObj[];
        before(async () => {
            runs = await render(scenario);
            policies = [...runs.values()].flatMap(r => ofKind(r, "NetworkPolicy"));
        });

        it("names only pods its stacks run, on ports they listen on, and probe pods that no workload's selector takes", () => {
            const problems = scenario.flows.flatMap(f => [
                endProblem(f.from, runs, scenario),
                isAddress(f.to) ? undefined : endProblem(f.to, runs, scenario, f.to.workload === undefined ? undefined : f.port),
            ].filter((p): p is string => p !== undefined).map(p => `${f.name}: ${p}`));
            assert.deepStrictEqual(problems, []);
        });

        it("gets every row's designed verdict from the NetworkPolicies the stacks render", () => {
            assert.ok(policies.length >= 4, "the stacks render their NetworkPolicies");
            const results = scenario.flows.map((flow: Flow) => {
                const ok = allowed(policies, endpoint(flow.from, "from"), endpoint(flow.to, "to"), { port: flow.port, protocol: flow.protocol });
                return { flow, observed: (ok ? "allowed" : "denied") as Verdict };
            });
            const wrong = results.filter(r => r.observed !== r.flow.verdict).map(r => `${r.flow.name} (${r.flow.port}/${r.flow.protocol}): ${r.observed}, designed ${r.flow.verdict}`);
            assert.deepStrictEqual(wrong, [], flowSummary(results));
            assert.strictEqual(flowSummary(results), `${scenario.flows.length} flows: ${scenario.flows.length} as designed`);
        });
    });
}

describe("the flow table", () => {
    const all = FLOW_SCENARIOS.flatMap(s => s.flows.map(f => ({ scenario: s, flow: f })));

    it("names each row once per scenario, and has allowed and denied rows in each", () => {
        for (const s of FLOW_SCENARIOS) {
            const names = s.flows.map(f => `${f.name} ${f.port}/${f.protocol}`);
            assert.strictEqual(new Set(names).size, names.length, `${s.name}: a row twice`);
            assert.ok(s.flows.some(f => f.verdict === "allowed") && s.flows.some(f => f.verdict === "denied"), s.name);
        }
    });

    it("covers the designed paths and the classic ways default deny breaks an app", () => {
        const has = (pattern: RegExp, verdict: Verdict, local = true) =>
            assert.ok(all.some(({ scenario, flow }) => pattern.test(flow.name) && flow.verdict === verdict && (!local || scenario.onLocalCluster)),
                `no ${verdict} row matching ${pattern}${local ? " on the local cluster" : ""}`);
        for (const p of [/^gateway -> frontend$/, /^frontend -> user-api$/, /^user-api -> redis$/, /^user-api -> Sentinel$/, /replication/, /Sentinels talk/,
            /cluster DNS UDP 53/, /cluster DNS TCP 53/, /^metrics namespace -> user-api/, /canary's user-api -> dev's redis/]) {
            has(p, "allowed");
        }
        has(/^backup Job -> API server$/, "allowed", false);
        for (const p of [/^unlabelled pod -> redis$/, /^unlabelled pod -> user-api$/, /^unlabelled pod -> frontend$/, /^frontend -> redis$/, /^user-api -> frontend$/,
            /^redis -> user-api$/, /^another namespace -> user-api$/, /^another namespace -> redis$/, /^user-api -> API server$/, /outside the pod network/]) {
            has(p, "denied");
        }
    });

    it("uses the local cluster's control plane address, API server port and first node's address from scripts/cluster/lib.sh", () => {
        const lib = fs.readFileSync(path.join(CLUSTER_DIR, "lib.sh"), "utf8");
        const value = (name: string) => new RegExp(`^${name}=(\\S+)$`, "m").exec(lib)?.[1];
        assert.strictEqual(value("CP_IP"), LOCAL_CLUSTER.controlPlaneIp);
        assert.strictEqual(value("API_PORT"), String(LOCAL_CLUSTER.apiPort));
        const nodeIp = /^node_ip\(\) \{ echo "10\.77\.0\.\$\(\(([0-9]+) \+ \$1\)\)"; \}$/m.exec(lib);
        assert.ok(nodeIp, "lib.sh's node_ip is not 10.77.0.$((N + $1))");
        assert.strictEqual(`10.77.0.${Number(nodeIp[1]) + 1}`, LOCAL_CLUSTER.nodeIp);
        assert.match(fs.readFileSync(path.join(CLUSTER_DIR, "node.sh"), "utf8"), /^address: \$ip$/m, "the kubelet listens on the node's address");
    });

    describe("against the local cluster's addons (scripts/cluster/addons.yaml)", () => {
        // Placeholders as cluster.sh fills them (HTTP_PORT's default; the others do not matter here).
        const fill: Record<string, string> = { HTTP_PORT: "18080" };
        const text = fs.readFileSync(path.join(CLUSTER_DIR, "addons.yaml"), "utf8").replace(/@([A-Z_]+)@/g, (_, k: string) => fill[k] ?? "1");
        const docs = yaml.loadAll(text).filter((d): d is KObj => typeof d === "object" && d !== null);
        const deployment = (namespace: string, name: string, kind = "Deployment") => {
            const d = docs.find(x => x.kind === kind && x.metadata.namespace === namespace && x.metadata.name === name);
            assert.ok(d, `addons.yaml has no ${kind} ${namespace}/${name}`);
            return d;
        };

        it("runs the DNS pods the rows name, one per node answering that node's pods, listening on 53 in the pod as on minikube and ACK (policies admit the pod's port, after the Service's DNAT)", () => {
            const coredns = deployment(DNS.namespace, "coredns", "DaemonSet");
            assert.ok(subsetOf(DNS.labels, coredns.spec.template.metadata.labels));
            const ports = (coredns.spec.template.spec.containers[0].ports as KObj[]).map(p => `${p.containerPort}/${p.protocol}`).sort();
            assert.deepStrictEqual(ports, ["53/TCP", "53/UDP"]);
            const corefile = docs.find(x => x.kind === "ConfigMap" && x.metadata.name === "coredns")!.data.Corefile as string;
            assert.match(corefile, /^\.:53 \{/m);
            const svc = docs.find(x => x.kind === "Service" && x.metadata.name === "kube-dns")!;
            assert.deepStrictEqual((svc.spec.ports as KObj[]).map(p => [p.port, p.targetPort]), [[53, 53], [53, 53]]);
            assert.strictEqual(svc.spec.internalTrafficPolicy, "Local", "a node's pods ask their own node's CoreDNS (ACK's NodeLocal DNSCache)");
            // A non-root process binds 53 only where its network namespace lowers the unprivileged port start.
            assert.deepStrictEqual(coredns.spec.template.spec.securityContext.sysctls, [{ name: "net.ipv4.ip_unprivileged_port_start", value: "53" }]);
        });

        it("runs the gateway as a pod the rows and the minikube profile name, not on the host network (a host-network pod is no NetworkPolicy peer), with the Helm chart's entryPoints", () => {
            const traefik = deployment(GATEWAY.namespace, "traefik");
            assert.ok(subsetOf(GATEWAY.labels, traefik.spec.template.metadata.labels));
            assert.notStrictEqual(traefik.spec.template.spec.hostNetwork, true);
            const ports = (traefik.spec.template.spec.containers[0].ports as KObj[]);
            assert.ok(ports.every(p => p.hostPort === undefined), "no hostPort: this machine's loopback port leads to the Service");
            // dev and test, as written, make a Gateway of class traefik listening on the profile's ports: Traefik's entryPoints must be those.
            const profile = PROFILES.minikube;
            const args = traefik.spec.template.spec.containers[0].args as string[];
            assert.ok(args.includes(`--entryPoints.web.address=:${profile.gatewayPorts.http}`) && args.includes(`--entryPoints.websecure.address=:${profile.gatewayPorts.https}`), args.join(" "));
            assert.deepStrictEqual(profile.gatewayDataPlanes.traefik, { namespace: GATEWAY.namespace, podSelector: GATEWAY.labels });
        });
    });
});
