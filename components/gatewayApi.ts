/**
 * The part of the Gateway API (gateway.networking.k8s.io, v1.4 standard
 * channel) this app renders, as TypeScript types, and pure builders of the
 * specs. `@pulumi/kubernetes` has no Gateway API classes, so GatewayRoute
 * registers these specs as `k8s.apiextensions.CustomResource`s;
 * `npm run validate` checks every rendered object against the CRD schemas of
 * the pinned version (scripts/gateway-api-crds.sh) with unknown fields as
 * errors, so a misspelt field here fails CI.
 */
import * as pulumi from "@pulumi/pulumi";

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";
/** apiVersions of the kinds we render (ReferenceGrant is still v1beta1 in the v1.4 standard channel). */
export const GATEWAY_API_VERSIONS = {
    Gateway: `${GATEWAY_API_GROUP}/v1`,
    HTTPRoute: `${GATEWAY_API_GROUP}/v1`,
    ReferenceGrant: `${GATEWAY_API_GROUP}/v1beta1`,
} as const;

type Str = pulumi.Input<string>;

/** `spec.parentRefs[]`: the Gateway (and optionally its listener) a route attaches to. */
export interface ParentReference {
    readonly group?: string;
    readonly kind?: string;
    readonly name: Str;
    readonly namespace?: Str;
    readonly sectionName?: string;
}

export interface HTTPHeaderMatch {
    readonly type: "Exact";
    readonly name: string;
    readonly value: string;
}

export interface HTTPPathMatch {
    readonly type: "PathPrefix" | "Exact";
    readonly value: string;
}

export interface HTTPRouteMatch {
    readonly path?: HTTPPathMatch;
    readonly headers?: HTTPHeaderMatch[];
}

export interface HTTPBackendRef {
    readonly group?: string;
    readonly kind?: string;
    readonly name: Str;
    readonly namespace?: Str;
    readonly port: number;
    readonly weight?: number;
}

export interface HTTPRouteRule {
    readonly name?: string;
    readonly matches: HTTPRouteMatch[];
    readonly backendRefs: HTTPBackendRef[];
}

export interface HTTPRouteSpec {
    readonly parentRefs: ParentReference[];
    readonly hostnames: Str[];
    readonly rules: HTTPRouteRule[];
}

export interface GatewayListener {
    readonly name: string;
    readonly hostname?: Str;
    readonly port: number;
    readonly protocol: "HTTP" | "HTTPS";
    readonly tls?: { readonly mode: "Terminate"; readonly certificateRefs: { readonly kind: "Secret"; readonly name: string }[] };
    readonly allowedRoutes: {
        readonly namespaces: {
            readonly from: "Same" | "Selector";
            readonly selector?: { readonly matchExpressions: { readonly key: string; readonly operator: "In"; readonly values: Str[] }[] };
        };
        readonly kinds: { readonly group: string; readonly kind: "HTTPRoute" }[];
    };
}

export interface GatewaySpec {
    readonly gatewayClassName: string;
    readonly listeners: GatewayListener[];
}

export interface ReferenceGrantSpec {
    readonly from: { readonly group: string; readonly kind: string; readonly namespace: Str }[];
    readonly to: { readonly group: string; readonly kind: string; readonly name?: Str }[];
}

/** A backend Service and the share of requests it gets. */
export interface WeightedService {
    readonly name: Str;
    /** Namespace, when not the route's own (needs a ReferenceGrant there). */
    readonly namespace?: Str;
    readonly port: number;
    readonly weight: number;
}

/** What one HTTPRoute routes: where it attaches, for which host and paths, to which backends. */
export interface RoutePlan {
    readonly parent: ParentReference;
    readonly host: Str;
    /** Path prefixes, each its own rule (UI and `/api`), all to the same backends. */
    readonly paths: readonly string[];
    /** A header every match requires (gray's header-only route). */
    readonly header?: { readonly name: string; readonly value: string };
    readonly backends: readonly WeightedService[];
}

/** The rule name Gateway API allows for a path (`/api` → `api`, `/` → `ui`). */
export function ruleName(path: string): string {
    const name = path.replace(/^\/+|\/+$/g, "").replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    return name === "" ? "ui" : name;
}

/**
 * The HTTPRoute spec: one rule per path prefix, every rule with the same
 * backends. Backends with weight 0 are left out (an absent Service is never
 * referenced); a header, when given, is required by every match.
 */
export function httpRouteSpec(plan: RoutePlan): HTTPRouteSpec {
    const backendRefs: HTTPBackendRef[] = plan.backends.filter(b => b.weight > 0).map(b => ({
        name: b.name,
        ...(b.namespace !== undefined ? { namespace: b.namespace } : {}),
        port: b.port,
        weight: b.weight,
    }));
    if (backendRefs.length === 0) {
        throw new Error("an HTTPRoute needs at least one backend with a weight above 0");
    }
    for (const p of plan.paths) {
        if (!p.startsWith("/")) {
            throw new Error(`route paths must start with "/", got ${JSON.stringify(p)}`);
        }
    }
    return {
        parentRefs: [plan.parent],
        hostnames: [plan.host],
        rules: plan.paths.map(path => ({
            name: ruleName(path),
            matches: [{
                path: { type: "PathPrefix", value: path },
                ...(plan.header ? { headers: [{ type: "Exact", name: plan.header.name, value: plan.header.value }] } : {}),
            }],
            backendRefs,
        })),
    };
}

/** What a created Gateway listens on and admits. */
export interface GatewayPlan {
    readonly className: string;
    readonly host: Str;
    /** Listener ports: some implementations need them equal to their proxy's ports (Traefik: its entryPoints). */
    readonly ports: { readonly http: number; readonly https: number };
    readonly tlsSecretName?: string;
    /** Namespaces besides its own whose HTTPRoutes may attach. */
    readonly admitNamespaces?: readonly Str[];
    readonly ownNamespace?: Str;
}

/**
 * A Gateway with an HTTP listener and, with a TLS Secret, an HTTPS listener
 * terminating TLS with it; both for `host` only, admitting HTTPRoutes from its
 * own namespace and the namespaces listed.
 */
export function gatewaySpec(plan: GatewayPlan): GatewaySpec {
    const { className, host, tlsSecretName, ownNamespace } = plan;
    const admitNamespaces = plan.admitNamespaces ?? [];
    const allowedRoutes: GatewayListener["allowedRoutes"] = {
        namespaces: admitNamespaces.length === 0
            ? { from: "Same" }
            : { from: "Selector", selector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...(ownNamespace !== undefined ? [ownNamespace] : []), ...admitNamespaces] }] } },
        kinds: [{ group: GATEWAY_API_GROUP, kind: "HTTPRoute" }],
    };
    const listeners: GatewayListener[] = [{ name: "http", hostname: host, port: plan.ports.http, protocol: "HTTP", allowedRoutes }];
    if (tlsSecretName) {
        listeners.push({
            name: "https", hostname: host, port: plan.ports.https, protocol: "HTTPS",
            tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: tlsSecretName }] },
            allowedRoutes,
        });
    }
    return { gatewayClassName: className, listeners };
}

/** Lets objects of `fromKind` in `fromNamespace` reference the `toKind` (core group) named `toName` in the grant's namespace. */
export function referenceGrantSpec(fromKind: "HTTPRoute" | "Gateway", fromNamespace: Str, toKind: "Service" | "Secret", toName: Str): ReferenceGrantSpec {
    return {
        from: [{ group: GATEWAY_API_GROUP, kind: fromKind, namespace: fromNamespace }],
        to: [{ group: "", kind: toKind, name: toName }],
    };
}
