/**
 * How long `pulumi up` of a stack takes from empty, against the floor: the same objects applied all
 * at once and waited for until ready, as if every dependency between them were free. Prints both
 * and their ratio (the target: up within 1.2 x the floor). A benchmark, not a test: run it on an
 * otherwise idle cluster.
 *
 *   npm run cluster:floor -- STACK [--runs=N] [key=value ...]     dev and test on `up`, prod on `up --nodes 3 --like ack`
 *
 * With --runs, each run is one pair (up, then floor) and a last line gives the medians.
 *
 * 1. `pulumi up` from empty (the stack must not exist), the command timed to the engine's summary
 *    (the provider waits for every Deployment and StatefulSet to be ready; the Automation API's
 *    reads of outputs and history after it are printed apart);
 * 2. the objects the state names, read back from the cluster without what the API server fills in,
 *    nor the replicas an HPA chose (the program leaves them to it);
 * 3. `pulumi destroy` (protect lifted for it), and wait until the namespace and its volumes are gone;
 * 4. those objects in one server-side apply, timed until every Deployment and StatefulSet has rolled
 *    out; then they are deleted again.
 */
import { spawn } from "child_process";
import { deploy, destroy } from "./deploy";
import { ADMIN_KUBECONFIG, KUBECTL, kubectl, kubectlResult, resourceRef } from "./env";
import { pods } from "./suite/kube";

type Obj = { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string }; [k: string]: unknown };

/** An object as the cluster has it, without what the API server fills in: what an apply creates again. */
function applyable(o: Obj): Obj {
    const { status: _s, ...rest } = o;
    void _s;
    const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, managedFields: _m, ...metadata } = o.metadata;
    void [_u, _r, _g, _c, _m];
    const out: Obj = { ...rest, metadata };
    if (o.kind === "Service") {
        const { clusterIP: _ip, clusterIPs: _ips, ...spec } = o.spec as Record<string, unknown>;
        void [_ip, _ips];
        out.spec = spec;
    }
    return out;
}

/**
 * The objects as the program applies them: an HPA's target without `spec.replicas`, which the
 * program leaves to the HPA (read back, it holds what the HPA chose after the up: the floor would
 * start every replica at once, where the up starts one and waits for the HPA to ask for more).
 */
function asTheProgramApplies(objects: Obj[]): Obj[] {
    const scaled = new Set(objects.filter(o => o.kind === "HorizontalPodAutoscaler").map(o => {
        const ref = (o.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        return `${o.metadata.namespace}/${ref.kind}/${ref.name}`;
    }));
    return objects.map(o => {
        if (!scaled.has(`${o.metadata.namespace}/${o.kind}/${o.metadata.name}`)) return o;
        const { replicas: _r, ...spec } = o.spec as Record<string, unknown>;
        void _r;
        return { ...o, spec };
    });
}

function rollout(kind: string, name: string, ns: string): Promise<number> {
    return new Promise(resolve => {
        const c = spawn("bash", ["-c", `for i in $(seq 1 600); do "$@" && exit 0; sleep 0.5; done; exit 1`, "_",
            ...kubectlArgs(["-n", ns, "rollout", "status", `${kind}/${name}`, "--timeout=300s"])], { stdio: "ignore" });
        c.on("close", code => resolve(code ?? 1));
    });
}

/** kubectl of the cluster, as its admin. */
function kubectlArgs(args: string[]): string[] {
    return [KUBECTL, "--kubeconfig", ADMIN_KUBECONFIG, ...args];
}

async function waitGone(ns: string): Promise<void> {
    for (let i = 0; i < 360; i++) {
        const volumes = (JSON.parse(kubectl(["get", "pv", "-o", "json"])) as { items: Array<{ spec: { claimRef?: { namespace: string } } }> }).items
            .filter(p => p.spec.claimRef?.namespace === ns).length;
        if (kubectlResult(["get", "namespace", ns]).status !== 0 && volumes === 0) return;
        await new Promise(r => setTimeout(r, 1000));
    }
    throw new Error(`namespace ${ns} still there after 6 minutes`);
}

/** Container restarts in the namespace: a container that failed because something it needs came later. */
function restarts(ns: string): number {
    return pods(ns).flatMap(p => [...(p.status.containerStatuses ?? []), ...(p.status.initContainerStatuses ?? [])]).reduce((n, c) => n + c.restartCount, 0);
}

/** One measurement: the up, then the floor, each from empty. */
interface Pair { up: number; upWithReads: number; floor: number; objects: number; restarts: number }

async function measure(stack: string, overrides: Record<string, string>): Promise<Pair> {
    const ns = `sample-app-${stack}`;
    if (kubectlResult(["get", "namespace", ns]).status === 0) throw new Error(`${ns} exists: the measurement starts from empty (npm run cluster -- destroy ${stack})`);
    const quiet = { onOutput: () => undefined };
    const up = await deploy(stack, overrides, quiet);
    const restartsAfterUp = restarts(ns);
    const objects = asTheProgramApplies(up.objects.map(o => applyable(JSON.parse(kubectl([...(o.metadata.namespace ? ["-n", o.metadata.namespace] : []), "get", resourceRef(o as unknown as Record<string, unknown>), "-o", "json"])) as Obj)));
    await deploy(stack, { ...overrides, protect: "false" }, quiet);
    await destroy(stack, { ...overrides, protect: "false" }, quiet);
    await waitGone(ns);

    const ordered = [...objects.filter(o => o.kind === "Namespace"), ...objects.filter(o => o.kind !== "Namespace")];
    const t0 = Date.now();
    kubectl(["apply", "--server-side", "--field-manager=floor", "--force-conflicts", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: ordered }));
    const waits = objects.filter(o => o.kind === "Deployment" || o.kind === "StatefulSet").map(o => rollout(o.kind.toLowerCase(), o.metadata.name, String(o.metadata.namespace)));
    const codes = await Promise.all(waits);
    const floor = (Date.now() - t0) / 1000;
    for (const o of [...objects].reverse().filter(x => x.kind !== "Namespace" && !x.metadata.namespace)) {
        kubectlResult(["delete", resourceRef(o), "--ignore-not-found", "--wait=false"]);
    }
    kubectlResult(["delete", "namespace", ns, "--wait=false"]);
    await waitGone(ns);
    if (codes.some(c => c !== 0)) throw new Error("a workload of the floor run did not roll out");
    return { up: up.commandSeconds, upWithReads: up.seconds, floor, objects: objects.length, restarts: restartsAfterUp };
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(argv: string[]): Promise<void> {
    const usage = "usage: npm run cluster:floor -- STACK [--runs=N] [key=value ...]";
    const [stack, ...rest] = argv;
    if (!stack || stack.startsWith("-")) throw new Error(usage);
    let runs = 1;
    const overrides: Record<string, string> = {};
    for (const a of rest) {
        const r = /^--runs=(\d+)$/.exec(a);
        const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(a);
        if (r && Number(r[1]) >= 1 && Number(r[1]) <= 20) runs = Number(r[1]);
        else if (m) overrides[m[1]] = m[2];
        else throw new Error(`${JSON.stringify(a)}: expected --runs=N (1 to 20) or key=value. ${usage}`);
    }
    const pairs: Pair[] = [];
    for (let i = 0; i < runs; i++) {
        const p = await measure(stack, overrides);
        pairs.push(p);
        process.stdout.write(`${stack}: pulumi up from empty ${p.up.toFixed(1)} s (${p.objects} objects, ${p.restarts} container restarts; ${p.upWithReads.toFixed(1)} s with the Automation API's reads after it); the floor, every object applied at once and waited for until ready, ${p.floor.toFixed(1)} s; up / floor = ${(p.up / p.floor).toFixed(2)}\n`);
    }
    if (runs > 1) {
        const ratios = pairs.map(p => p.up / p.floor);
        process.stdout.write(`${stack}, ${runs} runs: up median ${median(pairs.map(p => p.up)).toFixed(1)} s, floor median ${median(pairs.map(p => p.floor)).toFixed(1)} s; up / floor median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}); container restarts ${pairs.reduce((n, p) => n + p.restarts, 0)}\n`);
    }
}

main(process.argv.slice(2)).catch(e => {
    process.stderr.write(`cluster floor: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
