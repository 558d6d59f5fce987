/**
 * How public traffic reaches the frontend: the public host and its TLS
 * Secret, routing `gateway` (an HTTPRoute on a Gateway the stack creates or
 * a shared one) or `ingress` (an Ingress of a class), where the proxies that
 * forward the traffic run (for the NetworkPolicies), and the canary of a
 * gray stack. Each mode reads only its own keys: settings/modes.ts refuses
 * the others.
 */
import type { IngressSource } from "../components/networkPolicies";
import type { ServiceType } from "../components/workload";
import type { ClusterProfile, PodSource } from "./profiles";
import { ROUTINGS } from "./profiles";
import { Reader } from "./reader";
import { DNS_LABEL, DNS_SUBDOMAIN, HEADER, HOST, labelMap, validCidr } from "./validate";

/** A Gateway the stack creates, of a class, listening on these ports. */
export interface CreatedGateway { readonly className: string; readonly ports: { readonly http: number; readonly https: number } }
/** A Gateway someone else owns that the stack's HTTPRoute attaches to. */
export interface SharedGateway { readonly shared: { readonly name: string; readonly namespace: string } }
/** Routing gateway: create a Gateway of a class, or attach to a shared one. */
export type GatewaySettings = CreatedGateway | SharedGateway;

/** What both routing modes have: where public traffic comes from, and the frontend Service's type. */
interface CommonRouting {
    /** Where public traffic to the frontend comes from: the ingress controller's or the gateway data plane's pods, or CIDRs. */
    readonly ingressSource: IngressSource;
    /** The frontend Service's type: NodePort only for an out-of-cluster load balancer that cannot reach pod addresses (ALB on Flannel). */
    readonly frontendServiceType: ServiceType;
}

/** Routing gateway: an HTTPRoute on a Gateway. */
export interface GatewayRouting extends CommonRouting {
    readonly routing: "gateway";
    readonly gateway: GatewaySettings;
}

/** Routing ingress: an Ingress of a class. */
export interface IngressRouting extends CommonRouting {
    readonly routing: "ingress";
    readonly ingressClass: string;
}

/** The routing part of the settings. */
export type RoutingSettings = GatewayRouting | IngressRouting;

/** Gray: a canary of the stack named by `prodStack`; its share of plain requests with routing ingress, and the header that forces it. */
export interface CanarySettings { readonly prodStack: string; readonly header: string; readonly weight?: number }

/** The public host (none in a canary stack, which serves prod's) and its TLS Secret. */
export function publicHost(r: Reader, canary: boolean): { readonly host?: string; readonly tlsSecretName: string } {
    let host: string | undefined;
    if (!canary) {
        const hostRaw = r.string("host");
        if (hostRaw === "") {
            r.problem("host", "", "is required (the public host name), e.g. sample-app.dev.local");
        } else {
            host = r.matching("host", hostRaw, HOST, "must be a lowercase DNS host name with at least one dot, e.g. sample-app.example.com");
        }
    }
    const tlsSecretName = r.string("tlsSecretName");
    if (tlsSecretName !== "") {
        r.matching("tlsSecretName", tlsSecretName, DNS_LABEL, "must be the name of a Secret (a DNS label)");
    }
    return { host, tlsSecretName };
}

/** What routingSettings needs from the rest of the settings. */
export interface RoutingContext {
    /** The stack is a canary (prodStack set). */
    readonly canary: boolean;
    readonly namespace: string;
}

/** The routing settings, and what the mode check needs to know of them. */
export interface RoutingResult {
    readonly settings: RoutingSettings;
    readonly gateway?: "created" | "shared";
    readonly proxy: "in-cluster" | "outside";
}

/** Where one routing mode takes the traffic from: the in-cluster proxies' pods, or undefined (outside the cluster). */
interface Route {
    readonly settings: Omit<GatewayRouting, keyof CommonRouting> | Omit<IngressRouting, keyof CommonRouting>;
    readonly gateway?: "created" | "shared";
    readonly source?: PodSource;
    /** The proxy, as a problem names it. */
    readonly proxy: string;
}

/**
 * The routing mode and everything that depends on it: the Gateway (created or
 * shared) or the ingress class, and where the frontend's public traffic comes
 * from (for the NetworkPolicies).
 */
export function routingSettings(r: Reader, profile: ClusterProfile, ctx: RoutingContext): RoutingResult {
    const routing = r.oneOf("routing", r.string("routing") || profile.routing, ROUTINGS);
    const route = routing === "ingress" ? ingressRoute(r, profile) : gatewayRoute(r, profile, ctx);
    let ingressSource: IngressSource;
    let frontendServiceType: ServiceType = "ClusterIP";
    if (route.source) {
        ingressSource = { namespace: route.source.namespace, podSelector: { ...route.source.podSelector } };
    } else {
        const cidrs = r.stringArray("ingressAllowedCidrs");
        cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("ingressAllowedCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
        if (cidrs.length === 0) {
            r.problem("ingressAllowedCidrs", [], `must list the CIDRs ${route.proxy} reaches the pods from (e.g. the vSwitch ranges)`);
        }
        ingressSource = { cidrs };
        frontendServiceType = r.oneOf<ServiceType>("frontendServiceType", r.string("frontendServiceType"), ["ClusterIP", "NodePort"]);
    }
    return {
        settings: { ...route.settings, ingressSource, frontendServiceType } as RoutingSettings,
        gateway: route.gateway,
        proxy: route.source ? "in-cluster" : "outside",
    };
}

/** Routing ingress: an Ingress of a class the profile has. */
function ingressRoute(r: Reader, profile: ClusterProfile): Route {
    const ingressClass = r.oneOf("ingressClass", r.string("ingressClass") || profile.ingressClasses[0], profile.ingressClasses);
    return { settings: { routing: "ingress", ingressClass }, source: profile.ingressControllers[ingressClass], proxy: `the ${ingressClass} load balancer` };
}

/** Routing gateway: a Gateway the stack creates (of a class) or a shared one it attaches to, and its data plane's pods. */
function gatewayRoute(r: Reader, profile: ClusterProfile, ctx: RoutingContext): Route {
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
        if (r.string("tlsSecretName") !== "") {
            r.problem("tlsSecretName", r.string("tlsSecretName"), "does not fit a canary stack with routing gateway: prod's Gateway terminates TLS for prod's host; remove it");
        }
    }
    if (shared === undefined && className === undefined && !ctx.canary) {
        r.problem("gatewayName", "", `is required with routing gateway on cluster profile ${profile.name}, which has no default GatewayClass: set gatewayName (and gatewayNamespace) to attach to a shared Gateway, or gatewayClass to create one`);
    }
    const ports = {
        http: (shared ? 0 : r.integer("gatewayHttpPort", 0, 65535)) || profile.gatewayPorts.http,
        https: (shared ? 0 : r.integer("gatewayHttpsPort", 0, 65535)) || profile.gatewayPorts.https,
    };
    const gateway: GatewaySettings = shared ? { shared } : { className: className ?? "", ports };

    const podNamespace = r.string("gatewayPodNamespace");
    const podLabels = r.stringArray("gatewayPodLabels");
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
    return { settings: { routing: "gateway", gateway }, gateway: shared ? "shared" : "created", source, proxy: "the Gateway's load balancer" };
}

/** prod's share of plain requests for gray (routing gateway, not a canary); 0 elsewhere. */
export function grayWeight(r: Reader, routing: RoutingSettings, canary: boolean, grayNamespace: string): number {
    if (routing.routing !== "gateway" || canary) {
        return 0;
    }
    const weight = r.integer("grayWeight", 0, 100);
    if (weight > 0 && grayNamespace === "") {
        r.problem("grayWeight", weight, "needs grayNamespace: the namespace of gray's frontend Service the share goes to");
    }
    return weight;
}

/** Gray: the stack it is a canary of, its share with routing ingress, and the header that forces it. */
export function canarySettings(r: Reader, prodStack: string, routing: RoutingSettings): CanarySettings {
    return {
        prodStack,
        header: r.matching("canaryHeader", r.string("canaryHeader"), HEADER, "must be an HTTP header name"),
        ...(routing.routing === "ingress" ? { weight: r.integer("canaryWeight", 0, 100) } : {}),
    };
}
