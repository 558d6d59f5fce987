import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import { standardLabels, Tier } from "./labels";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Rule = { from?: Peer[]; to?: Peer[]; ports: { protocol: string; port: number }[] };

/** A set of pods and the TCP port they serve on. */
export interface PodEndpoint {
    /** Labels that select the pods (matchLabels). */
    readonly podSelector: Record<string, string>;
    /** TCP port of the pods (the container port, not the Service port). */
    readonly port: number;
}

/** Pods in another namespace. */
export interface RemotePods {
    /** The other namespace's name. */
    readonly namespace: pulumi.Input<string>;
    /** Labels that select the pods there (matchLabels). */
    readonly podSelector: Record<string, string>;
}

/** Where public traffic to the frontend comes from (a gateway's data plane or an ingress controller): set exactly one of `namespace` and `cidrs`. */
export interface IngressSource {
    /** Namespace of the in-cluster proxies: a Gateway API implementation's data plane (e.g. Traefik) or an ingress controller. */
    readonly namespace?: string;
    /** Labels of the controller's pods in that namespace. Default: every pod of the namespace. */
    readonly podSelector?: Record<string, string>;
    /** CIDRs an out-of-cluster load balancer (e.g. ACK ALB) reaches the pods from. */
    readonly cidrs?: string[];
}

/** The Redis pods of this namespace. */
export interface RedisEndpoint extends PodEndpoint {
    /** Redis pods replicate from each other. Default: false. */
    readonly replication?: boolean;
    /** Port of the Sentinels beside each Redis: clients ask them for the primary, and they talk to each other and to every Redis. Default: none. */
    readonly sentinelPort?: number;
}

/** Pods in another namespace and the TCP port they serve on. */
export interface RemoteEndpoint extends RemotePods {
    /** TCP port of the pods. */
    readonly port: number;
    /** Port of Sentinels on the same pods, if any. Default: none. */
    readonly sentinelPort?: number;
}

/** A Redis outside the cluster (managed) at fixed addresses. */
export interface ManagedRedisEndpoint {
    /** CIDRs of its endpoint. */
    readonly cidrs: string[];
    /** Its TCP port. */
    readonly port: number;
}

/** The Redis backup Job's pods. */
export interface BackupPods {
    /** Labels that select the pods (matchLabels). */
    readonly podSelector: Record<string, string>;
    /** CIDRs of the Kubernetes API server, which the Job calls. Default: `0.0.0.0/0` (any). */
    readonly apiServerCidrs?: string[];
    /**
     * Ports the Kubernetes API server itself listens on. A NetworkPolicy sees the port after the `kubernetes`
     * Service's DNAT, not the Service's 443: 6443 on kubeadm-style clusters and ACK, 8443 on minikube.
     * Default: `[443, 6443]`.
     */
    readonly apiServerPorts?: number[];
}

export interface NetworkPoliciesArgs {
    /** Namespace the policies protect. Required. */
    readonly namespace: pulumi.Input<string>;
    /** The nginx pods. Required. */
    readonly frontend: PodEndpoint;
    /** The API pods. Required. */
    readonly api: PodEndpoint;
    /** The Redis pods in this namespace. Default: none (the API uses `externalRedis`). */
    readonly redis?: RedisEndpoint;
    /** A Redis in another namespace the API may reach (gray uses prod's). Default: none. */
    readonly externalRedis?: RemoteEndpoint;
    /** A Redis outside the cluster (managed: ApsaraDB for Redis / Tair) the API may reach. Default: none. */
    readonly managedRedis?: ManagedRedisEndpoint;
    /** The Redis backup pods: they reach Redis (and its Sentinels) and the Kubernetes API server. Default: none. */
    readonly backup?: BackupPods;
    /** API pods of other namespaces admitted to this namespace's Redis (prod admits gray). Default: none. */
    readonly redisClients?: RemotePods[];
    /** Namespace of a Prometheus allowed to scrape the API's /metrics (on the API port). Default: none. */
    readonly metricsNamespace?: pulumi.Input<string>;
    /** Source of public traffic to the frontend: the gateway data plane's or ingress controller's namespace (and pod labels), or CIDRs (ACK ALB). Default: namespace `ingress-nginx`, pods `app.kubernetes.io/name: ingress-nginx`. */
    readonly ingressSource?: IngressSource;
    /** Namespace and labels of the cluster DNS pods. Default: `kube-system`, `k8s-app: kube-dns`. */
    readonly dns?: RemotePods;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/**
 * A label selector in the canonical form the API server stores: `{}` (every
 * pod) when there are no labels, never `{ matchLabels: {} }`, which the server
 * drops, so the live object would never equal what we send.
 */
export function labelSelector(labels: Record<string, string>): { matchLabels?: Record<string, string> } {
    return Object.keys(labels).length === 0 ? {} : { matchLabels: labels };
}

/** A peer in the named namespace (matched by the immutable `kubernetes.io/metadata.name` label). */
export function namespacePeer(namespace: pulumi.Input<string>, podSelector?: Record<string, string>): Peer {
    return {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        ...(podSelector ? { podSelector: labelSelector(podSelector) } : {}),
    };
}

/** A peer of pods in the policy's own namespace. */
function localPeer(podSelector: Record<string, string>): Peer {
    return { podSelector: labelSelector(podSelector) };
}

function tcp(...ports: (number | undefined)[]): { protocol: string; port: number }[] {
    return ports.filter((p): p is number => p !== undefined).map(port => ({ protocol: "TCP", port }));
}

function ingressPeers(source: IngressSource): Peer[] {
    if ((source.namespace === undefined) === (source.cidrs === undefined)) {
        throw new Error(`ingressSource must set exactly one of namespace and cidrs, got ${JSON.stringify(source)}`);
    }
    return source.namespace !== undefined
        ? [namespacePeer(source.namespace, source.podSelector && { ...source.podSelector })]
        : source.cidrs!.map(cidr => ({ ipBlock: { cidr } }));
}

/**
 * One policy to create: its name suffix, tier, the pods it applies to, and its
 * rules. A direction that is present is isolated (listed in policyTypes); an
 * empty list of rules there denies everything in that direction.
 */
export interface PolicyPlan {
    readonly suffix: string;
    readonly tier: Tier;
    readonly podSelector: Record<string, string>;
    readonly ingress?: Rule[];
    readonly egress?: Rule[];
}

/**
 * The NetworkPolicy spec of a plan in the form the API server stores it:
 * `podSelector: {}` for every pod, and no empty `ingress`/`egress` lists (the
 * server drops them; policyTypes alone keeps that direction denied).
 */
export function policySpec(p: PolicyPlan): k8s.types.input.networking.v1.NetworkPolicySpec {
    const rules = (key: "ingress" | "egress") => (p[key] && p[key].length > 0 ? { [key]: p[key] } : {});
    return {
        podSelector: labelSelector(p.podSelector),
        policyTypes: [...(p.ingress ? ["Ingress"] : []), ...(p.egress ? ["Egress"] : [])],
        ...rules("ingress"),
        ...rules("egress"),
    };
}

/** The designed paths, as pure data: default deny, DNS, controller→frontend→api→redis (and the gray extras). */
export function policyPlans(a: NetworkPoliciesArgs): PolicyPlan[] {
    const dns = a.dns ?? { namespace: "kube-system", podSelector: { "k8s-app": "kube-dns" } };
    const dnsPeer = namespacePeer(dns.namespace, dns.podSelector);
    const apiEgress: Rule[] = [];
    if (a.redis) {
        apiEgress.push({ to: [localPeer(a.redis.podSelector)], ports: tcp(a.redis.port, a.redis.sentinelPort) });
    }
    if (a.externalRedis) {
        apiEgress.push({
            to: [namespacePeer(a.externalRedis.namespace, a.externalRedis.podSelector)],
            ports: tcp(a.externalRedis.port, a.externalRedis.sentinelPort),
        });
    }
    if (a.managedRedis) {
        apiEgress.push({ to: a.managedRedis.cidrs.map(cidr => ({ ipBlock: { cidr } })), ports: tcp(a.managedRedis.port) });
    }
    const plans: PolicyPlan[] = [
        { suffix: "default-deny", tier: "platform", podSelector: {}, ingress: [], egress: [] },
        {
            suffix: "allow-dns",
            tier: "platform",
            podSelector: {},
            egress: [{ to: [dnsPeer], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] }],
        },
        {
            suffix: "frontend",
            tier: "front",
            podSelector: a.frontend.podSelector,
            ingress: [{ from: ingressPeers(a.ingressSource ?? { namespace: "ingress-nginx", podSelector: { "app.kubernetes.io/name": "ingress-nginx" } }), ports: tcp(a.frontend.port) }],
            egress: [{ to: [localPeer(a.api.podSelector)], ports: tcp(a.api.port) }],
        },
        {
            suffix: "api",
            tier: "back",
            podSelector: a.api.podSelector,
            ingress: [
                { from: [localPeer(a.frontend.podSelector)], ports: tcp(a.api.port) },
                ...(a.metricsNamespace ? [{ from: [namespacePeer(a.metricsNamespace)], ports: tcp(a.api.port) }] : []),
            ],
            egress: apiEgress,
        },
    ];
    if (a.redis) {
        const self = localPeer(a.redis.podSelector);
        const clients: Peer[] = [
            localPeer(a.api.podSelector),
            ...(a.backup ? [localPeer(a.backup.podSelector)] : []),
            ...(a.redisClients ?? []).map(c => namespacePeer(c.namespace, c.podSelector)),
        ];
        const ports = tcp(a.redis.port, a.redis.sentinelPort);
        // Replicas pull from the primary; Sentinels talk to every Redis and to each other.
        const peers = a.redis.replication || a.redis.sentinelPort !== undefined;
        plans.push({
            suffix: "redis",
            tier: "data",
            podSelector: a.redis.podSelector,
            ingress: [{ from: peers ? [...clients, self] : clients, ports }],
            egress: peers ? [{ to: [self], ports }] : [],
        });
        if (a.backup) {
            // The API server's address depends on the cluster (often the nodes' or a load balancer's): narrow apiServerCidrs where known.
            const apiServer = (a.backup.apiServerCidrs ?? ["0.0.0.0/0"]).map(cidr => ({ ipBlock: { cidr } }));
            plans.push({
                suffix: "redis-backup",
                tier: "data",
                podSelector: a.backup.podSelector,
                ingress: [],
                egress: [{ to: [self], ports }, { to: apiServer, ports: tcp(...(a.backup.apiServerPorts ?? [443, 6443])) }],
            });
        }
    }
    return plans;
}

/**
 * NetworkPolicies: deny all traffic in and out of the namespace, then allow
 * exactly DNS, the gateway or ingress controller to the frontend, the frontend to the
 * API, the API to Redis (and its Sentinels), and Redis pods to each other.
 */
export class NetworkPolicies extends pulumi.ComponentResource {
    /** Names of the NetworkPolicy objects. */
    public readonly policyNames: pulumi.Output<string>[];

    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("NetworkPolicies"), name, {}, componentOptions("NetworkPolicies", opts));
        const instance = args.instance ?? pulumi.getStack();
        const env = args.env ?? instance;
        this.policyNames = checkArgs(this, () => policyPlans(args)).map(p =>
            new k8s.networking.v1.NetworkPolicy(`${name}-${p.suffix}`, {
                metadata: {
                    name: `${name}-${p.suffix}`,
                    namespace: args.namespace,
                    labels: standardLabels({ name, component: "network-policy", instance, env, tier: p.tier }),
                },
                spec: policySpec(p),
            }, { parent: this }).metadata.name);
        this.registerOutputs({ policyNames: this.policyNames });
    }
}
