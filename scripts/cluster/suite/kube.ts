/**
 * What the suite reads from the cluster, as its admin (kubectl of the cluster's own version).
 */
import { spawn, spawnSync } from "child_process";
import { ADMIN_KUBECONFIG, KUBECTL, kubectl, resourceRef } from "../env";
import { StackObject } from "../../engine/stack";
import { EngineEvent } from "@pulumi/pulumi/automation";

export const KUBECTL_ARGS = [KUBECTL, "--kubeconfig", ADMIN_KUBECONFIG];

export function json<T>(args: string[]): T {
    return JSON.parse(kubectl([...args, "-o", "json"])) as T;
}

export interface K8sList<T> { items: T[] }
export interface Meta { name: string; namespace?: string; resourceVersion: string; generation?: number; uid: string; labels?: Record<string, string>; deletionTimestamp?: string }
export interface Pod {
    metadata: Meta;
    spec: { nodeName?: string; containers: Array<{ name: string; image: string; ports?: Array<{ name?: string; containerPort: number }> }> };
    status: { phase: string; podIP?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ restartCount: number; state: { running?: unknown } }>; initContainerStatuses?: Array<{ restartCount: number }> };
}

export function isReady(p: Pod): boolean {
    return p.status.conditions?.some(c => c.type === "Ready" && c.status === "True") === true;
}

/** Pods of a namespace, all or one workload's (by its app.kubernetes.io/name), without those on their way out. */
export function pods(ns: string, workload?: string): Pod[] {
    const sel = workload ? ["-l", `app.kubernetes.io/name=${workload}`] : [];
    return json<K8sList<Pod>>(["-n", ns, "get", "pods", ...sel]).items.filter(p => p.metadata.deletionTimestamp === undefined);
}

/**
 * Whether a Deployment's rollout has finished as `kubectl rollout status` sees it: its controller saw
 * the current spec, and every replica it counts is of the new template and available, so no pod of
 * an old ReplicaSet is left (Pulumi's await returns once the new ones are available, a moment before
 * the controller has scaled the old ReplicaSet down).
 */
export function rolledOut(ns: string, deployment: string): boolean {
    const d = json<{ metadata: Meta; spec: { replicas?: number }; status: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number } }>(["-n", ns, "get", "deployment", deployment]);
    const want = d.spec.replicas ?? 1;
    const s = d.status;
    return s.observedGeneration === d.metadata.generation && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want;
}

/** Every pod of the namespace (but finished Jobs') is Ready. */
export function allReady(ns: string): boolean {
    const ps = pods(ns).filter(p => p.status.phase !== "Succeeded");
    return ps.length > 0 && ps.every(isReady);
}

/**
 * Every pod of the namespace Ready, and every Deployment an HPA scales at least at the HPA's minimum
 * (a Deployment without spec.replicas starts with one pod: its HPA adds the rest within seconds).
 */
export function settled(ns: string): boolean {
    const hpas = json<K8sList<{ spec: { minReplicas?: number; scaleTargetRef: { name: string } } }>>(["-n", ns, "get", "hpa"]).items;
    const deployments = json<K8sList<{ metadata: Meta; status: { readyReplicas?: number } }>>(["-n", ns, "get", "deployments"]).items;
    return allReady(ns) && hpas.every(h => (deployments.find(d => d.metadata.name === h.spec.scaleTargetRef.name)?.status.readyReplicas ?? 0) >= (h.spec.minReplicas ?? 1));
}

/**
 * What would change if our apply changed an object: its generation where the API server keeps one
 * (workloads, policies: status updates by controllers do not bump it), else its resourceVersion.
 */
export function versionsOf(objects: readonly StackObject[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const o of objects) {
        const args = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
        const live = json<{ metadata: Meta }>([...args, "get", resourceRef(o as unknown as Record<string, unknown>)]);
        out.set(`${o.kind}/${o.metadata.name}`, live.metadata.generation ? `generation ${live.metadata.generation}` : `resourceVersion ${live.metadata.resourceVersion}`);
    }
    return out;
}

/** Every object of any kind, namespaced or cluster-scoped, that carries the stack's instance label. */
export function labelledObjects(stack: string): string[] {
    const kinds = kubectl(["api-resources", "--verbs=list", "-o", "name"]).split("\n").filter(k => k && !k.startsWith("events"));
    return kubectl(["get", kinds.join(","), "-A", "-l", `app.kubernetes.io/instance=${stack},app.kubernetes.io/part-of=sample-app`, "-o", "name", "--ignore-not-found"])
        .split("\n").filter(Boolean);
}

/** The steps of a preview, from its engine events: `op type name` for each resource that does not stay the same. */
export function changedSteps(events: readonly EngineEvent[]): string[] {
    return events.flatMap(e => {
        const m = e.resourcePreEvent?.metadata;
        if (!m || m.op === "same" || m.op === "read") return [];
        return [`${m.op} ${m.type} ${m.urn.split("::").pop()}`];
    }).sort();
}

/** An object as the API server has it, without what the server fills in: what `kubectl apply` of it would send again. */
export function liveForApply(ns: string, kind: string, name: string): Record<string, unknown> {
    const o = json<{ apiVersion: string; kind: string; metadata: Meta; [k: string]: unknown }>(["-n", ns, "get", kind, name]);
    const { status: _status, ...rest } = o;
    void _status;
    return { ...rest, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, labels: o.metadata.labels } };
}

/** kubectl as the admin without blocking the event loop (the load keeps running meanwhile). */
export function kubectlAsync(args: string[], input?: string): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise(resolve => {
        const c = spawn(KUBECTL_ARGS[0], [...KUBECTL_ARGS.slice(1), ...args], { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", d => { stdout += String(d); });
        c.stderr.on("data", d => { stderr += String(d); });
        c.on("close", code => resolve({ status: code ?? 1, stdout, stderr }));
        c.stdin.end(input);
    });
}

/**
 * Follows the logs of a workload's pods (every container, each line prefixed with pod and
 * container) from now until stopped: what a failed check prints. Pods made later are not followed.
 */
export function followLogs(ns: string, workload: string): { stop: () => string[] } {
    const c = spawn(KUBECTL_ARGS[0], [...KUBECTL_ARGS.slice(1), "-n", ns, "logs", "-f", "--prefix", "--all-containers", "--since=1s",
        "--max-log-requests=20", "-l", `app.kubernetes.io/name=${workload}`], { stdio: ["ignore", "pipe", "ignore"] });
    let text = "";
    c.stdout.on("data", d => { text += String(d); });
    return { stop: () => { c.kill(); return text.split("\n").filter(Boolean); } };
}

/** Runs a command in a container of a pod: its stdout (throws on failure, and after 20 s: a lost node's kubelet never answers). */
export function podExec(ns: string, pod: string, container: string, script: string): string {
    return kubectl(["-n", ns, "exec", pod, "-c", container, "--", "sh", "-c", script], undefined, { timeout: 20_000 });
}

/** The nodes that are Ready (a lost node's pods answer no exec: its kubelet is gone). */
export function readyNodes(): Set<string> {
    const nodes = json<K8sList<{ metadata: Meta; status: { conditions: Array<{ type: string; status: string }> } }>>(["get", "nodes"]).items;
    return new Set(nodes.filter(n => n.status.conditions.some(c => c.type === "Ready" && c.status === "True")).map(n => n.metadata.name));
}

/**
 * The Redis primary of a Sentinel-mode Redis, as the Sentinels name it (pod name): asked in the
 * Ready pods of Ready nodes, but not on `avoid` (a node known to be lost before the API server
 * marks it), each within a few seconds.
 */
export function redisPrimary(ns: string, avoid?: string): string {
    const up = readyNodes();
    const ready = pods(ns, "redis").filter(p => isReady(p) && up.has(p.spec.nodeName ?? "") && p.spec.nodeName !== avoid);
    for (const p of ready) {
        const r = spawnSync(KUBECTL_ARGS[0], [...KUBECTL_ARGS.slice(1), "-n", ns, "exec", p.metadata.name, "-c", "sentinel", "--", "sh", "-c",
            ". /etc/redis/conf/common.sh; local_sentinel --raw sentinel get-master-addr-by-name mymaster"], { encoding: "utf8", timeout: 5000 });
        const host = r.stdout.trim().split("\n")[0];
        if (r.status === 0 && host) return host.split(".")[0];
    }
    throw new Error(`no Sentinel of ${ns} names a primary`);
}
