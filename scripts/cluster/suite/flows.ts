/**
 * The flow table of test/flows.ts tried with real connections under the enforcer: one probe pod per
 * distinct source (its namespace, exactly its labels), each row a real connection from it to one
 * Ready pod of the destination (by IP: NetworkPolicy sees pods, not Services) or to the address,
 * all in parallel.
 *
 * A denied row counts as designed only if the connection was refused or timed out, and the same
 * connection from the destination pod's node succeeds. kube-router admits a node's own traffic to its
 * pods before any policy, so that baseline proves a listener is there and the pod's refusal is the
 * policy's, without lifting the policies. An allowed row proves the probe pod itself has a working
 * network; every source has one (its DNS lookup, the control).
 */
import { spawn, spawnSync } from "child_process";
import * as net from "net";
import { Flow, FLOW_SCENARIOS, FlowScenario, flowSummary, isAddress, labelSelector, PodsEnd, Verdict } from "../../../test/flows";
import { CLUSTER_DIR, kubectl, kubectlResult, nodeNetns } from "../env";
import { isReady, json, K8sList, kubectlAsync, Pod } from "./kube";
import { assert, check, line, waitUntil } from "./runner";

/** What one connection attempt did. */
type Outcome = "connected" | "refused" | "timeout" | `error: ${string}`;

export interface FlowResult { readonly flow: Flow; readonly observed: Verdict; readonly outcome: Outcome; readonly baseline?: Outcome; readonly target: string }

const PROBE_IMAGE = "localhost/sample-app-cluster/helper:bookworm";
/** Seconds a probe connection may take; kube-router refuses at once, so only a drop would wait this long. */
const CONNECT_S = 3;

/** A probe pod for a flow source: exactly the row's labels, restricted Pod Security, never Ready (so no Service routes to it). */
function probePod(name: string, end: PodsEnd): Record<string, unknown> {
    return {
        apiVersion: "v1", kind: "Pod", metadata: { name, namespace: end.namespace, labels: end.labels },
        spec: {
            restartPolicy: "Never", automountServiceAccountToken: false, terminationGracePeriodSeconds: 0,
            // It goes away by itself if the suite is killed before it deletes it.
            activeDeadlineSeconds: 900,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
                name: "probe", image: PROBE_IMAGE, imagePullPolicy: "Never", command: ["sleep", "900"],
                readinessProbe: { exec: { command: ["false"] }, periodSeconds: 300 },
                resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            }],
        },
    };
}

/** A shell line that tries one connection and prints `ROW rc=N msg`: TCP by bash's /dev/tcp, UDP DNS by a lookup through the pod's resolver. */
function probeLine(row: number | "control", flow: Flow | undefined, ip: string): string {
    const cmd = flow === undefined || flow.protocol === "UDP"
        ? `getent hosts kubernetes.default.svc.cluster.local`
        : `bash -c '</dev/tcp/${ip}/${flow.port}'`;
    return `( out=$(timeout ${CONNECT_S} ${cmd} 2>&1); echo "${row} rc=$? $(printf %s "$out" | tr '\\n' ' ')" ) &`;
}

function outcomeOf(rc: number, msg: string): Outcome {
    if (rc === 0) return "connected";
    if (rc === 124) return "timeout";
    if (/Connection refused/i.test(msg)) return "refused";
    return `error: rc ${rc} ${msg.trim().slice(0, 100)}`;
}

/** The same TCP connection from a node itself (in its network namespace), which kube-router admits to the node's pods before any policy. */
function fromNode(node: string, ip: string, port: number): Promise<Outcome> {
    return new Promise(resolve => {
        const c = spawn("nsenter", [`--net=${nodeNetns(node)}`, "--", "timeout", String(CONNECT_S), "bash", "-c", `</dev/tcp/${ip}/${port}`], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        c.stderr.on("data", d => { err += String(d); });
        c.on("close", code => resolve(outcomeOf(code ?? 1, err)));
    });
}

/** The same TCP connection from this machine, outside every node: for an address outside the pod network (no enforcer sees it). */
function fromHost(ip: string, port: number): Promise<Outcome> {
    return new Promise(resolve => {
        const c = net.createConnection({ host: ip, port, timeout: CONNECT_S * 1000 });
        c.on("connect", () => { c.destroy(); resolve("connected"); });
        c.on("timeout", () => { c.destroy(); resolve("timeout"); });
        c.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? "refused" : `error: ${e.code ?? e.message}`));
    });
}

/** Every probe pod is under its node's kube-router firewall: its chain is written, and with it the ipsets of that sync (enforcer.sh). */
function enforcerCovers(probes: ReadonlyArray<{ namespace: string; name: string; node: string }>): boolean {
    const r = spawnSync("bash", ["-c", 'source "$1/lib.sh"; source "$1/enforcer.sh"; shift; for p; do IFS=/ read -r n ns pod <<<"$p"; enforcer_covers "$(node_index "$n")" "$ns" "$pod" || exit 1; done',
        "_", CLUSTER_DIR, ...probes.map(p => `${p.node}/${p.namespace}/${p.name}`)], { encoding: "utf8" });
    return r.status === 0;
}

/** Tries every row of a scenario of test/flows.ts (see the file comment). */
export async function tryFlows(scenario: FlowScenario): Promise<FlowResult[]> {
    const sources = new Map<string, { name: string; end: PodsEnd }>();
    const srcKey = (e: PodsEnd) => `${e.namespace}|${labelSelector(e)}`;
    for (const f of scenario.flows) {
        if (!sources.has(srcKey(f.from))) sources.set(srcKey(f.from), { name: `netpol-probe-${sources.size}`, end: f.from });
    }
    // The namespaces this scenario makes, and so removes: not one that was there already (the cluster's
    // `monitoring`, where its Prometheus runs).
    const made: string[] = [];
    for (const ns of scenario.probeNamespaces) {
        // The previous scenario's copy of it may still be terminating: no pod can be created there until it is gone.
        let phase = "";
        await waitUntil(`namespace ${ns} not terminating`, 120, () => {
            const r = kubectlResult(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
            phase = r.status === 0 ? r.stdout.trim() : "";
            return phase !== "Terminating";
        }, 500);
        if (phase === "") {
            kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } }));
            made.push(ns);
        }
    }
    const probeNames = [...sources.values()].map(s => ({ namespace: s.end.namespace, name: s.name }));
    try {
        kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [...sources.values()].map(s => probePod(s.name, s.end)) }));
        await waitUntil("every probe pod running", 90, () => probeNames.every(p => {
            const s = json<Pod>(["-n", p.namespace, "get", "pod", p.name]).status;
            return s.containerStatuses?.[0]?.state.running !== undefined;
        }), 500);
        const probes = probeNames.map(p => ({ ...p, node: String(json<Pod>(["-n", p.namespace, "get", "pod", p.name]).spec.nodeName) }));
        await waitUntil("kube-router covers every probe pod (enforcer_covers)", 60, () => enforcerCovers(probes), 500);
        // The destinations: one Ready pod of each (never a probe pod, which may carry the same labels), and its node.
        const targetOf = (f: Flow): { ip: string; node?: string } => {
            if (isAddress(f.to)) return { ip: f.to.address };
            const ready = json<K8sList<Pod>>(["-n", f.to.namespace, "get", "pods", "-l", labelSelector(f.to)]).items
                .filter(p => !p.metadata.name.startsWith("netpol-probe-") && p.metadata.deletionTimestamp === undefined && isReady(p) && p.status.podIP);
            assert(ready.length > 0, `${f.name}: no Ready pod for ${f.to.namespace}/${labelSelector(f.to)}`);
            return { ip: String(ready[0].status.podIP), node: ready[0].spec.nodeName };
        };
        const targets = scenario.flows.map(targetOf);
        const outcomes = new Map<number, Outcome>();
        const controls = new Map<string, Outcome>();
        await Promise.all([...sources.values()].map(async s => {
            const rows = scenario.flows.map((f, i) => [f, i] as const).filter(([f]) => srcKey(f.from) === srcKey(s.end));
            // The control: a name looked up through the cluster DNS, which every pod may reach.
            const script = `${[probeLine("control", undefined, ""), ...rows.map(([f, i]) => probeLine(i, f, targets[i].ip))].join("\n")}\nwait`;
            const r = await kubectlAsync(["-n", s.end.namespace, "exec", s.name, "-c", "probe", "--", "bash", "-c", script]);
            for (const l of r.stdout.split("\n")) {
                const m = /^(\d+|control) rc=(\d+) ?(.*)$/.exec(l);
                if (m?.[1] === "control") controls.set(s.name, outcomeOf(Number(m[2]), m[3]));
                else if (m) outcomes.set(Number(m[1]), outcomeOf(Number(m[2]), m[3]));
            }
            for (const [, i] of rows) {
                if (!outcomes.has(i)) outcomes.set(i, `error: no result (exec exit ${r.status}: ${r.stderr.trim().slice(0, 100)})`);
            }
        }));
        return await Promise.all(scenario.flows.map(async (flow, i): Promise<FlowResult> => {
            const outcome = outcomes.get(i) ?? "error: not tried";
            const target = `${targets[i].ip}:${flow.port}/${flow.protocol}`;
            if (flow.verdict === "allowed" || outcome !== "refused" && outcome !== "timeout") {
                return { flow, outcome, target, observed: outcome === "connected" ? "allowed" : "denied" };
            }
            const control = controls.get(sources.get(srcKey(flow.from))?.name ?? "") ?? "error: no control";
            if (control !== "connected") {
                return { flow, outcome: `error: the probe pod's own DNS lookup failed too (${control})`, target, observed: "allowed" };
            }
            const node = targets[i].node;
            const baseline: Outcome = node ? await fromNode(node, targets[i].ip, flow.port) : await fromHost(targets[i].ip, flow.port);
            // Refused or timed out from a pod whose network works, and reachable without the policies:
            // denied by them. Anything else is not the designed denial.
            return { flow, outcome, baseline, target, observed: baseline === "connected" ? "denied" : "allowed" };
        }));
    } finally {
        for (const p of probeNames) kubectlResult(["-n", p.namespace, "delete", "pod", p.name, "--wait=false", "--ignore-not-found"]);
        for (const ns of made) kubectlResult(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"]);
    }
}

/** Every result of the flow checks, for the closing check. */
export const flowResults: FlowResult[] = [];

/** The check of one scenario: prints each row that is not as designed (with what happened) and the scenario's `N flows: M as designed`. */
export async function checkFlows(scenarioName: string): Promise<void> {
    const scenario = FLOW_SCENARIOS.find(s => s.name === scenarioName);
    assert(scenario?.onLocalCluster, `no local flow scenario "${scenarioName}"`);
    await check(`every flow of "${scenario.name}" behaves as the table designs, with real connections under kube-router`, async () => {
        const t0 = Date.now();
        const rs = await tryFlows(scenario);
        flowResults.push(...rs);
        const bad = rs.filter(r => r.observed !== r.flow.verdict);
        const refused = rs.filter(r => r.flow.verdict === "denied" && r.outcome === "refused").length;
        line(`       ${flowSummary(rs)} (${rs.filter(r => r.flow.verdict === "allowed").length} allowed, ${refused} denied refused at once, ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
        assert(bad.length === 0, bad.map(r => `${r.flow.name} -> ${r.target}: want ${r.flow.verdict}, got ${r.outcome}${r.baseline ? ` (from the node: ${r.baseline})` : ""}`).join("\n"));
    });
}

/** The closing check: every flow of the table's local scenarios was tried, each as designed. */
export async function checkAllFlowsTried(): Promise<void> {
    await check("every flow of the table's local scenarios was tried under enforcement, each as designed", () => {
        const want = FLOW_SCENARIOS.filter(sc => sc.onLocalCluster).reduce((n, sc) => n + sc.flows.length, 0);
        line(`       ${flowSummary(flowResults)}`);
        assert(flowResults.length === want, `${flowResults.length} of the ${want} flows were tried`);
        assert(flowResults.every(r => r.observed === r.flow.verdict), "some flows were not as designed (see above)");
    });
}
