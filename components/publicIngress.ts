import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import { standardLabels } from "./labels";

/** Which controller interprets the Ingress, and so which annotations it understands. */
export const IngressController = { IngressNginx: "ingress-nginx", Alb: "alb" } as const;
export type IngressController = (typeof IngressController)[keyof typeof IngressController];

/** Canary routing: a share of the traffic, and every request carrying the header. */
export interface CanaryArgs {
    /** Percent of requests (0 to 100) sent to this canary. Required. */
    readonly weight: number;
    /** Request header that forces the canary. Default: `X-Canary`. */
    readonly header?: string;
    /** Value of that header that forces the canary. Default: `always`. */
    readonly headerValue?: string;
}

export interface PublicIngressArgs {
    /** Namespace of the Ingress and its backend Service. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Public host name. Required. */
    readonly host: pulumi.Input<string>;
    /** Backend Service name (the Frontend). Required. */
    readonly serviceName: pulumi.Input<string>;
    /** Backend Service port. Default: 80. */
    readonly servicePort?: number;
    /** `spec.ingressClassName`. Default: `nginx`. */
    readonly ingressClassName?: string;
    /** Controller behind the class. Default: `alb` when the class is `alb`, else `ingress-nginx`. */
    readonly controller?: IngressController;
    /** Name of a TLS Secret for the host. Default: no TLS. */
    readonly tlsSecretName?: string;
    /** Make this a canary of another Ingress on the same host and path. Default: not a canary. */
    readonly canary?: CanaryArgs;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/** One Ingress to create: a name suffix and its annotations. */
export interface IngressVariant {
    readonly suffix: string;
    readonly annotations: Record<string, string>;
}

/**
 * The Ingress objects a canary needs on a controller. ingress-nginx takes
 * weight and header on one Ingress; ACK ALB cannot mix header and weight rules
 * on one Ingress, so it gets one Ingress for each.
 */
export function ingressVariants(controller: IngressController, canary?: CanaryArgs): IngressVariant[] {
    if (!canary) {
        return [{ suffix: "", annotations: {} }];
    }
    if (!Number.isInteger(canary.weight) || canary.weight < 0 || canary.weight > 100) {
        throw new Error(`canary weight must be an integer from 0 to 100, got ${canary.weight}`);
    }
    const header = canary.header ?? "X-Canary";
    const headerValue = canary.headerValue ?? "always";
    const weight = String(canary.weight);
    if (controller === "ingress-nginx") {
        const p = "nginx.ingress.kubernetes.io";
        return [{
            suffix: "-canary",
            annotations: {
                [`${p}/canary`]: "true",
                [`${p}/canary-weight`]: weight,
                [`${p}/canary-by-header`]: header,
                [`${p}/canary-by-header-value`]: headerValue,
            },
        }];
    }
    const p = "alb.ingress.kubernetes.io";
    return [
        {
            suffix: "-canary-header",
            annotations: { [`${p}/canary`]: "true", [`${p}/canary-by-header`]: header, [`${p}/canary-by-header-value`]: headerValue },
        },
        { suffix: "-canary-weight", annotations: { [`${p}/canary`]: "true", [`${p}/canary-weight`]: weight } },
    ];
}

/**
 * The public entry: a networking.k8s.io/v1 Ingress for the frontend on the
 * environment's host, optionally with TLS, or the canary Ingresses of gray.
 */
export class PublicIngress extends pulumi.ComponentResource {
    /** `http(s)://host/`. */
    public readonly url: pulumi.Output<string>;
    /** Names of the Ingress objects created. */
    public readonly ingressNames: pulumi.Output<string>[];

    constructor(name: string, args: PublicIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("PublicIngress"), name, {}, componentOptions("PublicIngress", opts));
        const instance = args.instance ?? pulumi.getStack();
        const labels = standardLabels({ name, component: "ingress", instance, env: args.env ?? instance, tier: "front" });
        const ingressClassName = args.ingressClassName ?? "nginx";
        const controller = args.controller ?? (ingressClassName === "alb" ? "alb" : "ingress-nginx");
        const backend = { service: { name: args.serviceName, port: { number: args.servicePort ?? 80 } } };

        this.ingressNames = checkArgs(this, () => ingressVariants(controller, args.canary)).map(v =>
            new k8s.networking.v1.Ingress(`${name}${v.suffix}`, {
                metadata: { name: `${name}${v.suffix}`, namespace: args.namespace, labels, annotations: v.annotations },
                spec: {
                    ingressClassName,
                    tls: args.tlsSecretName ? [{ hosts: [args.host], secretName: args.tlsSecretName }] : undefined,
                    rules: [{ host: args.host, http: { paths: [{ path: "/", pathType: "Prefix", backend }] } }],
                },
            }, { parent: this }).metadata.name);

        this.url = pulumi.interpolate`${args.tlsSecretName ? "https" : "http"}://${args.host}/`;
        this.registerOutputs({ url: this.url, ingressNames: this.ingressNames });
    }
}
