import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType } from "./typeToken";
import * as random from "@pulumi/random";
import { selectorLabels, standardLabels, WorkloadIdentity } from "./labels";
import { pdbSpec } from "./scaling";
import { ContainerResources, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security";
import { CONFIG_HASH_ANNOTATION, configHash, workloadServiceAccount } from "./workload";

/** How a client reaches a Redis: what UserApi needs, whoever runs the Redis. */
export interface RedisConnection {
    /** In-cluster DNS name of the client Service. */
    readonly host: pulumi.Input<string>;
    /** TCP port of the client Service. */
    readonly port: pulumi.Input<number>;
    /** Name of a Secret, in the client's namespace, that holds the password. */
    readonly passwordSecretName: pulumi.Input<string>;
    /** Key of the password in that Secret. */
    readonly passwordSecretKey: pulumi.Input<string>;
}

/** UID and GID a container runs as. */
export interface RunAs {
    /** runAsUser. */
    readonly user: number;
    /** runAsGroup (and fsGroup of the data volume). */
    readonly group: number;
}

export interface RedisArgs {
    /** Namespace to deploy into. Required. */
    readonly namespace: pulumi.Input<string>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
    /** Image, pinned by tag. Default: `redis:7.4.2-alpine`. */
    readonly image?: string;
    /** Image pull policy. Default: `IfNotPresent`. */
    readonly imagePullPolicy?: string;
    /** Pods in the StatefulSet: pod 0 is the primary, the others replicate it. Default: 1. */
    readonly replicas?: number;
    /** StorageClass of the data volume. Default: `standard`. */
    readonly storageClassName?: string;
    /** Size of the data volume when it is first created; later changes are ignored (resize the PVC itself). Default: `1Gi`. */
    readonly storageSize?: string;
    /** TCP port. Default: 6379. */
    readonly port?: number;
    /**
     * Container resources; unset fields keep their default. Default: 100m/128Mi requested, 500m/256Mi limit, local disk 32Mi
     * requested and 128Mi limit (the 16Mi /tmp emptyDir plus up to 50Mi of rotated logs; the data is on the volume).
     */
    readonly resources?: ContainerResources;
    /** `maxmemory` in redis.conf; keep it below the memory limit. Default: `200mb`. */
    readonly maxMemory?: string;
    /** ServiceAccount to run as. Default: a new one named like the component, without token automount. */
    readonly serviceAccountName?: pulumi.Input<string>;
    /** UID and GID the image's `redis` user has (alpine: 999/1000). Default: `{ user: 999, group: 1000 }`. */
    readonly runAs?: RunAs;
}

/** `app.kubernetes.io/component` of the Redis pods. */
export const REDIS_COMPONENT = "database";

export const REDIS_DEFAULTS = {
    image: "redis:7.4.2-alpine",
    imagePullPolicy: "IfNotPresent",
    replicas: 1,
    storageClassName: "standard",
    storageSize: "1Gi",
    port: 6379,
    resources: {
        cpuRequest: "100m", memoryRequest: "128Mi", cpuLimit: "500m", memoryLimit: "256Mi", ephemeralStorageRequest: "32Mi", ephemeralStorageLimit: "128Mi",
    } as ContainerResources,
    maxMemory: "200mb",
    runAs: { user: 999, group: 1000 },
} as const;

const CONFIG_DIR = "/etc/redis/conf";
const AUTH_DIR = "/etc/redis/auth";

/** redis.conf: AOF on, data under /data, and the password only by `include` of the Secret's file. */
export function redisConf(port: number, maxMemory: string): string {
    return [
        `port ${port}`,
        "bind * -::*",
        "protected-mode no",
        "dir /data",
        "appendonly yes",
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        `maxmemory ${maxMemory}`,
        "maxmemory-policy noeviction",
        "tcp-keepalive 60",
        "replica-read-only yes",
        `include ${AUTH_DIR}/auth.conf`,
        "",
    ].join("\n");
}

/**
 * Probe command: PING with the password read from the mounted Secret file at
 * probe time. The password is handed to redis-cli in REDISCLI_AUTH of that one
 * process, never in the container's environment or on a command line.
 */
export function pingScript(port: number): string {
    return `REDISCLI_AUTH="$(cat ${AUTH_DIR}/password)" redis-cli -p ${port} ping | grep -q PONG`;
}

/** Start script: pod 0 is the primary, every other pod a replica of it. */
export function startScript(port: number): string {
    return [
        "set -e",
        'if [ "${POD_NAME##*-}" != "0" ]; then',
        `  exec redis-server ${CONFIG_DIR}/redis.conf --replicaof "$PRIMARY_HOST" ${port}`,
        "fi",
        `exec redis-server ${CONFIG_DIR}/redis.conf`,
    ].join("\n");
}

/**
 * Redis as a StatefulSet with a headless Service (stable pod DNS), a client
 * Service for the primary, a PersistentVolumeClaim per pod, AOF persistence,
 * and a generated password kept in a Secret.
 */
export class Redis extends pulumi.ComponentResource implements RedisConnection {
    /** In-cluster DNS name of the client Service (the primary). */
    public readonly host: pulumi.Output<string>;
    /** TCP port of the client Service. */
    public readonly port: pulumi.Output<number>;
    /** The generated password (a Pulumi secret). */
    public readonly password: pulumi.Output<string>;
    /** Name of the Secret that holds the password. */
    public readonly passwordSecretName: pulumi.Output<string>;
    /** Key of the password in that Secret. */
    public readonly passwordSecretKey: pulumi.Output<string>;
    /** Name of the headless Service that governs the StatefulSet. */
    public readonly headlessServiceName: pulumi.Output<string>;
    /** Selector labels of the Redis pods (for NetworkPolicies). */
    public readonly podSelector: Record<string, string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("Redis"), name, {}, opts);
        const instance = args.instance ?? pulumi.getStack();
        const replicas = args.replicas ?? REDIS_DEFAULTS.replicas;
        if (!Number.isInteger(replicas) || replicas < 1) {
            throw new Error(`Redis ${name}: replicas must be an integer >= 1, got ${replicas}`);
        }
        const port = args.port ?? REDIS_DEFAULTS.port;
        const runAs = args.runAs ?? REDIS_DEFAULTS.runAs;
        const id: WorkloadIdentity = { name, component: REDIS_COMPONENT, instance, env: args.env ?? instance, tier: "data" };
        const labels = standardLabels(id);
        const selector = selectorLabels(id);
        const ns = args.namespace;
        const headlessName = `${name}-headless`;
        const serviceAccountName = workloadServiceAccount(this, name, { namespace: ns, labels }, args.serviceAccountName);

        const generated = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            metadata: { name: `${name}-auth`, namespace: ns, labels },
            type: "Opaque",
            stringData: {
                password: generated.result,
                "auth.conf": pulumi.interpolate`requirepass ${generated.result}\nmasterauth ${generated.result}\n`,
            },
        }, { parent: this, additionalSecretOutputs: ["stringData", "data"] });

        const conf = redisConf(port, args.maxMemory ?? REDIS_DEFAULTS.maxMemory);
        const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
            metadata: { name: `${name}-config`, namespace: ns, labels },
            data: { "redis.conf": conf },
        }, { parent: this });

        const headless = new k8s.core.v1.Service(`${name}-headless`, {
            metadata: { name: headlessName, namespace: ns, labels },
            spec: {
                clusterIP: "None",
                publishNotReadyAddresses: true,
                selector,
                ports: [{ name: "redis", port, targetPort: "redis" }],
            },
        }, { parent: this });

        // With replicas, the client Service targets the primary (pod 0) only, so writes never hit a read-only replica.
        const clientSelector = replicas > 1 ? { ...selector, "statefulset.kubernetes.io/pod-name": `${name}-0` } : selector;
        const client = new k8s.core.v1.Service(name, {
            metadata: { name, namespace: ns, labels },
            spec: { type: "ClusterIP", selector: clientSelector, ports: [{ name: "redis", port, targetPort: "redis" }] },
        }, { parent: this });

        const ping = { exec: { command: ["sh", "-c", pingScript(port)] } };

        new k8s.apps.v1.StatefulSet(name, {
            metadata: { name, namespace: ns, labels },
            spec: {
                serviceName: headless.metadata.name,
                replicas,
                podManagementPolicy: "OrderedReady",
                updateStrategy: { type: "RollingUpdate" },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                selector: { matchLabels: selector },
                template: {
                    metadata: {
                        labels,
                        annotations: { [CONFIG_HASH_ANNOTATION]: configHash(conf) },
                    },
                    spec: {
                        serviceAccountName,
                        automountServiceAccountToken: false,
                        enableServiceLinks: false,
                        terminationGracePeriodSeconds: 30,
                        securityContext: restrictedPodSecurityContext(runAs.user, runAs.group, runAs.group),
                        containers: [{
                            name: "redis",
                            image: args.image ?? REDIS_DEFAULTS.image,
                            imagePullPolicy: args.imagePullPolicy ?? REDIS_DEFAULTS.imagePullPolicy,
                            command: ["sh", "-c", startScript(port)],
                            env: [
                                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                                { name: "PRIMARY_HOST", value: pulumi.interpolate`${name}-0.${headlessName}.${ns}.svc.cluster.local` },
                            ],
                            ports: [{ name: "redis", containerPort: port, protocol: "TCP" }],
                            resources: resourceRequirements({ ...REDIS_DEFAULTS.resources, ...args.resources }),
                            securityContext: restrictedContainerSecurityContext(),
                            startupProbe: { ...ping, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 },
                            readinessProbe: { ...ping, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
                            livenessProbe: { ...ping, periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
                            volumeMounts: [
                                { name: "data", mountPath: "/data" },
                                { name: "config", mountPath: CONFIG_DIR, readOnly: true },
                                { name: "auth", mountPath: AUTH_DIR, readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                        }],
                        volumes: [
                            { name: "config", configMap: { name: config.metadata.name } },
                            { name: "auth", secret: { secretName: secret.metadata.name, defaultMode: 0o440 } },
                            { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                        ],
                    },
                },
                volumeClaimTemplates: [{
                    metadata: { name: "data", labels },
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        storageClassName: args.storageClassName ?? REDIS_DEFAULTS.storageClassName,
                        resources: { requests: { storage: args.storageSize ?? REDIS_DEFAULTS.storageSize } },
                    },
                }],
            },
        }, {
            parent: this,
            // Kubernetes forbids editing volumeClaimTemplates, so any change would delete and recreate the
            // StatefulSet (and never resize the retained PVCs). Resize a volume by editing its PVC instead.
            ignoreChanges: ["spec.volumeClaimTemplates"],
        });

        if (replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(name, {
                metadata: { name, namespace: ns, labels },
                spec: pdbSpec(selector),
            }, { parent: this });
        }

        this.host = pulumi.interpolate`${client.metadata.name}.${client.metadata.namespace}.svc.cluster.local`;
        this.port = pulumi.output(port);
        this.password = pulumi.secret(generated.result);
        this.passwordSecretName = secret.metadata.name;
        this.passwordSecretKey = pulumi.output("password");
        this.headlessServiceName = headless.metadata.name;
        this.podSelector = selector;
        this.registerOutputs({
            host: this.host,
            port: this.port,
            password: this.password,
            passwordSecretName: this.passwordSecretName,
            headlessServiceName: this.headlessServiceName,
        });
    }
}
