import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import { selectorLabels, standardLabels, WorkloadIdentity } from "./labels";
import { ScalingArgs } from "./scaling";
import { ContainerResources, ResolvedResources, resolveResources, resourceRequirements } from "./security";
import { CONFIG_HASH_ANNOTATION, configHash, contentName, createHttpWorkload, httpProbe, ServiceType } from "./workload";

/** The placeholder in app/web/nginx.conf that stands for the API's `host:port`. */
export const API_UPSTREAM_PLACEHOLDER = "__API_UPSTREAM__";

/**
 * The repository's nginx.conf: the single copy, also used by the local run. Found from
 * components/ (sources) and dist/ (the compiled package) alike: both sit one level below it.
 */
export const DEFAULT_NGINX_CONF_PATH = path.join(__dirname, "..", "app", "web", "nginx.conf");

export interface FrontendArgs extends ScalingArgs {
    /** Namespace to deploy into. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Image of app/web (nginx-unprivileged with the UI), pinned by tag. Required. */
    readonly image: string;
    /** `host:port` of the API that nginx proxies `/api/` to, e.g. `UserApi.address`. Required. */
    readonly apiUpstream: pulumi.Input<string>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
    /** Image pull policy. Default: `IfNotPresent`. */
    readonly imagePullPolicy?: string;
    /** nginx.conf template containing `__API_UPSTREAM__` at least once (every one is replaced). Default: the content of app/web/nginx.conf. */
    readonly nginxConfTemplate?: string;
    /** Port nginx listens on, as written in nginx.conf. Default: 8080. */
    readonly containerPort?: number;
    /** Port of the Service. Default: 80. */
    readonly servicePort?: number;
    /**
     * Type of the Service: `NodePort` for a load balancer outside the cluster that reaches nodes but not pod
     * addresses (ACK's ALB on a Flannel cluster). Default: `ClusterIP`.
     */
    readonly serviceType?: ServiceType;
    /**
     * Container resources; unset fields keep their default. Default: 25m/32Mi requested, 250m/64Mi limit, local disk 64Mi
     * requested and 192Mi limit (the 64Mi /tmp emptyDir for nginx's buffers plus up to 50Mi of rotated logs).
     */
    readonly resources?: ContainerResources;
    /** ServiceAccount to run as. Default: a new one named like the component, without token automount. */
    readonly serviceAccountName?: pulumi.Input<string>;
}

export const FRONTEND_DEFAULTS = {
    imagePullPolicy: "IfNotPresent",
    containerPort: 8080,
    servicePort: 80,
    resources: {
        cpuRequest: "25m", memoryRequest: "32Mi", cpuLimit: "250m", memoryLimit: "64Mi", ephemeralStorageRequest: "64Mi", ephemeralStorageLimit: "192Mi",
    } as ResolvedResources,
    /**
     * UID and GID nginx runs as: not the image's `nginx` user (101), since IDs below 10000 may be a
     * host's own users and groups. nginx-unprivileged runs as any UID: everything it writes is under
     * /tmp (an emptyDir) and everything it reads (its config, mime.types, the UI) is world-readable.
     */
    uid: 10101,
    gid: 10101,
} as const;

/** The template, which must hold the placeholder; throws otherwise. */
export function nginxConfTemplate(template: string): string {
    if (!template.includes(API_UPSTREAM_PLACEHOLDER)) {
        throw new Error(`nginx.conf must contain ${API_UPSTREAM_PLACEHOLDER}, where the API's host:port goes`);
    }
    return template;
}

/** nginx.conf with the API upstream filled in wherever the template holds the placeholder. */
export function renderNginxConf(template: string, apiUpstream: string): string {
    nginxConfTemplate(template);
    if (!/^[A-Za-z0-9.-]+:[0-9]+$/.test(apiUpstream)) {
        throw new Error(`apiUpstream must be host:port, got ${JSON.stringify(apiUpstream)}`);
    }
    return template.replaceAll(API_UPSTREAM_PLACEHOLDER, apiUpstream);
}

/**
 * nginx serving the static UI and proxying `/api/` to the API: Deployment,
 * ConfigMap with nginx.conf, Service, and optionally an HPA and a PDB.
 */
export class Frontend extends pulumi.ComponentResource {
    /** Name of the Service (the Ingress backend). */
    public readonly serviceName: pulumi.Output<string>;
    /** Port of the Service. */
    public readonly servicePort: number;
    /** Port nginx listens on in the pod (for NetworkPolicies). */
    public readonly containerPort: number;
    /** Selector labels of the nginx pods (for NetworkPolicies). */
    public readonly podSelector: Record<string, string>;

    constructor(name: string, args: FrontendArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("Frontend"), name, {}, componentOptions("Frontend", opts));
        const instance = args.instance ?? pulumi.getStack();
        const id: WorkloadIdentity = { name, component: "frontend", instance, env: args.env ?? instance, tier: "front" };
        const labels = standardLabels(id);
        const selector = selectorLabels(id);
        const containerPort = args.containerPort ?? FRONTEND_DEFAULTS.containerPort;
        const servicePort = args.servicePort ?? FRONTEND_DEFAULTS.servicePort;
        const metadata = { namespace: args.namespace, labels };
        const template = args.nginxConfTemplate ?? fs.readFileSync(DEFAULT_NGINX_CONF_PATH, "utf8");
        checkArgs(this, () => nginxConfTemplate(template));
        const resources = checkArgs(this, () => resolveResources(FRONTEND_DEFAULTS.resources, args.resources));
        // apiUpstream may be known only at deploy time: a bad one fails there, still naming this component.
        const nginxConf = pulumi.output(args.apiUpstream).apply(upstream => checkArgs(this, () => renderNginxConf(template, upstream)));
        const config = new k8s.core.v1.ConfigMap(`${name}-nginx`, {
            metadata: { name: nginxConf.apply(conf => contentName(`${name}-nginx`, conf)), ...metadata },
            immutable: true,
            data: { "nginx.conf": nginxConf },
        }, { parent: this });

        const service = createHttpWorkload(this, {
            name,
            namespace: args.namespace,
            labels,
            selector,
            scaling: args,
            serviceAccountName: args.serviceAccountName,
            runAs: { user: FRONTEND_DEFAULTS.uid, group: FRONTEND_DEFAULTS.gid },
            terminationGracePeriodSeconds: 30,
            // nginx cannot tell that it is being stopped before SIGTERM: the kubelet waits first.
            preStopSleepSeconds: 3,
            // A change of nginx.conf changes the pod template, so the pods roll.
            podAnnotations: { [CONFIG_HASH_ANNOTATION]: nginxConf.apply(configHash) },
            container: {
                name: "nginx",
                image: args.image,
                imagePullPolicy: args.imagePullPolicy ?? FRONTEND_DEFAULTS.imagePullPolicy,
                ports: [{ name: "http", containerPort, protocol: "TCP" }],
                resources: resourceRequirements(resources),
                // Readiness serves the UI from disk; liveness only asks a worker to answer (app/web/nginx.conf),
                // so a pod that cannot serve the UI leaves the Service without being restarted over and over.
                startupProbe: httpProbe("/readyz", "http", 2, 15),
                readinessProbe: httpProbe("/readyz", "http", 5, 2),
                livenessProbe: httpProbe("/healthz", "http", 10, 3),
                volumeMounts: [
                    { name: "config", mountPath: "/etc/nginx/nginx.conf", subPath: "nginx.conf", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                ],
            },
            volumes: [
                { name: "config", configMap: { name: config.metadata.name } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
            servicePort,
            serviceType: args.serviceType ?? "ClusterIP",
        });

        this.serviceName = service.metadata.name;
        this.servicePort = servicePort;
        this.containerPort = containerPort;
        this.podSelector = selector;
        this.registerOutputs({ serviceName: this.serviceName });
    }
}
