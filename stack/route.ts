/**
 * The route to the frontend: an HTTPRoute on a Gateway (Gateway API), or an
 * Ingress. In gray, a canary of prod's host: a header-only HTTPRoute on
 * prod's Gateway, or a canary Ingress (docs/routing.md).
 */
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import type { GatewayRouting, IngressRouting, Settings } from "../settings";
import { FRONTEND, StackContext } from "./context";

/** The stack's public entry, as routing says. */
export function theRoute(ctx: StackContext, frontend: c.Frontend, host: pulumi.Input<string>): c.GatewayRoute | c.PublicIngress {
    const s = ctx.s;
    return s.routing === "gateway" ? gatewayRoute(ctx, s, frontend, host) : publicIngress(ctx, s, frontend, host);
}

/**
 * Gateway API: prod owns the HTTPRoute with the weighted split (grayWeight), gray owns a header-only
 * route on prod's Gateway and the grant that lets prod's route reach its frontend.
 */
function gatewayRoute(ctx: StackContext, s: Settings & GatewayRouting, frontend: c.Frontend, host: pulumi.Input<string>): c.GatewayRoute {
    const gw = s.gateway;
    const created = "className" in gw ? gw : undefined;
    const gray = s.kind === "own" && s.grayNamespace !== undefined ? s.grayNamespace : undefined;
    const weight = s.kind === "own" ? s.grayWeight : 0;
    return new c.GatewayRoute("sample-app", {
        namespace: ctx.namespace,
        host,
        serviceName: frontend.serviceName,
        servicePort: frontend.servicePort,
        gatewayClassName: created?.className,
        httpPort: created?.ports.http,
        httpsPort: created?.ports.https,
        parentGateway: "shared" in gw ? gw.shared : undefined,
        tlsSecretName: s.tlsSecretName,
        admitRoutesFrom: gray ? [gray] : undefined,
        headerMatch: s.kind === "canary" ? { header: s.canary.header } : undefined,
        weightedBackend: gray && weight > 0 ? { namespace: gray, serviceName: FRONTEND, servicePort: frontend.servicePort, weight } : undefined,
        grantRoutesFrom: ctx.prod?.requireOutput("namespace") as pulumi.Output<string> | undefined,
        ...ctx.identity,
    }, ctx.opts);
}

/** An Ingress of the stack's class; gray's is a canary of prod's (weight and header). */
function publicIngress(ctx: StackContext, s: Settings & IngressRouting, frontend: c.Frontend, host: pulumi.Input<string>): c.PublicIngress {
    return new c.PublicIngress("sample-app", {
        namespace: ctx.namespace,
        host,
        serviceName: frontend.serviceName,
        servicePort: frontend.servicePort,
        ingressClassName: s.ingressClass,
        tlsSecretName: s.tlsSecretName,
        canary: s.kind === "canary" ? { weight: s.canary.weight ?? 0, header: s.canary.header } : undefined,
        ...ctx.identity,
    }, ctx.opts);
}
