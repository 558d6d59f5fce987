/**
 * How public traffic reaches the frontend: the public host and its TLS
 * Secret, routing `gateway` (an HTTPRoute on a Gateway the stack creates or
 * a shared one) or `ingress` (an Ingress of a class), where the proxies that
 * forward the traffic run (for the NetworkPolicies), and the canary of a
 * gray stack. Keys that do not fit the mode are rejected.
 */
import type { IngressSource } from "../components/networkPolicies";
import type { ClusterProfile, PodSource, Routing } from "./profiles";
import { ROUTINGS } from "./profiles";
import { Reader } from "./reader";
import { DNS_LABEL, DNS_SUBDOMAIN, HEADER, HOST, parseLabel, validCidr } from "./validate";

/** Routing gateway: create a Gateway of a class, or attach to a shared one. Exactly one is set. */
export interface GatewaySettings {
    /** Create a Gateway of this GatewayClass in the stack's namespace. */
    readonly className?: string;
    /** Listener ports of the created Gateway. */
    readonly ports?: { readonly http: number; readonly https: number };
    /** Attach to this existing Gateway. */
    readonly shared?: { readonly name: string; readonly namespace: string };
}

/** The routing part of the settings. */
export interface RoutingSettings {
    /** How public traffic reaches the frontend: an HTTPRoute on a Gateway, or an Ingress. */
    readonly routing: Routing;
    /** Ingress class (routing ingress; with routing gateway the profile's default, unused). */
    readonly ingressClass: string;
    /** Routing gateway: the Gateway the HTTPRoute attaches to. */
    readonly gateway?: GatewaySettings;
    /** Where public traffic to the frontend comes from: the ingress controller's or the gateway data plane's pods, or CIDRs. */
    readonly ingressSource: IngressSource;
    /** Prod, routing gateway: percent of plain requests its HTTPRoute sends to gray's frontend (in grayNamespace); 0: none. */
    readonly grayWeight: number;
}

/** Gray: a canary of the stack named by `prodStack`. */
export interface CanarySettings { readonly prodStack: string; readonly weight: number; readonly header: string }

/** The public host (none in a canary stack, which serves prod's) and its TLS Secret. */
export function publicHost(r: Reader, prodStack: string): { readonly host?: string; readonly tlsSecretName: string } {
    const hostRaw = r.string("host");
    let host: string | undefined;
    if (hostRaw !== "" && prodStack !== "") {
        r.problem("host", hostRaw, "does not fit a canary stack (prodStack set): a canary serves prod's host; remove it");
    } else if (hostRaw !== "") {
        host = r.matching("host", hostRaw, HOST, "must be a lowercase DNS host name with at least one dot, e.g. sample-app.example.com");
    } else if (prodStack === "") {
        r.problem("host", "", "is required (the public host name), e.g. sample-app.dev.local");
    }
    const tlsSecretName = r.string("tlsSecretName");
    if (tlsSecretName !== "") {
        r.matching("tlsSecretName", tlsSecretName, DNS_LABEL, "must be the name of a Secret (a DNS label)");
    }
    return { host, tlsSecretName };
}

/** What routingSettings needs from the rest of the settings. */
export interface RoutingContext {
    readonly namespace: string;
    /** The stack is a canary (prodStack set). */
    readonly canary: boolean;
    readonly tlsSecretName: string;
    readonly grayNamespace: string;
}

/** Keys both modes read: each mode uses its own and rejects the other's. */
interface RoutingKeys {
    readonly grayWeight: number;
    readonly httpPort: number;
    readonly httpsPort: number;
    readonly podLabels: readonly string[];
    readonly ingressClass: string;
}

/** Where one routing mode takes the traffic: its class or Gateway, and the proxies that forward it. */
interface Route {
    readonly ingressClass: string;
    readonly gateway?: GatewaySettings;
    /** The in-cluster proxies' pods; undefined: the proxy is outside the cluster (reached from ingressAllowedCidrs). */
    readonly source?: PodSource;
    /** The proxy, as a problem names it. */
    readonly proxy: string;
}

/** Keys that only mean something with routing gateway (grayWeight, an integer, is checked apart). */
const GATEWAY_ONLY_KEYS = ["gatewayClass", "gatewayName", "gatewayNamespace", "gatewayPodNamespace"] as const;

/**
 * The routing mode and everything that depends on it: the Gateway (created or
 * shared) or the ingress class, and where the frontend's public traffic comes
 * from (for the NetworkPolicies). Rejects keys that do not fit the mode.
 */
export function routingSettings(r: Reader, profile: ClusterProfile, ctx: RoutingContext): RoutingSettings {
    const routing = r.oneOf("routing", r.string("routing") || profile.routing, ROUTINGS);
    const cidrs = r.stringArray("ingressAllowedCidrs");
    cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("ingressAllowedCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
    const keys: RoutingKeys = {
        grayWeight: r.integer("grayWeight", 0, 100),
        httpPort: r.integer("gatewayHttpPort", 0, 65535),
        httpsPort: r.integer("gatewayHttpsPort", 0, 65535),
        podLabels: r.stringArray("gatewayPodLabels"),
        ingressClass: r.string("ingressClass"),
    };
    const route = routing === "ingress" ? ingressRoute(r, profile, keys) : gatewayRoute(r, profile, ctx, keys);
    if (route.source === undefined && cidrs.length === 0) {
        r.problem("ingressAllowedCidrs", [], `must list the CIDRs ${route.proxy} reaches the pods from (e.g. the vSwitch ranges)`);
    }
    const ingressSource: IngressSource = route.source ? { namespace: route.source.namespace, podSelector: { ...route.source.podSelector } } : { cidrs };
    return { routing, ingressClass: route.ingressClass, gateway: route.gateway, ingressSource, grayWeight: keys.grayWeight };
}

/** Routing ingress: an Ingress of a class the profile has; every Gateway key is rejected. */
function ingressRoute(r: Reader, profile: ClusterProfile, keys: RoutingKeys): Route {
    for (const key of GATEWAY_ONLY_KEYS) {
        if (r.string(key) !== "") {
            r.problem(key, r.string(key), "only applies with routing gateway (this stack routes through an Ingress)");
        }
    }
    if (keys.podLabels.length > 0) {
        r.problem("gatewayPodLabels", keys.podLabels, "only applies with routing gateway (this stack routes through an Ingress)");
    }
    if (keys.grayWeight > 0) {
        r.problem("grayWeight", keys.grayWeight, "only applies with routing gateway; with routing ingress the canary stack's canaryWeight sets gray's share");
    }
    for (const [key, value] of [["gatewayHttpPort", keys.httpPort], ["gatewayHttpsPort", keys.httpsPort]] as const) {
        if (value > 0) {
            r.problem(key, value, "only applies with routing gateway (this stack routes through an Ingress)");
        }
    }
    const ingressClass = r.oneOf("ingressClass", keys.ingressClass || profile.ingressClasses[0], profile.ingressClasses);
    return { ingressClass, source: profile.ingressControllers[ingressClass], proxy: `the ${ingressClass} load balancer` };
}

/** Routing gateway: a Gateway the stack creates (of a class) or a shared one it attaches to, and its data plane's pods. */
function gatewayRoute(r: Reader, profile: ClusterProfile, ctx: RoutingContext, keys: RoutingKeys): Route {
    const { grayWeight, httpPort, httpsPort, podLabels } = keys;
    if (keys.ingressClass !== "") {
        r.problem("ingressClass", keys.ingressClass, "only applies with routing ingress (this stack routes through a Gateway: see gatewayClass, gatewayName)");
    }
    const name = r.string("gatewayName");
    const namespace = r.string("gatewayNamespace");
    const cls = r.string("gatewayClass");
    if (name !== "") {
        r.matching("gatewayName", name, DNS_SUBDOMAIN, "must be the name of a Gateway (a DNS subdomain)");
    }
    if (namespace !== "") {
        r.matching("gatewayNamespace", namespace, DNS_LABEL, "must be a namespace name (a DNS label)");
        if (name === "") {
            r.problem("gatewayNamespace", namespace, "needs gatewayName: it is the namespace of the shared Gateway to attach to");
        }
    }
    if (cls !== "") {
        r.matching("gatewayClass", cls, DNS_SUBDOMAIN, "must be the name of a GatewayClass (a DNS subdomain)");
        if (name !== "") {
            r.problem("gatewayClass", cls, "conflicts with gatewayName: set gatewayClass to create a Gateway, or gatewayName to attach to a shared one, not both");
        }
    }
    const shared = name !== "" ? { name, namespace: namespace || ctx.namespace } : cls === "" ? profile.sharedGateway : undefined;
    const className = shared ? undefined : cls || profile.gatewayClasses[0];
    if (ctx.canary) {
        if (shared === undefined) {
            r.problem("gatewayName", name, "is required in a canary stack (prodStack set) with routing gateway: its header route attaches to prod's Gateway; set gatewayName and gatewayNamespace to it");
        }
        if (ctx.tlsSecretName !== "") {
            r.problem("tlsSecretName", ctx.tlsSecretName, "does not fit a canary stack with routing gateway: prod's Gateway terminates TLS for prod's host; remove it");
        }
        if (grayWeight > 0) {
            r.problem("grayWeight", grayWeight, "is prod's key (prod's HTTPRoute splits the plain requests); remove it from the canary stack");
        }
    } else if (grayWeight > 0 && ctx.grayNamespace === "") {
        r.problem("grayWeight", grayWeight, "needs grayNamespace: the namespace of gray's frontend Service the share goes to");
    }
    if (shared === undefined && className === undefined && !ctx.canary) {
        r.problem("gatewayName", "", `is required with routing gateway on cluster profile ${profile.name}, which has no default GatewayClass: set gatewayName (and gatewayNamespace) to attach to a shared Gateway, or gatewayClass to create one`);
    }
    for (const [key, value] of [["gatewayHttpPort", httpPort], ["gatewayHttpsPort", httpsPort]] as const) {
        if (value > 0 && shared !== undefined) {
            r.problem(key, value, "only applies to a Gateway the stack creates; the shared Gateway's owner sets its listeners");
        }
    }
    const ports = { http: httpPort || profile.gatewayPorts.http, https: httpsPort || profile.gatewayPorts.https };
    const gateway = shared ? { shared } : { className, ports };

    const podNamespace = r.string("gatewayPodNamespace");
    const podSelector = labelMap(r, "gatewayPodLabels", podLabels);
    let source: PodSource | undefined;
    if (podNamespace !== "") {
        r.matching("gatewayPodNamespace", podNamespace, DNS_LABEL, "must be a namespace name (a DNS label)");
        source = { namespace: podNamespace, podSelector };
    } else {
        if (podLabels.length > 0) {
            r.problem("gatewayPodLabels", podLabels, "needs gatewayPodNamespace: the namespace of the gateway's data-plane pods");
        }
        source = profile.gatewayDataPlanes[className ?? profile.gatewayClasses[0] ?? ""];
    }
    return { ingressClass: keys.ingressClass || profile.ingressClasses[0], gateway, source, proxy: "the Gateway's load balancer" };
}

/** `key=value` label strings as a map; a problem for each malformed one. */
function labelMap(r: Reader, key: string, items: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of items) {
        const label = parseLabel(item);
        if (!label) {
            r.problem(key, item, "must be labels written key=value, e.g. app.kubernetes.io/name=traefik");
        } else {
            out[label.key] = label.value;
        }
    }
    return out;
}

/** Gray: the stack it is a canary of, its share with routing ingress, and the header that forces it. */
export function canarySettings(r: Reader, prodStack: string): CanarySettings {
    return {
        prodStack,
        weight: r.integer("canaryWeight", 0, 100),
        header: r.matching("canaryHeader", r.string("canaryHeader"), HEADER, "must be an HTTP header name"),
    };
}
