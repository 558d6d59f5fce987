import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { checkArgs } from "./errors";
import * as random from "@pulumi/random";
import { selectorLabels, standardLabels, WorkloadIdentity } from "./labels";
import type { PodEndpoint } from "./networkPolicies";
import { ContainerResources, ResolvedResources, resolveResources, RunAs } from "./security";
import { contentName, SERVICE_ANNOTATIONS, workloadServiceAccount } from "./workload";
import {
    dataVolumeClaim, redisConfigData, redisPdbSpec, redisPodTemplate, redisServiceSpecs, RedisTopology, SENTINEL_PORT, SentinelSettings,
} from "./redisWorkload";

import type { RedisBackupTarget } from "./redisBackup";

export { redisConf, redisPdbSpec, SENTINEL_PORT } from "./redisWorkload";

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
    /** Comma-separated `host:port` of Sentinels that name the primary; the client follows it through failovers. `""` or undefined: `host:port` is the Redis. */
    readonly sentinelAddrs?: pulumi.Input<string>;
    /** Name the Sentinels monitor the primary by. Default: `mymaster`. */
    readonly sentinelMaster?: pulumi.Input<string>;
    /** Key of the Sentinels' password in the same Secret (`optional`: a missing key means no password). Default: none. */
    readonly sentinelPasswordSecretKey?: pulumi.Input<string>;
    /** TLS to Redis (and the Sentinels). Default: false. */
    readonly tls?: pulumi.Input<boolean>;
    /** Name of a ConfigMap, in the client's namespace, whose key `ca.crt` holds the CAs the Redis's TLS certificate is verified against. Default: none (the system roots). */
    readonly tlsCaConfigMapName?: pulumi.Input<string>;
    /** Replicas that must confirm each write before the client reports it done (Redis WAIT). Default: 0. */
    readonly waitReplicas?: pulumi.Input<number>;
}

/** Where a client mounts the ConfigMap of its Redis's TLS CAs ({@link redisTlsCaVolume}). */
export const REDIS_TLS_CA_DIR = "/etc/sample-app/redis-tls";

/**
 * The API's environment for a Redis connection (see app/api/README.md):
 * `REDIS_ADDR`, or the `REDIS_SENTINEL_*` variables when the connection has
 * Sentinels; the passwords as files under `authDir` (see {@link redisAuthVolume}),
 * TLS and write confirmation.
 */
export function redisClientEnv(conn: RedisConnection, authDir: string): k8s.types.input.core.v1.EnvVar[] {
    const env: k8s.types.input.core.v1.EnvVar[] = [];
    if (conn.sentinelAddrs === undefined) {
        env.push({ name: "REDIS_ADDR", value: pulumi.interpolate`${conn.host}:${conn.port}` });
    } else {
        // Known only once a StackReference resolves (gray): the API reads "" as unset, so exactly one way applies.
        const sentinels = pulumi.output(conn.sentinelAddrs);
        const ifSentinels = (value: pulumi.Input<string>, otherwise: pulumi.Input<string>) =>
            pulumi.all([sentinels, value, otherwise]).apply(([s, v, o]) => (s ? v : o));
        env.push(
            { name: "REDIS_ADDR", value: ifSentinels("", pulumi.interpolate`${conn.host}:${conn.port}`) },
            { name: "REDIS_SENTINEL_ADDRS", value: sentinels },
            { name: "REDIS_SENTINEL_MASTER", value: pulumi.output(conn.sentinelMaster ?? "").apply(m => m || "mymaster") },
        );
        if (conn.sentinelPasswordSecretKey !== undefined) {
            env.push({ name: "REDIS_SENTINEL_PASSWORD_FILE", value: ifSentinels(`${authDir}/sentinel-password`, "") });
        }
    }
    env.push({ name: "REDIS_PASSWORD_FILE", value: `${authDir}/password` });
    if (conn.tls !== undefined) {
        env.push({ name: "REDIS_TLS", value: pulumi.output(conn.tls).apply(String) });
    }
    if (conn.tlsCaConfigMapName !== undefined) {
        env.push({ name: "REDIS_TLS_CA_FILE", value: `${REDIS_TLS_CA_DIR}/ca.crt` });
    }
    if (conn.waitReplicas !== undefined) {
        env.push({ name: "REDIS_WAIT_REPLICAS", value: pulumi.output(conn.waitReplicas).apply(String) });
    }
    return env;
}

/** The Secret volume of a client's Redis passwords: `password`, and `sentinel-password` when the connection has one. */
export function redisAuthVolume(name: string, conn: RedisConnection): k8s.types.input.core.v1.Volume {
    return {
        name,
        secret: {
            secretName: conn.passwordSecretName,
            items: [
                { key: conn.passwordSecretKey, path: "password" },
                ...(conn.sentinelPasswordSecretKey !== undefined ? [{ key: conn.sentinelPasswordSecretKey, path: "sentinel-password" }] : []),
            ],
            defaultMode: 0o440,
        },
    };
}

/** The ConfigMap volume of a client's Redis TLS CAs (mounted at {@link REDIS_TLS_CA_DIR}); undefined when the connection names none. */
export function redisTlsCaVolume(name: string, conn: RedisConnection): k8s.types.input.core.v1.Volume | undefined {
    return conn.tlsCaConfigMapName === undefined
        ? undefined
        : { name, configMap: { name: conn.tlsCaConfigMapName, items: [{ key: "ca.crt", path: "ca.crt" }], defaultMode: 0o444 } };
}

/** Sentinel mode of {@link RedisArgs}: automatic failover. */
export interface RedisSentinelArgs {
    /** Sentinels that must agree the primary is down (a failover also needs a majority of them). Default: a majority of the pods. */
    readonly quorum?: number;
    /** Name the Sentinels monitor the primary by: 1 to 64 letters, digits, `_`, `.` or `-`. Default: `mymaster`. */
    readonly masterName?: string;
    /** `down-after-milliseconds`. Default: 5000. */
    readonly downAfterMs?: number;
    /**
     * `failover-timeout` in milliseconds. A Sentinel whose failover attempt was not elected (two Sentinels asked
     * for votes at the same moment, a split vote) tries again only after twice this: with a node lost, that is
     * how long writes may wait. Default: 20000.
     */
    readonly failoverTimeoutMs?: number;
    /** Resources of each sentinel container; unset fields keep their default. Default: 20m/32Mi requested, 100m/64Mi limit, local disk 16Mi requested and 128Mi limit (its emptyDirs and up to 50Mi of rotated logs). */
    readonly resources?: ContainerResources;
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
    /** Pods in the StatefulSet: one primary, the others replicate it (without Sentinel pod 0 is the primary). Default: 1, or 3 with Sentinel. */
    readonly replicas?: number;
    /** Run a Sentinel beside each Redis (a sidecar) for automatic failover; clients follow the primary through them. Default: none (no failover). */
    readonly sentinel?: RedisSentinelArgs;
    /** Replicas that must confirm each write before a client reports it done (exported for clients as `waitReplicas`). Default: 1 with Sentinel, else 0. */
    readonly waitReplicas?: number;
    /** Also spread the pods over zones, not only nodes. Default: false. */
    readonly zoneSpread?: boolean;
    /** Name of a VolumeSnapshot the data volumes of new pods start from (a restore). Default: none, empty volumes. */
    readonly restoreFromSnapshot?: string;
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
    /**
     * The Redis password (kept as a Pulumi secret), e.g. from `pulumi config set --secret`; it goes into
     * `requirepass` lines, so no whitespace. Default: 32 alphanumerics generated by the random provider.
     */
    readonly password?: pulumi.Input<string>;
    /** With Sentinel: the Sentinels' password (kept as a Pulumi secret). Default: 32 alphanumerics generated by the random provider. */
    readonly sentinelPassword?: pulumi.Input<string>;
    /**
     * UID and GID Redis and its Sentinel run as; the data volume's fsGroup is the GID. Any IDs work: the
     * image's `redis` user (alpine: 999/1000) owns nothing the pod uses. Default: `{ user: 10999, group: 10999 }`
     * (10000 or more, clear of a host's own users and groups).
     */
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
    } as ResolvedResources,
    maxMemory: "200mb",
    runAs: { user: 10999, group: 10999 },
    sentinelReplicas: 3,
    sentinel: {
        masterName: "mymaster",
        downAfterMs: 5000,
        failoverTimeoutMs: 20000,
        resources: {
            cpuRequest: "20m", memoryRequest: "32Mi", cpuLimit: "100m", memoryLimit: "64Mi", ephemeralStorageRequest: "16Mi", ephemeralStorageLimit: "128Mi",
        } as ResolvedResources,
    },
} as const;

/** `maxmemory` of redis.conf as Redis reads it (bytes, or k, kb, m, mb, g, gb in any case); throws on anything else. */
export function redisMemory(value: string): string {
    if (!/^[0-9]+([kmg]b?)?$/i.test(value)) {
        throw new Error(`maxMemory must be a Redis memory size such as 200mb or 1gb, got ${JSON.stringify(value)}`);
    }
    return value;
}

/** The topology args ask for, validated: throws naming the component and the value. */
export function redisTopology(name: string, args: Pick<RedisArgs, "replicas" | "port" | "sentinel">): RedisTopology {
    const replicas = args.replicas ?? (args.sentinel ? REDIS_DEFAULTS.sentinelReplicas : REDIS_DEFAULTS.replicas);
    if (!Number.isInteger(replicas) || replicas < 1) {
        throw new Error(`Redis ${name}: replicas must be an integer >= 1, got ${replicas}`);
    }
    const port = args.port ?? REDIS_DEFAULTS.port;
    if (!Number.isInteger(port) || port < 1 || port > 65535 || port === SENTINEL_PORT) {
        throw new Error(`Redis ${name}: port must be an integer from 1 to 65535 other than the Sentinels' ${SENTINEL_PORT}, got ${port}`);
    }
    if (!args.sentinel) {
        return { name, replicas, port };
    }
    if (replicas < 3) {
        throw new Error(`Redis ${name}: Sentinel needs replicas >= 3 (a primary, a replica to promote and a Sentinel majority that survives one pod), got ${replicas}`);
    }
    const quorum = args.sentinel.quorum ?? Math.floor(replicas / 2) + 1;
    if (!Number.isInteger(quorum) || quorum < 1 || quorum > replicas) {
        throw new Error(`Redis ${name}: sentinel quorum must be an integer from 1 to replicas (${replicas}), got ${quorum}`);
    }
    const d = REDIS_DEFAULTS.sentinel;
    const masterName = args.sentinel.masterName ?? d.masterName;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(masterName)) {
        throw new Error(`Redis ${name}: sentinel masterName must be 1 to 64 letters, digits, '_', '.' or '-', beginning with a letter or digit (it is a word of sentinel.conf and of every Sentinel command), got ${JSON.stringify(masterName)}`);
    }
    const sentinel: SentinelSettings = {
        masterName,
        quorum,
        downAfterMs: args.sentinel.downAfterMs ?? d.downAfterMs,
        failoverTimeoutMs: args.sentinel.failoverTimeoutMs ?? d.failoverTimeoutMs,
    };
    return { name, replicas, port, sentinel };
}

/**
 * Redis as a StatefulSet with a headless Service (stable pod DNS), a
 * PersistentVolumeClaim per pod, AOF persistence and generated passwords
 * kept in a Secret. Without Sentinel, a client Service reaches the primary
 * (pod 0); with Sentinel, each pod also runs a Sentinel and clients ask them
 * for the primary, which they move to a replica when it fails.
 */
export class Redis extends pulumi.ComponentResource implements RedisConnection, RedisBackupTarget {
    /** In-cluster DNS name of the client Service (the primary); with Sentinel, of the headless Service (ask the Sentinels for the primary). */
    public readonly host: pulumi.Output<string>;
    /** TCP port of Redis. */
    public readonly port: pulumi.Output<number>;
    /** The password, supplied or generated (a Pulumi secret). */
    public readonly password: pulumi.Output<string>;
    /** Name of the Secret that holds the passwords. */
    public readonly passwordSecretName: pulumi.Output<string>;
    /** Key of the password in that Secret. */
    public readonly passwordSecretKey: pulumi.Output<string>;
    /** Sentinel addresses (`host:port,...`); undefined without Sentinel. */
    public readonly sentinelAddrs?: pulumi.Output<string>;
    /** Name the Sentinels monitor the primary by; undefined without Sentinel. */
    public readonly sentinelMaster?: pulumi.Output<string>;
    /** The Sentinel password, supplied or generated (a Pulumi secret; `""` without Sentinel). */
    public readonly sentinelPassword: pulumi.Output<string>;
    /** Key of the Sentinel password in the Secret; undefined without Sentinel. */
    public readonly sentinelPasswordSecretKey?: pulumi.Output<string>;
    /** Replicas that must confirm each write. */
    public readonly waitReplicas: pulumi.Output<number>;
    /** Name of the headless Service that governs the StatefulSet. */
    public readonly headlessServiceName: pulumi.Output<string>;
    /** The Redis pods and their port, as a NetworkPolicy peer. */
    public readonly endpoint: PodEndpoint;
    /** Port of the Sentinels, when there are some. */
    public readonly sentinelPort?: number;
    /** Pods in the StatefulSet. */
    public readonly replicas: number;
    /** FQDN of the headless Service (each pod is `<name>-<i>.<headlessHost>`). */
    public readonly headlessHost: pulumi.Output<string>;
    /** ConfigMap of redis.conf and the scripts (a backup sources `common.sh` to find the primary). */
    public readonly configMapName: pulumi.Output<string>;
    /** The Redis image. */
    public readonly image: string;
    /** Port of Redis, as a number. */
    public readonly redisPort: number;
    /** Selector labels of the Redis pods (for NetworkPolicies). */
    public readonly podSelector: Record<string, string>;

    constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("Redis"), name, {}, componentOptions("Redis", opts));
        const t = checkArgs(this, () => redisTopology(name, args));
        const resources = checkArgs(this, () => resolveResources(REDIS_DEFAULTS.resources, args.resources));
        const sentinelResources = checkArgs(this, () => resolveResources(REDIS_DEFAULTS.sentinel.resources, args.sentinel?.resources));
        const maxMemory = checkArgs(this, () => redisMemory(args.maxMemory ?? REDIS_DEFAULTS.maxMemory));
        this.image = args.image ?? REDIS_DEFAULTS.image;
        const instance = args.instance ?? pulumi.getStack();
        const id: WorkloadIdentity = { name, component: REDIS_COMPONENT, instance, env: args.env ?? instance, tier: "data" };
        const labels = standardLabels(id);
        const selector = selectorLabels(id);
        const ns = args.namespace;
        const metadata = (objectName: string) => ({ name: objectName, namespace: ns, labels });
        const headlessName = `${name}-headless`;
        const headlessHost = pulumi.interpolate`${headlessName}.${ns}.svc.cluster.local`;
        const serviceAccountName = workloadServiceAccount(this, name, { namespace: ns, labels }, args.serviceAccountName);

        // A supplied password needs no random provider (a stack that sets both never loads its plugin).
        const generate = (resource: string) => new random.RandomPassword(resource, { length: 32, special: false }, { parent: this }).result;
        const password = args.password !== undefined ? pulumi.secret(args.password) : generate(`${name}-password`);
        const sentinelPassword = t.sentinel
            ? (args.sentinelPassword !== undefined ? pulumi.secret(args.sentinelPassword) : generate(`${name}-sentinel-password`))
            : undefined;
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            metadata: metadata(`${name}-auth`),
            type: "Opaque",
            // The start scripts write the passwords into the runtime config, quoted (scripts/common.sh conf_quote).
            stringData: {
                password,
                // Read by nothing since 0.6.0, and kept as 0.5.0 wrote it: a change to a Secret's data makes the
                // kubernetes provider replace it (delete, then create: its name is fixed), and with it every
                // object that takes its name, so an upgrade would recreate the API's Deployment at once.
                "auth.conf": pulumi.interpolate`requirepass ${password}\nmasterauth ${password}\n`,
                ...(sentinelPassword ? { "sentinel-password": sentinelPassword } : {}),
            },
        }, { parent: this, additionalSecretOutputs: ["stringData", "data"] });

        const configData = redisConfigData(t, maxMemory);
        const config = new k8s.core.v1.ConfigMap(`${name}-config`, {
            metadata: metadata(contentName(`${name}-config`, JSON.stringify(configData))),
            immutable: true,
            data: configData,
            // Never protected, even when Redis is (prod): it holds no data, and a change of the config or
            // the scripts replaces it (a new name), which a protected one would refuse.
        }, { parent: this, protect: false });

        const services = redisServiceSpecs(t, selector);
        const serviceMetadata = (objectName: string) => ({ ...metadata(objectName), annotations: { ...SERVICE_ANNOTATIONS } });
        const headless = new k8s.core.v1.Service(`${name}-headless`, { metadata: serviceMetadata(headlessName), spec: services.headless }, { parent: this });
        const client = services.client && new k8s.core.v1.Service(name, { metadata: serviceMetadata(name), spec: services.client }, { parent: this });

        new k8s.apps.v1.StatefulSet(name, {
            metadata: metadata(name),
            spec: {
                serviceName: headless.metadata.name,
                replicas: t.replicas,
                // Pods start (and are replaced) in parallel: one that cannot be scheduled, e.g. in a lost zone
                // whose volume pins it there, never holds the others back. Sentinel decides the primary; on a
                // fresh StatefulSet the others replicate pod 0 and wait for it (scripts/common.sh primary).
                podManagementPolicy: "Parallel",
                updateStrategy: { type: "RollingUpdate" },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                selector: { matchLabels: selector },
                template: redisPodTemplate(t, {
                    image: this.image,
                    imagePullPolicy: args.imagePullPolicy ?? REDIS_DEFAULTS.imagePullPolicy,
                    resources,
                    sentinelResources,
                    runAs: args.runAs ?? REDIS_DEFAULTS.runAs,
                    serviceAccountName,
                    labels,
                    selector,
                    headlessHost,
                    configMapName: config.metadata.name,
                    secretName: secret.metadata.name,
                    configData,
                    zoneSpread: args.zoneSpread ?? false,
                }),
                volumeClaimTemplates: [dataVolumeClaim(
                    labels,
                    args.storageClassName ?? REDIS_DEFAULTS.storageClassName,
                    args.storageSize ?? REDIS_DEFAULTS.storageSize,
                    args.restoreFromSnapshot,
                )],
            },
        }, {
            parent: this,
            // Kubernetes forbids editing volumeClaimTemplates, so any change would delete and recreate the
            // StatefulSet (and never resize the retained PVCs). Resize a volume by editing its PVC instead.
            ignoreChanges: ["spec.volumeClaimTemplates"],
        });

        if (t.replicas > 1) {
            new k8s.policy.v1.PodDisruptionBudget(name, { metadata: metadata(name), spec: redisPdbSpec(t, selector) }, { parent: this });
        }

        const sentinelAddrs = Array.from({ length: t.sentinel ? t.replicas : 0 }, (_, i) => pulumi.interpolate`${name}-${i}.${headlessHost}:${SENTINEL_PORT}`);
        // Known from names before anything exists: a client (the API) needs the address, not this Redis being up.
        this.host = client ? pulumi.interpolate`${name}.${ns}.svc.cluster.local` : headlessHost;
        this.port = pulumi.output(t.port);
        this.password = pulumi.secret(password);
        this.passwordSecretName = secret.metadata.name;
        this.passwordSecretKey = pulumi.output("password");
        if (t.sentinel) {
            this.sentinelAddrs = pulumi.all(sentinelAddrs).apply(a => a.join(","));
            this.sentinelMaster = pulumi.output(t.sentinel.masterName);
            this.sentinelPasswordSecretKey = pulumi.output("sentinel-password");
        }
        this.sentinelPassword = pulumi.secret(sentinelPassword ?? "");
        this.waitReplicas = pulumi.output(args.waitReplicas ?? (t.sentinel ? 1 : 0));
        this.headlessServiceName = headless.metadata.name;
        this.endpoint = { podSelector: selector, port: t.port };
        this.sentinelPort = t.sentinel ? SENTINEL_PORT : undefined;
        this.replicas = t.replicas;
        this.headlessHost = headlessHost;
        this.configMapName = config.metadata.name;
        this.redisPort = t.port;
        this.podSelector = selector;
        this.registerOutputs({
            host: this.host,
            port: this.port,
            password: this.password,
            passwordSecretName: this.passwordSecretName,
            headlessServiceName: this.headlessServiceName,
            sentinelAddrs: this.sentinelAddrs,
            sentinelMaster: this.sentinelMaster,
            sentinelPassword: this.sentinelPassword,
        });
    }
}
