import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import { selectorLabels, standardLabels, WorkloadIdentity } from "./labels";
import { REDIS_TLS_CA_DIR, RedisConnection, redisAuthVolume, redisClientEnv, redisTlsCaVolume } from "./redis";
import { ScalingArgs } from "./scaling";
import { parseQuantity } from "./quantity";
import { ContainerResources, ResolvedResources, resolveResources, resourceRequirements } from "./security";
import { createHttpWorkload, httpProbe } from "./workload";
import { createPodMonitor, PodMonitorArgs, podMonitorManifest } from "./podMonitor";

/** `LOG_LEVEL` values of the API (an enum in the component schema). */
export const LogLevel = { Debug: "debug", Info: "info", Warn: "warn", Error: "error" } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export interface UserApiArgs extends ScalingArgs {
    /** Namespace to deploy into. Required. */
    readonly namespace: pulumi.Input<string>;
    /** Image of app/api, pinned by tag. Required. */
    readonly image: string;
    /** Where Redis is and which Secret holds its password (a `Redis` or `ExternalRedis`). Required. */
    readonly redis: RedisConnection;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
    /** Image pull policy. Default: `IfNotPresent`. */
    readonly imagePullPolicy?: string;
    /** Port the API listens on (container and Service). Default: 8080. */
    readonly port?: number;
    /** `LOG_LEVEL` of the API. Default: `info`. */
    readonly logLevel?: LogLevel;
    /**
     * Container resources; unset fields keep their default. Default: 50m/64Mi requested, 500m/128Mi limit, local disk 32Mi
     * requested and 128Mi limit (the 16Mi /tmp emptyDir plus up to 50Mi of rotated logs; the API writes nothing else).
     */
    readonly resources?: ContainerResources;
    /** ServiceAccount to run as. Default: a new one named like the component, without token automount. */
    readonly serviceAccountName?: pulumi.Input<string>;
    /**
     * Annotate the pods (`prometheus.io/scrape`, `port`, `path: /metrics`) for a Prometheus that discovers pods by
     * annotation. Set it only where such a Prometheus may reach the pods (NetworkPolicies' `metricsNamespace`),
     * so the annotations never promise scraping that the policies block. Default: false.
     */
    readonly prometheusScrape?: boolean;
    /**
     * Make a `monitoring.coreos.com/v1` PodMonitor that scrapes the pods' `/metrics` on the `http` port, for a
     * Prometheus that reads PodMonitors: the Prometheus Operator, or ACK's Managed Service for Prometheus (ARMS).
     * The cluster must have the CRD (both install it). The other way than `prometheusScrape` (a Prometheus that
     * read both would scrape each pod twice, so setting both is refused); set it, too, only where that Prometheus
     * may reach the pods. Default: no PodMonitor.
     */
    readonly podMonitor?: PodMonitorArgs;
    /** Seconds from SIGTERM to SIGKILL; the API drains within this minus 5s. Default: 30. */
    readonly terminationGracePeriodSeconds?: number;
}

/** Where the API pods mount the Redis password Secret (`REDIS_PASSWORD_FILE` is `password` in it). */
export const REDIS_AUTH_DIR = "/etc/sample-app/redis";

/** `app.kubernetes.io/component` of the API pods. */
export const USER_API_COMPONENT = "backend";

export const USER_API_DEFAULTS = {
    imagePullPolicy: "IfNotPresent",
    port: 8080,
    logLevel: "info" as LogLevel,
    resources: {
        cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "500m", memoryLimit: "128Mi", ephemeralStorageRequest: "32Mi", ephemeralStorageLimit: "128Mi",
    } as ResolvedResources,
    terminationGracePeriodSeconds: 30,
    /** The distroless `nonroot` user. */
    uid: 65532,
} as const;

/** The least headroom GOMEMLIMIT leaves below the memory limit. */
const GO_MEMORY_HEADROOM_FLOOR = 16 * 2 ** 20;

/**
 * GOMEMLIMIT for a container memory limit: the limit less the larger of 10 % and 16Mi, in MiB. The Go
 * runtime keeps its heap, goroutine stacks and own structures under GOMEMLIMIT, collecting harder as
 * they near it; the container's cgroup also charges what the runtime does not count (the binary's
 * mapped text and data, socket buffers, the kernel's per-process memory), and the collector needs a
 * moment to react to a fast-growing heap. At GOMEMLIMIT equal to the limit the kernel OOM-kills the
 * API before the collector has worked harder; with this headroom it collects first. Throws when the
 * limit leaves the API less than 16MiB.
 */
export function goMemLimit(memoryLimit: string): string {
    const bytes = parseQuantity(memoryLimit) ?? 0;
    const mib = Math.floor((bytes - Math.max(bytes * 0.1, GO_MEMORY_HEADROOM_FLOOR)) / 2 ** 20);
    if (mib < 16) {
        throw new Error(`resources.memoryLimit ${memoryLimit} leaves the API ${Math.max(mib, 0)}MiB once GOMEMLIMIT keeps its headroom (10 %, at least 16Mi): give it at least 32Mi`);
    }
    return `${mib}MiB`;
}

/**
 * SHUTDOWN_TIMEOUT and SHUTDOWN_DELAY of the API for a termination grace period of `grace` seconds.
 * On SIGTERM the API fails /readyz and keeps serving for the delay (3s, or half the timeout when that
 * is shorter), each response telling the client to close its connection: endpoints drop the pod, and
 * a proxy's keep-alive connections to it close after an answer instead of while idle, where a POST
 * sent at that moment would fail. Then it stops accepting and lets in-flight requests finish, all
 * within the timeout: the grace period less 5s (at least 1s), the margin before the kubelet kills it.
 */
export function shutdownTiming(grace: number): { readonly timeout: string; readonly delay: string } {
    const timeout = Math.max(grace - 5, 1);
    return { timeout: `${timeout}s`, delay: `${Math.min(3000, timeout * 500)}ms` };
}

/**
 * The Go user-CRUD API: Deployment, Service, ServiceAccount, probes on
 * /healthz and /readyz, and optionally an HPA and a PDB.
 */
export class UserApi extends pulumi.ComponentResource {
    /** Name of the Service. */
    public readonly serviceName: pulumi.Output<string>;
    /** `host:port` of the Service inside the cluster. */
    public readonly address: pulumi.Output<string>;
    /** `http://host:port` of the Service inside the cluster. */
    public readonly url: pulumi.Output<string>;
    /** Port of the Service. */
    public readonly port: number;
    /** Selector labels of the API pods (for NetworkPolicies). */
    public readonly podSelector: Record<string, string>;

    constructor(name: string, args: UserApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("UserApi"), name, {}, componentOptions("UserApi", opts));
        const instance = args.instance ?? pulumi.getStack();
        const id: WorkloadIdentity = { name, component: USER_API_COMPONENT, instance, env: args.env ?? instance, tier: "back" };
        const labels = standardLabels(id);
        const selector = selectorLabels(id);
        const port = args.port ?? USER_API_DEFAULTS.port;
        const grace = args.terminationGracePeriodSeconds ?? USER_API_DEFAULTS.terminationGracePeriodSeconds;
        const resources = checkArgs(this, () => resolveResources(USER_API_DEFAULTS.resources, args.resources));
        const memLimit = checkArgs(this, () => goMemLimit(resources.memoryLimit));
        const tlsCa = redisTlsCaVolume("redis-tls-ca", args.redis);
        const shutdown = shutdownTiming(grace);
        const podMonitor = args.podMonitor;
        const monitor = podMonitor && checkArgs(this, () => {
            if (args.prometheusScrape) {
                throw new Error("podMonitor and prometheusScrape are two ways to the same scrape: set one (a Prometheus that reads both scrapes each pod twice)");
            }
            return podMonitorManifest({ name, namespace: args.namespace, labels, selector, port: "http", path: "/metrics" }, podMonitor);
        });

        const service = createHttpWorkload(this, {
            name,
            namespace: args.namespace,
            labels,
            selector,
            scaling: args,
            serviceAccountName: args.serviceAccountName,
            runAs: { user: USER_API_DEFAULTS.uid, group: USER_API_DEFAULTS.uid },
            terminationGracePeriodSeconds: grace,
            // The API keeps serving after SIGTERM by itself (SHUTDOWN_DELAY): no preStop pause.
            preStopSleepSeconds: 0,
            podAnnotations: args.prometheusScrape
                ? { "prometheus.io/scrape": "true", "prometheus.io/port": String(port), "prometheus.io/path": "/metrics" }
                : {},
            container: {
                name: "api",
                image: args.image,
                imagePullPolicy: args.imagePullPolicy ?? USER_API_DEFAULTS.imagePullPolicy,
                env: [
                    { name: "PORT", value: String(port) },
                    // Passwords are read-only files from the Secret, never environment variables.
                    ...redisClientEnv(args.redis, REDIS_AUTH_DIR),
                    { name: "LOG_LEVEL", value: args.logLevel ?? USER_API_DEFAULTS.logLevel },
                    // On SIGTERM: keep serving a moment, every response closing its connection, then drain (shutdownTiming).
                    { name: "SHUTDOWN_TIMEOUT", value: shutdown.timeout },
                    { name: "SHUTDOWN_DELAY", value: shutdown.delay },
                    // The Go runtime's soft limit, with headroom below the container's (goMemLimit says why).
                    { name: "GOMEMLIMIT", value: memLimit },
                ],
                ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
                resources: resourceRequirements(resources),
                startupProbe: httpProbe("/healthz", "http", 2, 30),
                readinessProbe: httpProbe("/readyz", "http", 5, 2),
                livenessProbe: httpProbe("/healthz", "http", 10, 3),
                volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "redis-auth", mountPath: REDIS_AUTH_DIR, readOnly: true },
                    ...(tlsCa ? [{ name: tlsCa.name, mountPath: REDIS_TLS_CA_DIR, readOnly: true }] : []),
                ],
            },
            volumes: [
                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                // Only the password keys, readable by the pod's group (fsGroup) and nobody else.
                redisAuthVolume("redis-auth", args.redis),
                ...(tlsCa ? [tlsCa] : []),
            ],
            servicePort: port,
            serviceType: "ClusterIP",
        });

        if (monitor) {
            createPodMonitor(this, name, monitor);
        }

        this.serviceName = service.metadata.name;
        this.port = port;
        this.address = pulumi.interpolate`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${port}`;
        this.url = pulumi.interpolate`http://${this.address}`;
        this.podSelector = selector;
        this.registerOutputs({ serviceName: this.serviceName, address: this.address, url: this.url });
    }
}
