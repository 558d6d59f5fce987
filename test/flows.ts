/**
 * The designed network flows, allowed and denied, as one table: the single list that `npm test`
 * checks against the NetworkPolicies the program renders (test/flows.spec.ts, with the evaluator in
 * netpol.ts) and that the cluster suite tries with real connections on the local cluster, where an
 * enforcer (kube-router's firewall) applies the same policies.
 *
 * Pure data, with no import of the components or the policy pack: the table states the design, and
 * the spec fails when what the program renders stops matching it. A row's ends are pods at the
 * address a connection really reaches: pod ports (a Service's targetPort, after kube-proxy's DNAT),
 * since NetworkPolicy sees the pod, not the Service.
 *
 * How the cluster suite is meant to use a row:
 * - `from` is a pod with exactly `labels` in `namespace`. For a row whose source is one of our
 *   workloads (`workload` set) it may run the probe in that workload's pod (`kubectl exec`, where
 *   the image has a shell) or start a probe pod with those labels; such a pod must never be Ready
 *   (a readiness probe that always fails), so no Service sends it traffic. Unlabelled sources
 *   (`labels: {}`) stand for any pod of their namespace.
 * - `to` is every pod matching `labels` in `namespace` (the check picks one, by IP), or an address.
 * - A denied row must fail by timeout or refusal (kube-router rejects with ICMP port unreachable,
 *   yet on the local node most denied connects time out), and the same probe must succeed without
 *   the policies: every row's destination has a listener on that port (the cluster check connects
 *   from the node, which kube-router admits before any policy).
 */

/** What the policies do with a connection. */
export type Verdict = "allowed" | "denied";

/** Pods of a namespace, by labels. */
export interface PodsEnd {
    readonly namespace: string;
    /** The pod's labels (a source: exactly these; a destination: a selector). `{}`: an unlabelled pod. */
    readonly labels: Readonly<Record<string, string>>;
    /** Which of a stack's workloads these pods are (a Deployment or StatefulSet name); absent for probe pods and addons. */
    readonly workload?: string;
}

/** An address outside the pod network. */
export interface AddressEnd {
    readonly address: string;
    /** What listens there. */
    readonly what: string;
}

export type FlowEnd = PodsEnd | AddressEnd;

export interface Flow {
    /** Says what the row is, for a person: "frontend -> user-api". */
    readonly name: string;
    readonly from: PodsEnd;
    readonly to: FlowEnd;
    readonly port: number;
    readonly protocol: "TCP" | "UDP";
    readonly verdict: Verdict;
}

/** One stack as a scenario deploys it. */
export interface StackDeployment {
    readonly stack: "dev" | "test" | "gray" | "prod";
    /** Config overrides (keys without the `sample-app:` prefix; `undefined` removes a key of the stack file). */
    readonly config: Readonly<Record<string, string | number | undefined>>;
    /** The stack of the scenario whose outputs this one's StackReference reads (a canary's prod). */
    readonly readsOutputsOf?: StackDeployment["stack"];
}

/** Stacks deployed together and the flows to try between them. */
export interface FlowScenario {
    readonly name: string;
    /** In deployment order: a canary after the stack whose outputs it reads. */
    readonly stacks: readonly StackDeployment[];
    /** Namespaces the check creates for probe pods (none of the stacks' own). */
    readonly probeNamespaces: readonly string[];
    /** Whether the local cluster can run it; false: `npm test` only (the backup Job needs a snapshot-capable class). */
    readonly onLocalCluster: boolean;
    readonly flows: readonly Flow[];
}

/** The local cluster's addresses (scripts/cluster/lib.sh; test/flows.spec.ts keeps them equal). */
export const LOCAL_CLUSTER = {
    /** CP_IP: the control plane's address on the cluster's bridge, outside the pod network; the API server listens there. */
    controlPlaneIp: "10.77.0.1",
    /** API_PORT: the API server's port (the `kubernetes` Service's 443 is DNATed to it). */
    apiPort: 6443,
    /** The first node's address (node_ip 1): its kubelet listens there, outside the pod network. */
    nodeIp: "10.77.0.11",
    /** The kubelet's port on a node's address: admitted by no policy. */
    kubeletPort: 10250,
} as const;

/** The cluster DNS pods (addons.yaml: CoreDNS, listening on 53 as the policies expect). */
export const DNS: PodsEnd = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
/** The gateway's data plane: the Traefik pods (addons.yaml), which the `local` profile names as the frontend's traffic source. */
export const GATEWAY: PodsEnd = { namespace: "traefik", labels: { "app.kubernetes.io/name": "traefik" } };
/** A namespace that is none of ours, for probe pods. */
export const STRANGER_NAMESPACE = "netpol-stranger";
/** The Prometheus namespace the dev stack admits to the API's /metrics in the flow scenarios. */
export const METRICS_NAMESPACE = "monitoring";

/** What makes test the canary (gray) of dev: prodStack, no host of its own, and dev's Gateway to attach to. */
export const CANARY_OF_DEV: Readonly<Record<string, string | undefined>> = {
    prodStack: "dev", host: undefined, gatewayName: "sample-app", gatewayNamespace: "sample-app-dev",
};

/** Namespace of a stack (the `namespace` key's default). */
export function namespaceOf(stack: string): string {
    return `sample-app-${stack}`;
}

/** A workload's pods: the selector labels every stack gives them (name, instance, component). */
function workload(stack: string, name: string, component: string, extra: Record<string, string> = {}): PodsEnd {
    return {
        namespace: namespaceOf(stack),
        labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": stack, "app.kubernetes.io/component": component, ...extra },
        workload: name,
    };
}

const frontend = (stack: string) => workload(stack, "frontend", "frontend");
const api = (stack: string) => workload(stack, "user-api", "backend");
const redis = (stack: string) => workload(stack, "redis", "database");
/** One pod of the Redis StatefulSet. */
const redisPod = (stack: string, i: number) => workload(stack, "redis", "database", { "statefulset.kubernetes.io/pod-name": `redis-${i}` });
const backup = (stack: string) => workload(stack, "redis-backup", "backup");
const unlabelled = (namespace: string): PodsEnd => ({ namespace, labels: {} });
const apiServer: AddressEnd = { address: LOCAL_CLUSTER.controlPlaneIp, what: "the Kubernetes API server" };

function tcp(name: string, from: PodsEnd, to: FlowEnd, port: number, verdict: Verdict): Flow {
    return { name, from, to, port, protocol: "TCP", verdict };
}

/** Every pod named → cluster DNS, on UDP and TCP 53. */
function dns(pods: [string, PodsEnd][]): Flow[] {
    return pods.flatMap(([who, from]) => (["UDP", "TCP"] as const).map(protocol =>
        ({ name: `${who} -> cluster DNS ${protocol} 53`, from, to: DNS, port: 53, protocol, verdict: "allowed" as const })));
}

/**
 * The flow scenarios: three the local cluster runs (dev and test as their stack files say, which
 * scripts/cluster/deploy.ts deploys as they are), one of the ACK stacks for `npm test` only.
 */
export const FLOW_SCENARIOS: readonly FlowScenario[] = [
    {
        name: "dev alone (one Redis pod), with a metrics namespace",
        stacks: [{ stack: "dev", config: { metricsNamespace: METRICS_NAMESPACE } }],
        probeNamespaces: [METRICS_NAMESPACE, STRANGER_NAMESPACE],
        onLocalCluster: true,
        flows: [
            tcp("gateway -> frontend", GATEWAY, frontend("dev"), 8080, "allowed"),
            tcp("frontend -> user-api", frontend("dev"), api("dev"), 8080, "allowed"),
            tcp("user-api -> redis", api("dev"), redis("dev"), 6379, "allowed"),
            ...dns([["frontend", frontend("dev")], ["user-api", api("dev")], ["redis", redis("dev")]]),
            tcp("metrics namespace -> user-api /metrics", unlabelled(METRICS_NAMESPACE), api("dev"), 8080, "allowed"),
            tcp("metrics namespace -> redis", unlabelled(METRICS_NAMESPACE), redis("dev"), 6379, "denied"),
            tcp("metrics namespace -> frontend", unlabelled(METRICS_NAMESPACE), frontend("dev"), 8080, "denied"),
            tcp("unlabelled pod -> redis", unlabelled(namespaceOf("dev")), redis("dev"), 6379, "denied"),
            tcp("unlabelled pod -> user-api", unlabelled(namespaceOf("dev")), api("dev"), 8080, "denied"),
            tcp("unlabelled pod -> frontend", unlabelled(namespaceOf("dev")), frontend("dev"), 8080, "denied"),
            tcp("frontend -> redis", frontend("dev"), redis("dev"), 6379, "denied"),
            tcp("user-api -> frontend", api("dev"), frontend("dev"), 8080, "denied"),
            tcp("redis -> user-api", redis("dev"), api("dev"), 8080, "denied"),
            tcp("another namespace -> user-api", unlabelled(STRANGER_NAMESPACE), api("dev"), 8080, "denied"),
            tcp("another namespace -> redis", unlabelled(STRANGER_NAMESPACE), redis("dev"), 6379, "denied"),
            tcp("another namespace -> frontend", unlabelled(STRANGER_NAMESPACE), frontend("dev"), 8080, "denied"),
            tcp("frontend -> API server", frontend("dev"), apiServer, LOCAL_CLUSTER.apiPort, "denied"),
            tcp("user-api -> API server", api("dev"), apiServer, LOCAL_CLUSTER.apiPort, "denied"),
            tcp("redis -> API server", redis("dev"), apiServer, LOCAL_CLUSTER.apiPort, "denied"),
            tcp("user-api -> an address outside the pod network (the node's kubelet)", api("dev"),
                { address: LOCAL_CLUSTER.nodeIp, what: "the kubelet" }, LOCAL_CLUSTER.kubeletPort, "denied"),
            tcp("frontend -> an address outside the pod network (the node's kubelet)", frontend("dev"),
                { address: LOCAL_CLUSTER.nodeIp, what: "the kubelet" }, LOCAL_CLUSTER.kubeletPort, "denied"),
        ],
    },
    {
        name: "test with Redis in Sentinel mode (three pods, a Sentinel in each)",
        stacks: [{ stack: "test", config: { redisMode: "sentinel" } }],
        probeNamespaces: [STRANGER_NAMESPACE],
        onLocalCluster: true,
        flows: [
            tcp("user-api -> redis", api("test"), redis("test"), 6379, "allowed"),
            tcp("user-api -> Sentinel", api("test"), redis("test"), 26379, "allowed"),
            tcp("redis-0 -> redis-1 (replication)", redisPod("test", 0), redisPod("test", 1), 6379, "allowed"),
            tcp("redis-0 -> redis-1's Sentinel (Sentinels talk to each other)", redisPod("test", 0), redisPod("test", 1), 26379, "allowed"),
            tcp("redis-1 -> redis-0 (replication)", redisPod("test", 1), redisPod("test", 0), 6379, "allowed"),
            ...dns([["redis", redis("test")], ["user-api", api("test")]]),
            tcp("frontend -> redis", frontend("test"), redis("test"), 6379, "denied"),
            tcp("frontend -> Sentinel", frontend("test"), redis("test"), 26379, "denied"),
            tcp("unlabelled pod -> Sentinel", unlabelled(namespaceOf("test")), redis("test"), 26379, "denied"),
            tcp("another namespace -> Sentinel", unlabelled(STRANGER_NAMESPACE), redis("test"), 26379, "denied"),
            tcp("redis -> user-api", redis("test"), api("test"), 8080, "denied"),
        ],
    },
    {
        name: "test as the canary (gray) of dev: test's API on dev's Redis across namespaces",
        stacks: [
            // Both scraped by the cluster's Prometheus, which the canary's judgement queries.
            { stack: "dev", config: { grayNamespace: namespaceOf("test"), grayWeight: 20, metricsNamespace: METRICS_NAMESPACE } },
            // A canary's header route attaches to prod's Gateway: dev's own, of class traefik.
            { stack: "test", config: { ...CANARY_OF_DEV, metricsNamespace: METRICS_NAMESPACE }, readsOutputsOf: "dev" },
        ],
        probeNamespaces: [STRANGER_NAMESPACE, METRICS_NAMESPACE],
        onLocalCluster: true,
        flows: [
            tcp("gateway -> the canary's frontend", GATEWAY, frontend("test"), 8080, "allowed"),
            tcp("the canary's frontend -> its user-api", frontend("test"), api("test"), 8080, "allowed"),
            tcp("the canary's user-api -> dev's redis", api("test"), redis("dev"), 6379, "allowed"),
            tcp("dev's user-api -> dev's redis", api("dev"), redis("dev"), 6379, "allowed"),
            ...dns([["the canary's user-api", api("test")]]),
            tcp("the canary's frontend -> dev's redis", frontend("test"), redis("dev"), 6379, "denied"),
            tcp("an unlabelled pod of the canary's namespace -> dev's redis", unlabelled(namespaceOf("test")), redis("dev"), 6379, "denied"),
            tcp("the canary's user-api -> dev's user-api", api("test"), api("dev"), 8080, "denied"),
            tcp("dev's frontend -> the canary's user-api", frontend("dev"), api("test"), 8080, "denied"),
            tcp("metrics namespace -> the canary's user-api /metrics", unlabelled(METRICS_NAMESPACE), api("test"), 8080, "allowed"),
            tcp("metrics namespace -> dev's redis", unlabelled(METRICS_NAMESPACE), redis("dev"), 6379, "denied"),
        ],
    },
    {
        name: "prod (Sentinel, daily backup) and gray on ACK",
        stacks: [{ stack: "prod", config: {} }, { stack: "gray", config: {}, readsOutputsOf: "prod" }],
        probeNamespaces: [STRANGER_NAMESPACE],
        onLocalCluster: false,
        flows: [
            tcp("gray's user-api -> prod's redis", api("gray"), redis("prod"), 6379, "allowed"),
            tcp("gray's user-api -> prod's Sentinel", api("gray"), redis("prod"), 26379, "allowed"),
            tcp("backup Job -> redis", backup("prod"), redis("prod"), 6379, "allowed"),
            tcp("backup Job -> Sentinel", backup("prod"), redis("prod"), 26379, "allowed"),
            // Without kubeApiServerCidrs the API server may be at any address, on the port it listens on (ACK: 6443), from the
            // backup pod only. A NetworkPolicy sees the port after the `kubernetes` Service's DNAT: the Service's 443 is not it.
            tcp("backup Job -> API server", backup("prod"), apiServer, 6443, "allowed"),
            tcp("backup Job -> API server (443, the Service's port before DNAT)", backup("prod"), apiServer, 443, "denied"),
            ...dns([["backup Job", backup("prod")]]),
            tcp("user-api -> API server", api("prod"), apiServer, 6443, "denied"),
            tcp("redis -> API server", redis("prod"), apiServer, 6443, "denied"),
            tcp("frontend -> API server (443)", frontend("prod"), apiServer, 443, "denied"),
            tcp("backup Job -> user-api", backup("prod"), api("prod"), 8080, "denied"),
            tcp("gray's frontend -> prod's redis", frontend("gray"), redis("prod"), 6379, "denied"),
            tcp("another namespace -> prod's redis", unlabelled(STRANGER_NAMESPACE), redis("prod"), 6379, "denied"),
        ],
    },
];

/** Whether a flow end is an address rather than pods. */
export function isAddress(end: FlowEnd): end is AddressEnd {
    return "address" in end;
}

/** A kubectl label selector (`-l`) for pods. */
export function labelSelector(end: PodsEnd): string {
    return Object.entries(end.labels).map(([k, v]) => `${k}=${v}`).join(",");
}

/** `N flows: M as designed`, the line the checks print. */
export function flowSummary(results: readonly { flow: Flow; observed: Verdict }[]): string {
    return `${results.length} flows: ${results.filter(r => r.observed === r.flow.verdict).length} as designed`;
}
