import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import { standardLabels } from "./labels";
import { GATEWAY_API_GROUP, GATEWAY_API_VERSIONS, gatewaySpec, httpRouteSpec, ParentReference, referenceGrantSpec, WeightedService } from "./gatewayApi";

/** A Gateway this stack does not own (a shared one), by namespace and name. */
export interface GatewayReference {
    /** Name of the Gateway. Required. */
    readonly name: pulumi.Input<string>;
    /** Namespace of the Gateway. Default: the route's namespace. */
    readonly namespace?: pulumi.Input<string>;
    /** Listener (`sectionName`) to attach to. Default: every listener that admits the route. */
    readonly sectionName?: string;
}

/** Requests carrying this header value reach this route's backend (gray's header-only route). */
export interface HeaderMatchArgs {
    /** Header name. Default: `X-Canary`. */
    readonly header?: string;
    /** Header value. Default: `always`. */
    readonly value?: string;
}

/** A share of the route's requests sent to a Service in another namespace (prod → gray). */
export interface WeightedBackendArgs {
    /** Namespace of that Service; it must grant this namespace's HTTPRoutes access (a ReferenceGrant). Required. */
    readonly namespace: pulumi.Input<string>;
    /** Name of that Service. Required. */
    readonly serviceName: pulumi.Input<string>;
    /** Port of that Service. Default: 80. */
    readonly servicePort?: number;
    /** Percent of requests (0 to 100) it gets; 0 leaves it out of the route. Required. */
    readonly weight: number;
}

export interface GatewayRouteArgs {
    /** Namespace of the route, the backend Service and (when created) the Gateway. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Public host name (`spec.hostnames`, and the listeners' hostname of a created Gateway). Required. */
    readonly host: pulumi.Input<string>;
    /** Backend Service name (the Frontend). Required. */
    readonly serviceName: pulumi.Input<string>;
    /** Backend Service port. Default: 80. */
    readonly servicePort?: number;
    /** Path prefixes, one rule each, all to the frontend (which proxies `/api`). Default: `/api` and `/`. */
    readonly paths?: string[];
    /** Create a Gateway of this GatewayClass in the namespace and attach to it. Default: none (set exactly one of this and `parentGateway`). */
    readonly gatewayClassName?: string;
    /** Port of the created Gateway's HTTP listener (Traefik: an entryPoint's port, 8000 in its Helm chart). Default: 80. */
    readonly httpPort?: number;
    /** Port of the created Gateway's HTTPS listener (Traefik's Helm chart: 8443). Default: 443. */
    readonly httpsPort?: number;
    /** Attach to this existing (shared) Gateway instead of creating one. Default: none (set exactly one of this and `gatewayClassName`). */
    readonly parentGateway?: GatewayReference;
    /**
     * TLS Secret (in the namespace) for the host. With `gatewayClassName`: the created Gateway's HTTPS
     * listener uses it. With `parentGateway` in another namespace: a ReferenceGrant lets that Gateway read it.
     * Default: no TLS (HTTP only).
     */
    readonly tlsSecretName?: string;
    /** Namespaces whose HTTPRoutes may attach to the created Gateway besides its own (prod admits gray). Default: none. */
    readonly admitRoutesFrom?: pulumi.Input<string>[];
    /** Make this a header-only route: only requests with the header reach the backend. Default: every request. */
    readonly headerMatch?: HeaderMatchArgs;
    /** Send a share of the requests to a Service in another namespace. Default: none. */
    readonly weightedBackend?: WeightedBackendArgs;
    /** Let HTTPRoutes in this namespace reference the backend Service (a ReferenceGrant: gray lets prod's route reach it). Default: none. */
    readonly grantRoutesFrom?: pulumi.Input<string>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/** The header and value gray's header-only route matches by default. */
export const HEADER_MATCH_DEFAULTS = { header: "X-Canary", value: "always" } as const;
/** The paths a route serves by default: the API and the UI. */
export const DEFAULT_ROUTE_PATHS: readonly string[] = ["/api", "/"];

/** The backends of a route: the own Service, and a weighted share of another namespace's Service. */
export function routeBackends(service: WeightedService, weighted?: WeightedBackendArgs): WeightedService[] {
    if (!weighted) {
        return [{ ...service, weight: 1 }];
    }
    if (!Number.isInteger(weighted.weight) || weighted.weight < 0 || weighted.weight > 100) {
        throw new Error(`weightedBackend.weight must be an integer from 0 to 100, got ${weighted.weight}`);
    }
    return [
        { ...service, weight: 100 - weighted.weight },
        { name: weighted.serviceName, namespace: weighted.namespace, port: weighted.servicePort ?? 80, weight: weighted.weight },
    ];
}

/**
 * Routing through the Gateway API: an HTTPRoute for the frontend on the host
 * (a rule per path), attached to a Gateway it creates (HTTP, and HTTPS with
 * the TLS Secret) or to a shared one; optionally header-only (a canary), with
 * a weighted share to another namespace, and the ReferenceGrants the
 * cross-namespace references need.
 */
export class GatewayRoute extends pulumi.ComponentResource {
    /** `http(s)://host/`. */
    public readonly url: pulumi.Output<string>;
    /** Name of the HTTPRoute. */
    public readonly routeName: pulumi.Output<string>;

    constructor(name: string, args: GatewayRouteArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("GatewayRoute"), name, {}, componentOptions("GatewayRoute", opts));
        if ((args.gatewayClassName === undefined) === (args.parentGateway === undefined)) {
            throw new pulumi.ResourceError(`GatewayRoute ${name}: set exactly one of gatewayClassName (create a Gateway) and parentGateway (attach to one)`, this);
        }
        const instance = args.instance ?? pulumi.getStack();
        const labels = standardLabels({ name, component: "route", instance, env: args.env ?? instance, tier: "front" });
        const meta = (suffix: string) => ({ name: `${name}${suffix}`, namespace: args.namespace, labels });
        const child = { parent: this };
        const cr = (suffix: string, kind: keyof typeof GATEWAY_API_VERSIONS, spec: object) =>
            new k8s.apiextensions.CustomResource(`${name}${suffix}`, { apiVersion: GATEWAY_API_VERSIONS[kind], kind, metadata: meta(suffix), spec }, child);

        let parent: ParentReference;
        if (args.gatewayClassName !== undefined) {
            const gateway = cr("", "Gateway", gatewaySpec({
                className: args.gatewayClassName,
                host: args.host,
                ports: { http: args.httpPort ?? 80, https: args.httpsPort ?? 443 },
                tlsSecretName: args.tlsSecretName,
                admitNamespaces: args.admitRoutesFrom,
                ownNamespace: args.namespace,
            }));
            parent = { group: GATEWAY_API_GROUP, kind: "Gateway", name: gateway.metadata.name };
        } else {
            const ref = args.parentGateway!;
            parent = {
                group: GATEWAY_API_GROUP, kind: "Gateway", name: ref.name, namespace: ref.namespace ?? args.namespace,
                ...(ref.sectionName ? { sectionName: ref.sectionName } : {}),
            };
            if (args.tlsSecretName && ref.namespace !== undefined) {
                // The shared Gateway's HTTPS listener reads our certificate: a grant for that Secret only.
                cr("-tls", "ReferenceGrant", referenceGrantSpec("Gateway", ref.namespace, "Secret", args.tlsSecretName));
            }
        }

        const header = args.headerMatch ? { name: args.headerMatch.header ?? HEADER_MATCH_DEFAULTS.header, value: args.headerMatch.value ?? HEADER_MATCH_DEFAULTS.value } : undefined;
        const service: WeightedService = { name: args.serviceName, port: args.servicePort ?? 80, weight: 1 };
        const routeSuffix = header ? "-canary" : "";
        const route = cr(routeSuffix, "HTTPRoute", checkArgs(this, () => httpRouteSpec({
            parent,
            host: args.host,
            paths: args.paths ?? DEFAULT_ROUTE_PATHS,
            header,
            backends: routeBackends(service, args.weightedBackend),
        })));
        if (args.grantRoutesFrom !== undefined) {
            cr("-backend", "ReferenceGrant", referenceGrantSpec("HTTPRoute", args.grantRoutesFrom, "Service", args.serviceName));
        }

        this.routeName = route.metadata.name;
        this.url = pulumi.interpolate`${args.tlsSecretName ? "https" : "http"}://${args.host}/`;
        this.registerOutputs({ url: this.url, routeName: this.routeName });
    }
}
