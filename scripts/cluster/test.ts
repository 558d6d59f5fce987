/**
 * The local-cluster suite (`npm run cluster:test`): brings the cluster up if it is not (and down
 * again at the end, unless it was already up), deploys the dev and test stacks with the real Pulumi
 * engine (`pulumi up` of index.ts through the Automation API, scripts/cluster/deploy.ts), and checks
 * what a user checks after `pulumi up`, `preview`, `refresh` and `destroy`. Prints one line per
 * check, the time of each phase, and ends with "N passed, M failed"; exits 1 on any failure.
 *
 *   npm run cluster:test                     everything
 *   SAMPLE_APP_CLUSTER_KEEP=1 npm run cluster:test    leave the cluster and stacks up afterwards
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { accessMatrix } from "../../test/access-matrix";
import { Flow, FLOW_SCENARIOS, FlowScenario, flowSummary, isAddress, labelSelector, METRICS_NAMESPACE, PodsEnd, Verdict } from "../../test/flows";
import { withinTolerance } from "../../test/httproute";
import { askCanI } from "../rbac-checks";
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { renderComment } from "../preview-comment";
import { deploy, destroy, Deployed, ENGINE_STATE, localStack, preview, refresh } from "./deploy";
import { ADMIN_KUBECONFIG, CLUSTER_DIR, CONTAINERD_SOCK, KUBECTL, kubectl, kubectlResult, REPO_ROOT, resourceRef, stackUrl } from "./env";

const KUBECTL_ARGS = [KUBECTL, "--kubeconfig", ADMIN_KUBECONFIG];

/** `pulumi up` of a new stack, which waits for every workload to be ready, ends within this many seconds (README). */
const READY_BOUND_S = 180;

interface Result { readonly name: string; readonly ok: boolean }
const results: Result[] = [];
const phases: Array<[string, number]> = [];

function line(s: string): void {
    process.stdout.write(`${s}\n`);
}

async function check(name: string, fn: () => Promise<void> | void): Promise<boolean> {
    const t = Date.now();
    try {
        await fn();
        results.push({ name, ok: true });
        line(`ok   ${String(results.length).padStart(2)} ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        return true;
    } catch (e) {
        results.push({ name, ok: false });
        line(`FAIL ${String(results.length).padStart(2)} ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        for (const l of String(e instanceof Error ? e.message : e).split("\n").slice(0, 40)) {
            line(`       ${l}`);
        }
        return false;
    }
}

async function phase(name: string, fn: () => Promise<void>): Promise<void> {
    const t = Date.now();
    line(`::: ${name}`);
    try {
        await fn();
    } finally {
        const s = (Date.now() - t) / 1000;
        phases.push([name, s]);
        line(`::: ${name}: ${s.toFixed(1)}s`);
    }
}

function assert(cond: unknown, message: string): asserts cond {
    if (!cond) {
        throw new Error(message);
    }
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** An HTTP request to a *.localhost URL, sent to 127.0.0.1 with the name in Host. */
function request(url: string, method = "GET", body?: string, timeoutMs = 5000, extraHeaders: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const req = http.request({
            host: "127.0.0.1", port: u.port, path: `${u.pathname}${u.search}`, method, timeout: timeoutMs, agent: false,
            headers: { Host: u.host, Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}), ...extraHeaders },
        }, res => {
            const chunks: Buffer[] = [];
            res.on("data", c => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(body);
    });
}

function requestWith(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return request(url, "GET", undefined, 5000, headers);
}

async function waitUntil(what: string, seconds: number, probe: () => Promise<boolean> | boolean, everyMs = 1000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
        try {
            if (await probe()) {
                return (Date.now() - t0) / 1000;
            }
        } catch {
            // not yet
        }
        if (Date.now() - t0 > seconds * 1000) {
            throw new Error(`${what}: not within ${seconds}s`);
        }
        await sleep(everyMs);
    }
}

function json<T>(args: string[]): T {
    return JSON.parse(kubectl([...args, "-o", "json"])) as T;
}

interface K8sList<T> { items: T[] }
interface Meta { name: string; namespace?: string; resourceVersion: string; generation?: number; uid: string; labels?: Record<string, string> }
interface Pod { metadata: Meta & { deletionTimestamp?: string }; spec: { containers: Array<{ image: string }> }; status: { phase: string; conditions?: Array<{ type: string; status: string }> } }

/** Continuous GETs from `workers` loops until stopped: how many answered and how many failed. */
function load(url: string, workers: number): { stop: () => Promise<{ ok: number; failed: number; errors: string[] }> } {
    let running = true;
    let ok = 0;
    let failed = 0;
    const errors: string[] = [];
    const loops = Array.from({ length: workers }, async () => {
        while (running) {
            try {
                const r = await request(url, "GET", undefined, 10000);
                if (r.status === 200) {
                    ok++;
                } else {
                    failed++;
                    if (errors.length < 10) errors.push(`HTTP ${r.status}: ${r.body.slice(0, 120)}`);
                }
            } catch (e) {
                failed++;
                if (errors.length < 10) errors.push(String(e instanceof Error ? e.message : e));
            }
        }
    });
    return { stop: async () => { running = false; await Promise.all(loops); return { ok, failed, errors }; } };
}

function clusterSh(...args: string[]): void {
    execFileSync("bash", [path.join(CLUSTER_DIR, "cluster.sh"), ...args], { stdio: "inherit" });
}

function clusterIsUp(): boolean {
    try {
        kubectl(["get", "--raw", "/readyz"], undefined, { timeout: 5000 });
        return true;
    } catch {
        return false;
    }
}

/** Pods of a stack namespace, all or one workload's (by its app.kubernetes.io/name). */
function pods(ns: string, workload?: string): Pod[] {
    const sel = workload ? ["-l", `app.kubernetes.io/name=${workload}`] : [];
    // Pods on their way out after a rollout are not the stack's any more.
    return json<K8sList<Pod>>(["-n", ns, "get", "pods", ...sel]).items.filter(p => p.metadata.deletionTimestamp === undefined);
}

function allReady(ns: string): boolean {
    const ps = pods(ns).filter(p => p.status.phase !== "Succeeded");
    return ps.length > 0 && ps.every(p => p.status.conditions?.some(c => c.type === "Ready" && c.status === "True"));
}

/**
 * What would change if our apply changed an object: its generation where the API server keeps one
 * (workloads, policies: status updates by controllers do not bump it), else its resourceVersion.
 */
function versionsOf(d: Deployed): Map<string, string> {
    const out = new Map<string, string>();
    for (const o of d.objects) {
        const args = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
        const live = json<{ metadata: Meta }>([...args, "get", resourceRef(o as unknown as Record<string, unknown>)]);
        out.set(`${o.kind}/${o.metadata.name}`, live.metadata.generation ? `generation ${live.metadata.generation}` : `resourceVersion ${live.metadata.resourceVersion}`);
    }
    return out;
}

type Volumes = K8sList<{ spec: { claimRef?: { namespace: string } } }>;

/** Destroys a deployed stack and waits until its namespace and volumes are gone; returns how many volumes it had. */
async function removeStack(stack: string): Promise<number> {
    const ns = `sample-app-${stack}`;
    const ofStack = () => json<Volumes>(["get", "pv"]).items.filter(p => p.spec.claimRef?.namespace === ns);
    const volumes = ofStack().length;
    await destroy(stack, {}, quiet);
    await waitUntil(`namespace ${ns} gone`, 180, () => kubectlResult(["get", "namespace", ns]).status !== 0, 2000);
    await waitUntil(`persistent volumes of ${ns} released`, 120, () => ofStack().length === 0, 2000);
    return volumes;
}

/**
 * Runs `fn` as if the user had added `line` to app/web/nginx.conf: the inline program runs in this
 * process and reads the file through Node's fs module, whose readFileSync is swapped meanwhile.
 */
async function withNginxConfEdit<T>(line: string, fn: () => Promise<T>): Promise<T> {
    const conf = path.join(REPO_ROOT, "app", "web", "nginx.conf");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require("fs") as { readFileSync: typeof fs.readFileSync };
    const original = nodeFs.readFileSync;
    nodeFs.readFileSync = ((p: fs.PathOrFileDescriptor, o?: unknown) =>
        p === conf ? `${original(p, "utf8")}\n${line}\n` : original(p, o as BufferEncoding)) as typeof fs.readFileSync;
    try {
        return await fn();
    } finally {
        nodeFs.readFileSync = original;
    }
}

/** Output of a Pulumi run that only the failure message shows. */
const quiet = { onOutput: () => undefined };

/** Every object of any kind, namespaced or cluster-scoped, that carries the stack's instance label. */
function labelledObjects(stack: string): string[] {
    const kinds = kubectl(["api-resources", "--verbs=list", "-o", "name"]).split("\n").filter(k => k && !k.startsWith("events"));
    return kubectl(["get", kinds.join(","), "-A", "-l", `app.kubernetes.io/instance=${stack},app.kubernetes.io/part-of=sample-app`, "-o", "name", "--ignore-not-found"])
        .split("\n").filter(Boolean);
}

/** The steps of a preview, from its engine events: `op type name` for each resource that does not stay the same. */
function changedSteps(events: readonly EngineEvent[]): string[] {
    return events.flatMap(e => {
        const m = e.resourcePreEvent?.metadata;
        if (!m || m.op === "same" || m.op === "read") return [];
        return [`${m.op} ${m.type} ${m.urn.split("::").pop()}`];
    }).sort();
}

/** An object as the API server has it, without what the server fills in: what `kubectl apply` of it would send again. */
function liveForApply(ns: string, kind: string, name: string): Record<string, unknown> {
    const o = json<{ apiVersion: string; kind: string; metadata: Meta; [k: string]: unknown }>(["-n", ns, "get", kind, name]);
    const { status: _status, ...rest } = o;
    void _status;
    return { ...rest, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, labels: o.metadata.labels } };
}

// --- the flow table, tried with real connections (test/flows.ts) ------------------------------

/** What one connection attempt did. */
type Outcome = "connected" | "refused" | "timeout" | `error: ${string}`;

interface FlowResult { readonly flow: Flow; readonly observed: Verdict; readonly outcome: Outcome; readonly baseline?: Outcome; readonly target: string }

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

/** The same TCP connection from the node itself, which kube-router admits before any policy (as it does the kubelet's probes). */
function fromNode(ip: string, port: number): Promise<Outcome> {
    return new Promise(resolve => {
        const s = net.createConnection({ host: ip, port, timeout: CONNECT_S * 1000 });
        s.on("connect", () => { s.destroy(); resolve("connected"); });
        s.on("timeout", () => { s.destroy(); resolve("timeout"); });
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? "refused" : `error: ${e.code ?? e.message}`));
    });
}

function execAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise(resolve => {
        const c = spawn(KUBECTL_ARGS[0], [...KUBECTL_ARGS.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", d => { stdout += String(d); });
        c.stderr.on("data", d => { stderr += String(d); });
        c.on("close", code => resolve({ status: code ?? 1, stdout, stderr }));
    });
}

/** Every probe pod is under kube-router's firewall: its chain is written, and with it the ipsets of that sync (scripts/cluster/enforcer.sh). */
function enforcerCovers(probes: ReadonlyArray<{ namespace: string; name: string }>): boolean {
    const r = spawnSync("bash", ["-c", 'source "$1/lib.sh"; source "$1/enforcer.sh"; shift; for p; do enforcer_covers "${p%%/*}" "${p#*/}" || exit 1; done',
        "_", CLUSTER_DIR, ...probes.map(p => `${p.namespace}/${p.name}`)], { encoding: "utf8" });
    return r.status === 0;
}

/**
 * Tries every row of a scenario of test/flows.ts: one probe pod per distinct source (its namespace,
 * exactly its labels), each row a real connection from it to one Ready pod of the destination (by
 * IP: NetworkPolicy sees pods, not Services) or to the address, all in parallel.
 *
 * A denied row counts as designed only if the connection was refused or timed out, and the same
 * connection from the node succeeds. kube-router admits the node's own traffic to its pods before any
 * policy, so that baseline proves a listener is there and the pod's refusal is the policy's, without
 * lifting the policies (which would mean editing objects Pulumi owns, or leaving them off on failure).
 * An allowed row proves the probe pod itself has a working network; every source has one.
 */
async function tryFlows(scenario: FlowScenario): Promise<FlowResult[]> {
    const sources = new Map<string, { name: string; end: PodsEnd }>();
    const srcKey = (e: PodsEnd) => `${e.namespace}|${labelSelector(e)}`;
    for (const f of scenario.flows) {
        if (!sources.has(srcKey(f.from))) sources.set(srcKey(f.from), { name: `netpol-probe-${sources.size}`, end: f.from });
    }
    for (const ns of scenario.probeNamespaces) {
        // The previous scenario's copy of it may still be terminating: no pod can be created there until it is gone.
        await waitUntil(`namespace ${ns} not terminating`, 120, () => {
            const r = kubectlResult(["get", "namespace", ns, "-o", "jsonpath={.status.phase}"]);
            return r.status !== 0 || r.stdout.trim() === "Active";
        }, 500);
        kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "pod-security.kubernetes.io/enforce": "restricted" } } }));
    }
    const probes = [...sources.values()].map(s => ({ namespace: s.end.namespace, name: s.name }));
    try {
        kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [...sources.values()].map(s => probePod(s.name, s.end)) }));
        await waitUntil("every probe pod running", 90, () => probes.every(p => {
            const s = json<Pod & { status: { containerStatuses?: Array<{ state: { running?: unknown } }> } }>(["-n", p.namespace, "get", "pod", p.name]).status;
            return s.containerStatuses?.[0]?.state.running !== undefined;
        }), 500);
        await waitUntil("kube-router covers every probe pod (enforcer_covers)", 60, () => enforcerCovers(probes), 500);
        // The destinations: one Ready pod of each (never a probe pod, which may carry the same labels).
        const targetOf = (f: Flow): string => {
            if (isAddress(f.to)) return f.to.address;
            const ready = json<K8sList<Pod & { status: { podIP?: string } }>>(["-n", f.to.namespace, "get", "pods", "-l", labelSelector(f.to)]).items
                .filter(p => !p.metadata.name.startsWith("netpol-probe-") && p.metadata.deletionTimestamp === undefined
                    && p.status.conditions?.some(c => c.type === "Ready" && c.status === "True") && p.status.podIP);
            assert(ready.length > 0, `${f.name}: no Ready pod for ${f.to.namespace}/${labelSelector(f.to)}`);
            return String(ready[0].status.podIP);
        };
        const targets = scenario.flows.map(targetOf);
        const outcomes = new Map<number, Outcome>();
        const controls = new Map<string, Outcome>();
        await Promise.all([...sources.values()].map(async s => {
            const rows = scenario.flows.map((f, i) => [f, i] as const).filter(([f]) => srcKey(f.from) === srcKey(s.end));
            // The control: a name looked up through the cluster DNS, which every pod may reach (the stacks'
            // allow-dns policy selects every pod of their namespaces; the probe namespaces have no policy).
            const script = `${[probeLine("control", undefined, ""), ...rows.map(([f, i]) => probeLine(i, f, targets[i]))].join("\n")}\nwait`;
            const r = await execAsync(["-n", s.end.namespace, "exec", s.name, "-c", "probe", "--", "bash", "-c", script]);
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
            const target = `${targets[i]}:${flow.port}/${flow.protocol}`;
            if (flow.verdict === "allowed" || outcome !== "refused" && outcome !== "timeout") {
                return { flow, outcome, target, observed: outcome === "connected" ? "allowed" : "denied" };
            }
            const control = controls.get(sources.get(srcKey(flow.from))?.name ?? "") ?? "error: no control";
            if (control !== "connected") {
                return { flow, outcome: `error: the probe pod's own DNS lookup failed too (${control})`, target, observed: "allowed" };
            }
            const baseline = await fromNode(targets[i], flow.port);
            // Refused or timed out from a pod whose network works, and reachable without the policies:
            // denied by them. Anything else is not the designed denial.
            return { flow, outcome, baseline, target, observed: baseline === "connected" ? "denied" : "allowed" };
        }));
    } finally {
        for (const p of probes) kubectlResult(["-n", p.namespace, "delete", "pod", p.name, "--wait=false", "--ignore-not-found"]);
        for (const ns of scenario.probeNamespaces) kubectlResult(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"]);
    }
}

/** Every result of the flow checks, for the suite's closing line. */
const flowResults: FlowResult[] = [];

/** The check of one scenario: prints each row that is not as designed (with what happened) and the scenario's `N flows: M as designed`. */
async function checkFlows(scenarioName: string): Promise<void> {
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

async function main(): Promise<void> {
    const started = Date.now();
    const wasUp = clusterIsUp();
    const keep = process.env.SAMPLE_APP_CLUSTER_KEEP === "1";
    let dev: Deployed | undefined;
    let test: Deployed | undefined;
    const devNs = "sample-app-dev";
    const testNs = "sample-app-test";
    try {
        await phase("cluster up", async () => {
            await check(wasUp ? "the cluster is already up" : "npm run cluster -- up starts the cluster", () => {
                if (!wasUp) clusterSh("up");
                assert(clusterIsUp(), "API server not ready");
            });
        });
        if (!clusterIsUp()) {
            return;
        }

        await phase("deploy dev with pulumi up", async () => {
            await check(`pulumi up of dev ends, every workload ready as the provider waits for it, within ${READY_BOUND_S}s`, async () => {
                dev = await deploy("dev", {}, { onOutput: t => process.stdout.write(t.replace(/^/gm, "     ")) });
                line(`       up took ${dev.readySeconds.toFixed(1)}s: ${JSON.stringify(dev.changes)}`);
                assert(dev.readySeconds <= READY_BOUND_S, `took ${dev.readySeconds.toFixed(1)}s`);
                assert(allReady(devNs), "pulumi up returned while a pod was not Ready");
            });
        });
        if (dev === undefined) {
            return;
        }

        await phase("dev: no drift after up", async () => {
            await check("pulumi preview right after up plans no change (--expect-no-changes)", async () => {
                const p = await preview("dev", {}, { ...quiet, expectNoChanges: true });
                line(`       ${JSON.stringify(p.changeSummary)}`);
            });
            await check("pulumi refresh reads every object back from the cluster and finds nothing changed (--expect-no-changes)", async () => {
                line(`       ${JSON.stringify(await refresh("dev", {}, { ...quiet, expectNoChanges: true }))}`);
            });
            await check("the state holds the Redis password only encrypted: neither it nor its base64 is in any file of the backend", async () => {
                const password = (await (await localStack("dev")).getConfig("sample-app:redisPassword")).value;
                assert(password.length >= 16, "no Redis password in dev's config");
                const b64 = Buffer.from(password).toString("base64");
                const files = fs.readdirSync(path.join(ENGINE_STATE, "backend"), { recursive: true, withFileTypes: true }).filter(f => f.isFile());
                assert(files.length > 0, "no state file in the backend");
                for (const f of files) {
                    const text = fs.readFileSync(path.join(f.parentPath, f.name), "utf8");
                    assert(!text.includes(password) && !text.includes(b64), `${f.name} holds the password in plain text`);
                }
                const live = json<{ data: Record<string, string> }>(["-n", devNs, "get", "secret", "redis-auth"]);
                assert(Buffer.from(live.data.password, "base64").toString() === password, "the Secret in the cluster does not hold the configured password");
                line(`       ${files.length} files in the backend, none with the password; the Secret holds it`);
            });
        });
        const devUrl = stackUrl("dev");

        await phase("dev: security", async () => {
            await check("dev's namespace enforces Pod Security restricted: a pod without the restricted securityContext is rejected", () => {
                const ns = json<{ metadata: Meta }>(["get", "namespace", devNs]);
                assert(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted", "namespace not labelled enforce=restricted");
                // A plain pod with no securityContext: root allowed, privilege escalation and capabilities not limited.
                const bad = { apiVersion: "v1", kind: "Pod", metadata: { name: "psa-probe", namespace: devNs },
                    spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10.1" }] } };
                const r = kubectlResult(["create", "--dry-run=server", "-f", "-"], JSON.stringify(bad));
                assert(r.status !== 0, "a pod without the restricted securityContext was admitted");
                assert(/violates PodSecurity "restricted/.test(r.stderr), `rejected for another reason: ${r.stderr}`);
            });
            await check("our pods run under it: non-root as UID and GID >= 10000, read-only root filesystem, all Ready", () => {
                assert(allReady(devNs), "not every pod is Ready");
                interface Ids { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean }
                for (const p of json<K8sList<{ metadata: Meta; spec: { securityContext?: Ids; containers: Array<{ name: string; securityContext?: Ids }> } }>>(["-n", devNs, "get", "pods"]).items) {
                    assert(p.spec.securityContext?.runAsNonRoot === true, `${p.metadata.name}: runAsNonRoot not set`);
                    for (const c of p.spec.containers) {
                        assert(c.securityContext?.readOnlyRootFilesystem === true, `${p.metadata.name}/${c.name}: root filesystem writable`);
                        const uid = c.securityContext?.runAsUser ?? p.spec.securityContext?.runAsUser;
                        const gid = c.securityContext?.runAsGroup ?? p.spec.securityContext?.runAsGroup;
                        assert((uid ?? 0) >= 10000 && (gid ?? 0) >= 10000, `${p.metadata.name}/${c.name}: runs as ${uid}:${gid}`);
                    }
                    // What the container really runs as, where the image has a shell (the distroless API has none).
                    const r = kubectlResult(["-n", devNs, "exec", p.metadata.name, "-c", p.spec.containers[0].name, "--", "sh", "-c", "echo $(id -u) $(id -g)"]);
                    if (!/executable file not found/.test(r.stderr)) {
                        const [u, g] = r.stdout.trim().split(" ").map(Number);
                        assert(r.status === 0 && u >= 10000 && g >= 10000, `${p.metadata.name}: uid/gid ${r.stdout.trim()} ${r.stderr.trim()}`);
                    }
                }
            });
        });

        await phase("dev: RBAC on the real API server", async () => {
            await check("every identity dev binds can do exactly what the access matrix designs (kubectl auth can-i)", () => {
                const checks = accessMatrix("dev");
                const wrong = askCanI(checks, KUBECTL_ARGS);
                line(`       ${checks.length - wrong.length} of ${checks.length} answers as designed`);
                assert(wrong.length === 0, wrong.join("\n"));
            });
            await check("the deploy workflow's identity can server-side apply the program's Secret by name, but not a NetworkPolicy", () => {
                const as = ["--as=system:serviceaccount:sample-app-dev:sample-app-deploy"];
                const secret = liveForApply(devNs, "secret", "redis-auth");
                // A server-side dry run is authorized like the real request and leaves the object as Pulumi owns it.
                kubectl([...as, "apply", "--server-side", "--dry-run=server", "--field-manager=sample-app-deploy-check", "--force-conflicts", "-f", "-"], JSON.stringify(secret));
                const policy = liveForApply(devNs, "networkpolicy", "sample-app-default-deny");
                const r = kubectlResult([...as, "apply", "--server-side", "--dry-run=server", "--field-manager=sample-app-deploy-check", "-f", "-"], JSON.stringify(policy));
                assert(r.status !== 0 && /forbidden/i.test(r.stderr), `a NetworkPolicy apply as the deployer: ${r.stderr || "allowed"}`);
            });
        });

        await phase("dev: the app through the ingress controller", async () => {
            await check(`${devUrl}/ serves the UI through Traefik and /api reaches the API`, async () => {
                const ui = await request(`${devUrl}/`);
                assert(ui.status === 200 && /<html/i.test(ui.body), `GET / -> ${ui.status}`);
                const api = await request(`${devUrl}/api/users?limit=1`);
                assert(api.status === 200, `GET /api/users -> ${api.status} ${api.body.slice(0, 200)}`);
            });
            await check("the e2e checks (npm run e2e) pass in Chromium against the deployed dev stack", async () => {
                // The e2e's "API down" check stops the API the way an outage would: no API pod at all.
                const k = KUBECTL_ARGS.map(a => `'${a}'`).join(" ");
                const stopApi = `${k} -n ${devNs} scale deployment/user-api --replicas=0 && ${k} -n ${devNs} wait --for=delete pod -l app.kubernetes.io/name=user-api --timeout=90s`;
                const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "e2e", "run.mjs")], {
                    env: { ...process.env, E2E_BASE_URL: devUrl.replace(/\/$/, ""), E2E_STOP_API: stopApi }, encoding: "utf8", timeout: 300_000,
                });
                kubectl(["-n", devNs, "scale", "deployment/user-api", "--replicas=1"]);
                // Back when a user would say so: a request through the gateway reaches the API again.
                await waitUntil("the API answers through the gateway again", 120, async () => (await request(`${devUrl}/api/users?limit=1`)).status === 200);
                const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
                assert(r.status === 0, `e2e failed:\n${tail}`);
                line(`       ${tail.split("\n").filter(l => /^\d+ passed, \d+ failed$|^e2e took/.test(l)).join("; ")}`);
            });
        });

        await phase("dev: Redis keeps its data when its pod is deleted", async () => {
            await check("a user written through the API is still there after the Redis pod is deleted and comes back", async () => {
                const email = `persist-${Date.now()}@example.com`;
                const created = await request(`${devUrl}/api/users`, "POST", JSON.stringify({ name: "Persistent Pat", email }));
                assert(created.status === 201, `create -> ${created.status} ${created.body}`);
                const id = (JSON.parse(created.body) as { id: string }).id;
                const before = pods(devNs, "redis")[0];
                kubectl(["-n", devNs, "delete", "pod", before.metadata.name, "--wait=true"]);
                const s = await waitUntil("redis pod Ready again", 120, () => {
                    const p = pods(devNs, "redis")[0];
                    return p !== undefined && p.metadata.uid !== before.metadata.uid && p.status.conditions?.some(c => c.type === "Ready" && c.status === "True") === true;
                });
                line(`       redis pod back and Ready in ${s.toFixed(1)}s`);
                await waitUntil("the API reads from the new Redis pod", 60, async () => (await request(`${devUrl}/api/users/${id}`)).status === 200);
                const got = await request(`${devUrl}/api/users/${id}`);
                assert((JSON.parse(got.body) as { email: string }).email === email, `got ${got.body}`);
            });
        });

        await phase("dev: updates with pulumi up", async () => {
            await check("an up of the unchanged stack changes no object (same generation, or resourceVersion where there is none)", async () => {
                const before = versionsOf(dev!);
                dev = await deploy("dev", {}, quiet);
                const after = versionsOf(dev);
                const changed = [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
                assert(changed.length === 0, `changed by the up: ${changed.join(", ")}`);
                assert(Object.keys(dev.changes).every(op => op === "same"), `the engine counted ${JSON.stringify(dev.changes)}`);
            });
            for (const img of ["api", "web"]) {
                execFileSync("ctr", ["--address", CONTAINERD_SOCK, "-n", "k8s.io", "images", "tag", "--force",
                    `docker.io/sample-app/${img}:0.1.0`, `docker.io/sample-app/${img}:0.1.0-rollout`], { stdio: "pipe" });
            }
            await check("a preview of a new imageTag shows exactly an update of the two Deployments, with the image lines, and no replacement", async () => {
                const events: EngineEvent[] = [];
                let out = "";
                await preview("dev", { imageTag: "0.1.0-rollout" }, { onOutput: t => { out += t; }, onEvent: e => events.push(e) });
                const steps = changedSteps(events);
                assert(JSON.stringify(steps) === JSON.stringify(["update kubernetes:apps/v1:Deployment frontend", "update kubernetes:apps/v1:Deployment user-api"]), `steps: ${steps.join("; ")}`);
                assert(/sample-app\/api:0\.1\.0"? => "?.*sample-app\/api:0\.1\.0-rollout/.test(out) || /api:0\.1\.0-rollout/.test(out), `the diff does not show the new image:\n${out.slice(-2000)}`);
                line(`       ${steps.join("; ")}`);
            });
            await check("pulumi up of the new imageTag rolls out under continuous load without one failed request", async () => {
                const traffic = load(`${devUrl}/api/users?limit=5`, 4);
                dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
                const r = await traffic.stop();
                const images = pods(devNs, "user-api").map(p => p.spec.containers[0].image);
                assert(images.length > 0 && images.every(i => i.endsWith(":0.1.0-rollout")), `API pods run ${images.join(", ")}`);
                line(`       ${r.ok} requests answered during the rollout, ${r.failed} failed; ${JSON.stringify(dev.changes)}`);
                assert(r.ok > 0 && r.failed === 0, `failed requests:\n${r.errors.join("\n")}`);
            });
            await check("a change to nginx.conf: the preview replaces the frontend's ConfigMap by a new one and updates its Deployment; the up rolls the pods under load without one failed request", async () => {
                const before = pods(devNs, "frontend").map(p => p.metadata.uid);
                const oldMaps = json<K8sList<{ metadata: Meta }>>(["-n", devNs, "get", "configmap", "-l", "app.kubernetes.io/name=frontend"]).items.map(c => c.metadata.name);
                const r = await withNginxConfEdit("# edited by the cluster test", async () => {
                    const events: EngineEvent[] = [];
                    await preview("dev", { imageTag: "0.1.0-rollout" }, { ...quiet, onEvent: e => events.push(e) });
                    const steps = changedSteps(events);
                    const want = ["create-replacement kubernetes:core/v1:ConfigMap frontend-nginx", "replace kubernetes:core/v1:ConfigMap frontend-nginx", "update kubernetes:apps/v1:Deployment frontend"];
                    assert(want.every(w => steps.includes(w)) && steps.every(st => want.includes(st) || st === "delete-replaced kubernetes:core/v1:ConfigMap frontend-nginx"), `steps: ${steps.join("; ")}`);
                    line(`       preview: ${steps.join("; ")}`);
                    const traffic = load(`${devUrl}/`, 4);
                    dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
                    return traffic.stop();
                });
                const after = pods(devNs, "frontend");
                assert(after.every(p => !before.includes(p.metadata.uid)), "frontend pods were not replaced");
                const maps = json<K8sList<{ metadata: Meta; data: Record<string, string> }>>(["-n", devNs, "get", "configmap", "-l", "app.kubernetes.io/name=frontend"]).items;
                assert(maps.length === 1 && !oldMaps.includes(maps[0].metadata.name), `ConfigMaps now: ${maps.map(m => m.metadata.name).join(", ")} (before: ${oldMaps.join(", ")})`);
                assert(maps[0].data["nginx.conf"].includes("# edited by the cluster test"), "the new ConfigMap lacks the change");
                line(`       ${oldMaps.join(", ")} -> ${maps[0].metadata.name}; ${r.ok} requests answered during the roll, ${r.failed} failed`);
                assert(r.ok > 0 && r.failed === 0, `failed requests:\n${r.errors.join("\n")}`);
                // The user reverts the edit: the next up puts the repository's nginx.conf back.
                dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
            });
        });

        await phase("dev: pull-request comments from real previews", async () => {
            const comment = async (extra: Record<string, string | undefined>, before?: (st: Stack) => Promise<() => Promise<void>>) => {
                const events: EngineEvent[] = [];
                const st = await localStack("dev", { imageTag: "0.1.0-rollout", ...extra });
                const undo = before ? await before(st) : async () => undefined;
                try {
                    await st.preview({ diff: true, onOutput: () => undefined, onEvent: e => events.push(e), color: "never" });
                } finally {
                    await undo();
                }
                return renderComment(events, "dev");
            };
            await check("an image change: the comment lists the two Deployments with the old and new image, nothing replaced", async () => {
                const md = await comment({ imageTag: "0.1.0" });
                assert(/\*\*2 to update/.test(md) && !/Replaced or deleted/.test(md), md);
                assert(/`user-api` \| apps\/v1:Deployment \| `spec\.template\.spec\.containers\[0\]\.image`: `[^`]*api:0\.1\.0-rollout` → `[^`]*api:0\.1\.0`/.test(md), md);
            });
            await check("a replica change: the comment shows spec.replicas 1 → 2 on the frontend", async () => {
                const md = await comment({ frontendReplicas: "2" });
                assert(/`frontend` \| apps\/v1:Deployment \| `spec\.replicas`: `1` → `2`/.test(md), md);
            });
            await check("a change that replaces (nginx.conf): the comment calls out the ConfigMap's replacement first, with its reason", async () => {
                const md = await withNginxConfEdit("# another edit", () => comment({}));
                assert(/\*\*Replaced or deleted\*\*[^|]*🔁 \*\*replace\*\* v1:ConfigMap `frontend-nginx`, because [^\n]*`metadata\.name`[^\n]* changes?/.test(md), md);
            });
            await check("a new Redis password: the comment shows the Secret's fields change, and neither password, plain or base64", async () => {
                const key = "sample-app:redisPassword";
                const next = `preview-only-${Date.now()}-password`;
                let old = "";
                const md = await comment({}, async st => {
                    old = (await st.getConfig(key)).value;
                    await st.setConfig(key, { value: next, secret: true });
                    return async () => st.setConfig(key, { value: old, secret: true });
                });
                assert(/`redis-auth` \| v1:Secret \| [^\n]*`\[secret\]`/.test(md), md);
                for (const leak of [old, next, Buffer.from(old).toString("base64"), Buffer.from(next).toString("base64")]) {
                    assert(!md.includes(leak), "the comment shows a password");
                }
                await preview("dev", { imageTag: "0.1.0-rollout" }, { ...quiet, expectNoChanges: true });
            });
        });

        await phase("dev: network flows under kube-router", async () => {
            // The table's dev scenario admits a metrics namespace to the API's /metrics.
            await check(`dev with metricsNamespace=${METRICS_NAMESPACE} deploys`, async () => {
                dev = await deploy("dev", { imageTag: "0.1.0-rollout", metricsNamespace: METRICS_NAMESPACE }, quiet);
            });
            await checkFlows(FLOW_SCENARIOS[0].name);
        });

        await phase("deploy test", async () => {
            await check(`test (Redis in Sentinel mode) deploys and every pod is Ready within ${READY_BOUND_S}s of the apply`, async () => {
                // test runs Redis the way prod does: Sentinel mode, three pods, automatic failover.
                test = await deploy("test", { redisMode: "sentinel" }, quiet);
                line(`       up took ${test.readySeconds.toFixed(1)}s: ${JSON.stringify(test.changes)}`);
                assert(test.readySeconds <= READY_BOUND_S, `took ${test.readySeconds.toFixed(1)}s`);
            });
        });

        if (test !== undefined) {
            await phase("test: network flows under kube-router", async () => {
                await checkFlows(FLOW_SCENARIOS[1].name);
            });
        }

        if (test !== undefined) {
            await phase("test: autoscaling", async () => {
                await check("test's API HPA scales out under load and back in when it stops", async () => {
                    const hpa = () => json<{ spec: { minReplicas: number; maxReplicas: number }; status: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: unknown[] } }>(["-n", testNs, "get", "hpa", "user-api"]);
                    await waitUntil("the HPA reads CPU metrics", 120, () => (hpa().status.currentMetrics ?? []).length > 0, 2000);
                    const min = hpa().spec.minReplicas;
                    const traffic = load(`${stackUrl("test")}/api/users?limit=100`, 24);
                    let out: number;
                    try {
                        out = await waitUntil(`more than ${min} API replicas`, 240, () => (hpa().status.desiredReplicas ?? 0) > min, 2000);
                    } finally {
                        const r = await traffic.stop();
                        line(`       load: ${r.ok} requests, ${r.failed} failed`);
                    }
                    line(`       scaled out to ${hpa().status.desiredReplicas} after ${out.toFixed(0)}s of load`);
                    const back = await waitUntil(`back to ${min} replicas`, 300, () => hpa().status.desiredReplicas === min, 3000);
                    line(`       back to ${min} ${back.toFixed(0)}s after the load stopped`);
                });
            });
        }

        if (test !== undefined) {
            await phase("test: Redis Sentinel failover", async () => {
                // kubectl of this cluster's version first on PATH, for the script.
                const bin = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-kubectl-"));
                fs.symlinkSync(KUBECTL_ARGS[0], path.join(bin, "kubectl"));
                try {
                    for (const mode of ["drain", "crash"]) {
                        await check(`deleting the Redis primary under write load (${mode}): the API writes again within 30s and no acknowledged write is lost`, () => {
                            const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "redis-failover-check.sh"), testNs, mode, "--", "--kubeconfig", KUBECTL_ARGS[2]], {
                                encoding: "utf8", timeout: 240_000,
                                env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOUND_S: "30", PORT: "18190" },
                            });
                            for (const l of `${r.stdout}`.trim().split("\n").filter(Boolean)) line(`       ${l}`);
                            assert(r.status === 0, `failover check failed (exit ${r.status}):\n${r.stderr.trim().split("\n").slice(-15).join("\n")}`);
                        });
                        await waitUntil("every test pod Ready again", 120, () => allReady(testNs), 2000);
                    }
                } finally {
                    fs.rmSync(bin, { recursive: true, force: true });
                }
                await check("a drain cannot take a second Redis pod while one is away: the PodDisruptionBudget keeps the Sentinel quorum", async () => {
                    await waitUntil("every test pod Ready", 120, () => allReady(testNs), 2000);
                    const pdb = () => json<K8sList<{ metadata: Meta; status: { disruptionsAllowed?: number } }>>(["-n", testNs, "get", "pdb", "-l", "app.kubernetes.io/name=redis"]).items;
                    assert(pdb().length === 1, "no PodDisruptionBudget for Redis");
                    await waitUntil("the Redis PDB allows one disruption", 60, () => (pdb()[0].status.disruptionsAllowed ?? 0) >= 1, 1000);
                    // What `kubectl drain` does to each pod: the Eviction API, which honours PDBs.
                    const evict = (pod: string) => kubectlResult(["create", "--raw", `/api/v1/namespaces/${testNs}/pods/${pod}/eviction`, "-f", "-"],
                        JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: testNs } }));
                    const first = evict("redis-0");
                    assert(first.status === 0, `evicting the first pod was refused: ${first.stderr}`);
                    const second = evict("redis-1");
                    assert(second.status !== 0 && /disruption budget|TooManyRequests|429/i.test(second.stderr), `a second eviction was not refused: ${second.stderr || "allowed"}`);
                    line(`       first eviction allowed, second refused: ${second.stderr.trim().split("\n")[0].slice(0, 140)}`);
                    await waitUntil("every test pod Ready again", 180, () => allReady(testNs) && pods(testNs, "redis").length === 3, 2000);
                });
            });
        }

        await phase("canary through the Gateway API: test as gray of dev", async () => {
            if (test !== undefined) {
                await check("the test stack can be removed to make room for the canary", async () => {
                    await removeStack("test");
                    test = undefined;
                });
            }
            await check("header requests always reach the canary's pods, and dev's grayWeight (20 %) of plain requests does, within 4 sigma", async () => {
                // prod's (here dev's) own config names the canary and its share; gray (here test) adds a header-only route.
                dev = await deploy("dev", { imageTag: "0.1.0-rollout", grayNamespace: testNs, grayWeight: "20" }, quiet);
                // gray's StackReference reads dev's outputs (namespace, host, Redis address and password) from the same backend.
                test = await deploy("test", { prodStack: "dev", host: undefined }, quiet);
                assert(test.outputs.host === dev.outputs.host, `the canary serves ${String(test.outputs.host)}, dev ${String(dev.outputs.host)}`);
                const marker = `split-${Date.now()}`;
                const header = { "X-Canary": "always" };
                await waitUntil("Traefik routes the canary header", 60, async () => (await requestWith(`${devUrl}/?${marker}-warmup`, header)).status === 200);
                const plainN = 400;
                const headerN = 100;
                for (let i = 0; i < plainN; i++) {
                    assert((await request(`${devUrl}/?${marker}-p-${i}`)).status === 200, `plain request ${i} failed`);
                }
                for (let i = 0; i < headerN; i++) {
                    assert((await requestWith(`${devUrl}/?${marker}-h-${i}`, header)).status === 200, `header request ${i} failed`);
                }
                const served = (ns: string, kind: string) => kubectl(["-n", ns, "logs", "-l", "app.kubernetes.io/name=frontend", "--tail=-1", "--prefix=false", "--ignore-errors"])
                    .split("\n").filter(l => l.includes(`${marker}-${kind}-`)).length;
                // nginx may buffer its access log for a moment: wait until both frontends have logged every request.
                await waitUntil("every request in the frontends' access logs", 30,
                    () => served(testNs, "p") + served(devNs, "p") >= plainN && served(testNs, "h") + served(devNs, "h") >= headerN).catch(() => undefined);
                const plainGray = served(testNs, "p");
                const plainProd = served(devNs, "p");
                const headerGray = served(testNs, "h");
                const headerProd = served(devNs, "h");
                line(`       plain: ${plainProd} to dev, ${plainGray} to test (${((100 * plainGray) / plainN).toFixed(1)} %, want 20 % ± ${(400 * Math.sqrt(0.2 * 0.8 / plainN)).toFixed(1)} %); header: ${headerGray} to test, ${headerProd} to dev`);
                assert(plainGray + plainProd === plainN && headerGray + headerProd === headerN, "some requests were not logged by either frontend");
                assert(headerProd === 0, `${headerProd} header requests reached dev`);
                assert(withinTolerance(plainGray, plainN, 0.2), `${plainGray} of ${plainN} plain requests reached test`);
            });
            if (test !== undefined) {
                await checkFlows(FLOW_SCENARIOS[2].name);
            }
            await check("setting dev's grayWeight back to 0 and then removing the canary leaves every request on dev", async () => {
                dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
                await destroy("test", { prodStack: "dev", host: undefined }, quiet);
                test = undefined;
                for (let i = 0; i < 20; i++) {
                    assert((await requestWith(`${devUrl}/`, { "X-Canary": "always" })).status === 200, "a header request failed after the canary was removed");
                    assert((await request(`${devUrl}/api/users?limit=1`)).status === 200, "a plain request failed after the canary was removed");
                }
            });
        });

        await phase("network policies", async () => {
            await check("every flow of the table's local scenarios was tried under enforcement, each as designed", () => {
                const want = FLOW_SCENARIOS.filter(sc => sc.onLocalCluster).reduce((n, sc) => n + sc.flows.length, 0);
                line(`       ${flowSummary(flowResults)}`);
                assert(flowResults.length === want, `${flowResults.length} of the ${want} flows were tried`);
                assert(flowResults.every(r => r.observed === r.flow.verdict), "some flows were not as designed (see above)");
            });
        });

        await phase("destroy", async () => {
            if (dev !== undefined) {
                await check("with protect set, pulumi destroy of dev stops at the protected namespace and Redis: they, the volume and the data stay; an up that lifts protect brings the rest back", async () => {
                    const dbsize = () => kubectl(["-n", devNs, "exec", "redis-0", "-c", "redis", "--", "sh", "-c",
                        "redis-cli --no-auth-warning -a \"$(cat /etc/redis/auth/password)\" DBSIZE"]).trim();
                    const keys = dbsize();
                    assert(Number(keys) > 0, `Redis holds no keys before the destroy (${keys})`);
                    await deploy("dev", { imageTag: "0.1.0-rollout", protect: "true" }, quiet);
                    try {
                        const refused = await destroy("dev", { imageTag: "0.1.0-rollout", protect: "true" }, quiet).then(() => undefined, (e: unknown) => String(e instanceof Error ? e.message : e));
                        assert(refused !== undefined, "destroy of a protected stack succeeded");
                        assert(/cannot be deleted/.test(refused) && /protect/.test(refused), `destroy failed for another reason:\n${refused.slice(-1500)}`);
                        for (const [kind, name] of [["namespace", devNs], ["statefulset", "redis"], ["secret", "redis-auth"], ["pvc", "data-redis-0"]]) {
                            assert(kubectlResult([...(kind === "namespace" ? [] : ["-n", devNs]), "get", kind, name]).status === 0, `${kind} ${name} was deleted`);
                        }
                        await waitUntil("Redis Ready", 120, () => pods(devNs, "redis").every(p => p.status.conditions?.some(c => c.type === "Ready" && c.status === "True")), 2000);
                        assert(dbsize() === keys, `Redis held ${keys} keys before the refused destroy, ${dbsize()} after`);
                        line(`       refused at the protected objects; namespace, Redis, its Secret and volume stay with ${keys} keys`);
                    } finally {
                        await deploy("dev", { imageTag: "0.1.0-rollout", protect: "false" }, quiet);
                    }
                    assert(allReady(devNs), "dev is not whole again after the up without protect");
                });
            }
            for (const stack of ["test", "dev"]) {
                if ((stack === "dev" ? dev : test) === undefined) continue;
                await check(`pulumi destroy of ${stack} leaves no object with its labels, namespaced or cluster-scoped, and no volume`, async () => {
                    line(`       ${await removeStack(stack)} volume(s) reclaimed`);
                    const left = labelledObjects(stack);
                    assert(left.length === 0, `left behind: ${left.join(", ")}`);
                });
            }
        });
    } finally {
        if (!wasUp && !keep) {
            await phase("cluster down", async () => {
                await check("npm run cluster -- down leaves nothing running", () => clusterSh("down"));
            });
        }
        const passed = results.filter(r => r.ok).length;
        line(`phases: ${phases.map(([n, s]) => `${n} ${s.toFixed(0)}s`).join(", ")}`);
        line(`cluster tests took ${((Date.now() - started) / 1000).toFixed(0)} s`);
        line(`${passed} passed, ${results.length - passed} failed`);
        process.exitCode = results.length > 0 && passed === results.length ? 0 : 1;
    }
}

main().catch(e => {
    line(`FAIL unexpected error: ${e instanceof Error ? e.stack : String(e)}`);
    process.exitCode = 1;
});
