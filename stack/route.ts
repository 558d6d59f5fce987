/**
 * The route to the frontend: an HTTPRoute on a Gateway (Gateway API), or an
 * Ingress. In gray, a canary of prod's host: a header-only HTTPRoute on
 * prod's Gateway, or a canary Ingress (docs/routing.md).
 */
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { FRONTEND, StackContext } from "./context";

/** The stack's public entry, as routing says. */
export function theRoute(ctx: StackContext, frontend: c.Frontend, host: pulumi.Input<string>): c.GatewayRoute | c.PublicIngress {
    return ctx.s.routing === "gateway" ? gatewayRoute(ctx, frontend, host) : publicIngress(ctx, frontend, host);
}

/**
 * Gateway API: prod owns the HTTPRoute with the weighted split (grayWeight), gray owns a header-only
 * route on prod's Gateway and the grant that lets prod's route reach its frontend.
 */
function gatewayRoute(ctx: StackContext, frontend: c.Frontend, host: pulumi.Input<string>): c.GatewayRoute {
    const { s, prod } = ctx;
    return new c.GatewayRoute("sample-app", {
        namespace: ctx.namespace,
        host,
        serviceName: frontend.serviceName,
        servicePort: frontend.servicePort,
        gatewayClassName: s.gateway!.className,
        httpPort: s.gateway!.ports?.http,
        httpsPort: s.gateway!.ports?.https,
        parentGateway: s.gateway!.shared,
        tlsSecretName: s.tlsSecretName,
        admitRoutesFrom: s.grayNamespace ? [s.grayNamespace] : undefined,
        headerMatch: s.canary ? { header: s.canary.header } : undefined,
        weightedBackend: s.grayWeight > 0 ? { namespace: s.grayNamespace!, serviceName: FRONTEND, servicePort: frontend.servicePort, weight: s.grayWeight } : undefined,
        grantRoutesFrom: prod?.requireOutput("namespace") as pulumi.Output<string> | undefined,
        ...ctx.identity,
    }, ctx.opts);
}

/** An Ingress of the stack's class; gray's is a canary of prod's (weight and header). */
function publicIngress(ctx: StackContext, frontend: c.Frontend, host: pulumi.Input<string>): c.PublicIngress {
    const { s } = ctx;
    return new c.PublicIngress("sample-app", {
        namespace: ctx.namespace,
        host,
        serviceName: frontend.serviceName,
        servicePort: frontend.servicePort,
        ingressClassName: s.ingressClass,
        tlsSecretName: s.tlsSecretName,
        canary: s.canary ? { weight: s.canary.weight, header: s.canary.header } : undefined,
        ...ctx.identity,
    }, ctx.opts);
}
