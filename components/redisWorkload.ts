import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { topologySpread } from "./scaling";
import { ResolvedResources, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security";
import { CONFIG_HASH_ANNOTATION, configHash } from "./workload";

/**
 * Pure builders of the Redis StatefulSet, its scripts and Sentinel, so the
 * Redis component only wires them. Scripts come from a ConfigMap; secrets only
 * from the mounted Secret's files, read by the scripts into an emptyDir, never
 * into an argument list, a ConfigMap or an env literal.
 */

/** Port every Sentinel listens on. */
export const SENTINEL_PORT = 26379;

/** Where the ConfigMap (redis.conf and the scripts), the Secret's files and the runtime config are mounted. */
export const REDIS_PATHS = {
    config: "/etc/redis/conf",
    auth: "/etc/redis/auth",
    run: "/run/redis",
    data: "/data",
} as const;

/** How a Redis StatefulSet elects and follows its primary. */
export interface RedisTopology {
    /** StatefulSet name, the stem of every pod name. */
    readonly name: string;
    /** Pods in the StatefulSet. */
    readonly replicas: number;
    /** Redis port. */
    readonly port: number;
    /** Sentinel settings; undefined: pod 0 is always the primary (no automatic failover). */
    readonly sentinel?: SentinelSettings;
}

/** Sentinel settings of a Sentinel-mode Redis. */
export interface SentinelSettings {
    /** Name the Sentinels monitor the primary by. */
    readonly masterName: string;
    /** Sentinels that must agree the primary is down. */
    readonly quorum: number;
    /** `down-after-milliseconds`: how long the primary may be unreachable before a Sentinel deems it down. */
    readonly downAfterMs: number;
    /** `failover-timeout` in milliseconds. */
    readonly failoverTimeoutMs: number;
}

/**
 * redis.conf: AOF on, no eviction, replicas read-only. The start script (scripts/start-redis.sh)
 * includes it in the runtime config, after which it sets the data directory, the passwords (read
 * from the Secret's files) and the replication.
 */
export function redisConf(port: number, maxMemory: string): string {
    return [
        `port ${port}`,
        "bind * -::*",
        "protected-mode no",
        "appendonly yes",
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        `maxmemory ${maxMemory}`,
        "maxmemory-policy noeviction",
        "tcp-keepalive 60",
        "replica-read-only yes",
        // A replica restarting after a failover syncs at once rather than after the default 5s.
        "repl-diskless-sync-delay 0",
        "",
    ].join("\n");
}

/**
 * The start scripts, probes and preStop of the Redis pods: real files in components/scripts/,
 * shellchecked, shipped in the package. Found from components/ (sources) and dist/ (the compiled
 * package) alike: both sit one level below the package root.
 */
export const REDIS_SCRIPTS_DIR = path.join(__dirname, "..", "components", "scripts");

/** The scripts every Redis StatefulSet has; Sentinel mode adds {@link SENTINEL_SCRIPTS}. */
export const REDIS_SCRIPTS = ["common.sh", "start-redis.sh", "ready.sh"] as const;
/** The scripts of the sentinel container, and the primary's preStop handover. */
export const SENTINEL_SCRIPTS = ["start-sentinel.sh", "sentinel-ready.sh", "sentinel-alive.sh", "pre-stop.sh"] as const;

/** Seconds a stopping primary waits to have handed over (pre-stop.sh); the grace period leaves room for it. */
const PRESTOP_WAIT_SECONDS = 20;

/** A shell assignment of `value`, single-quoted so no character of it is special. */
function shellAssign(name: string, value: string | number): string {
    return `${name}='${String(value).replace(/'/g, "'\\''")}'`;
}

/** topology.sh, which common.sh sources: the StatefulSet's shape, as shell variables. */
export function topologyScript(t: RedisTopology): string {
    const vars: [string, string | number][] = [["STATEFULSET", t.name], ["REPLICAS", t.replicas], ["REDIS_PORT", t.port]];
    if (t.sentinel) {
        vars.push(
            ["SENTINEL_PORT", SENTINEL_PORT], ["SENTINEL_MASTER", t.sentinel.masterName], ["SENTINEL_QUORUM", t.sentinel.quorum],
            ["SENTINEL_DOWN_AFTER_MS", t.sentinel.downAfterMs], ["SENTINEL_FAILOVER_TIMEOUT_MS", t.sentinel.failoverTimeoutMs],
            ["PRESTOP_WAIT_SECONDS", PRESTOP_WAIT_SECONDS],
        );
    }
    return ["# shellcheck shell=sh disable=SC2034", "# The shape of this Redis StatefulSet, sourced by common.sh.", ...vars.map(([k, v]) => shellAssign(k, v)), ""].join("\n");
}

/** The ConfigMap data: redis.conf, topology.sh and the scripts; no secret. */
export function redisConfigData(t: RedisTopology, maxMemory: string): Record<string, string> {
    const scripts = [...REDIS_SCRIPTS, ...(t.sentinel ? SENTINEL_SCRIPTS : [])];
    return {
        "redis.conf": redisConf(t.port, maxMemory),
        "topology.sh": topologyScript(t),
        ...Object.fromEntries(scripts.map(f => [f, fs.readFileSync(path.join(REDIS_SCRIPTS_DIR, f), "utf8")])),
    };
}

/** `sh <script>` from the ConfigMap, as an exec probe or command. */
function shScript(file: string): string[] {
    return ["sh", `${REDIS_PATHS.config}/${file}`];
}

/** Exec probe of a redis-cli PING on a port, authenticated from the Secret's file. */
function pingProbe(port: number, passwordFile: string): k8s.types.input.core.v1.ExecAction {
    return { command: ["sh", "-c", `REDISCLI_AUTH="$(cat ${REDIS_PATHS.auth}/${passwordFile})" redis-cli -p ${port} ping | grep -q PONG`] };
}

/** What the pod template of a Redis StatefulSet needs beyond its topology. */
export interface RedisPodArgs {
    readonly image: string;
    readonly imagePullPolicy: string;
    readonly resources: ResolvedResources;
    /** Resources of the sentinel container. */
    readonly sentinelResources: ResolvedResources;
    readonly runAs: { readonly user: number; readonly group: number };
    readonly serviceAccountName: pulumi.Input<string>;
    readonly labels: Record<string, string>;
    readonly selector: Record<string, string>;
    /** FQDN of the headless Service. */
    readonly headlessHost: pulumi.Input<string>;
    readonly configMapName: pulumi.Input<string>;
    readonly secretName: pulumi.Input<string>;
    /** The ConfigMap's data, hashed onto the template so a change rolls the pods. */
    readonly configData: Record<string, string>;
    /** Also spread the pods over zones. */
    readonly zoneSpread: boolean;
}

/** The pod template: redis (and, with Sentinel, a sentinel sidecar), hardened, spread over nodes and zones. */
export function redisPodTemplate(t: RedisTopology, p: RedisPodArgs): k8s.types.input.core.v1.PodTemplateSpec {
    const env = [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "HEADLESS", value: p.headlessHost },
    ];
    const mounts = [
        { name: "config", mountPath: REDIS_PATHS.config, readOnly: true },
        { name: "auth", mountPath: REDIS_PATHS.auth, readOnly: true },
    ];
    const base = {
        image: p.image,
        imagePullPolicy: p.imagePullPolicy,
        env,
        securityContext: restrictedContainerSecurityContext(),
    };
    const redis: k8s.types.input.core.v1.Container = {
        ...base,
        name: "redis",
        command: shScript("start-redis.sh"),
        ports: [{ name: "redis", containerPort: t.port, protocol: "TCP" }],
        resources: resourceRequirements(p.resources),
        startupProbe: { exec: pingProbe(t.port, "password"), periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 3 },
        readinessProbe: { exec: { command: shScript("ready.sh") }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
        livenessProbe: { exec: pingProbe(t.port, "password"), periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
        ...(t.sentinel ? { lifecycle: { preStop: { exec: { command: shScript("pre-stop.sh") } } } } : {}),
        volumeMounts: [
            { name: "data", mountPath: REDIS_PATHS.data },
            ...mounts,
            { name: "run", mountPath: REDIS_PATHS.run },
            { name: "tmp", mountPath: "/tmp" },
        ],
    };
    const containers = [redis];
    if (t.sentinel) {
        containers.push({
            ...base,
            name: "sentinel",
            command: shScript("start-sentinel.sh"),
            ports: [{ name: "sentinel", containerPort: SENTINEL_PORT, protocol: "TCP" }],
            resources: resourceRequirements(p.sentinelResources),
            // Up to 10 minutes to start: a Sentinel waits for the primary's DNS record, which pod 0 has only once it is scheduled.
            startupProbe: { exec: pingProbe(SENTINEL_PORT, "sentinel-password"), periodSeconds: 2, failureThreshold: 300, timeoutSeconds: 3 },
            // Ready once it knows a primary (sentinel-ready.sh); alive while it answers within a minute and
            // does not name a pod that is no primary while another Sentinel names one that is (sentinel-alive.sh:
            // a stale Sentinel is restarted within about 10 s, and its start asks the others).
            readinessProbe: { exec: { command: shScript("sentinel-ready.sh") }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
            livenessProbe: { exec: { command: shScript("sentinel-alive.sh") }, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 12 },
            volumeMounts: [...mounts, { name: "sentinel-run", mountPath: REDIS_PATHS.run }, { name: "tmp", mountPath: "/tmp" }],
        });
    }
    return {
        metadata: {
            labels: p.labels,
            annotations: { [CONFIG_HASH_ANNOTATION]: configHash(JSON.stringify(p.configData)) },
        },
        spec: {
            serviceAccountName: p.serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // Room for the preStop handover before SIGTERM's shutdown.
            terminationGracePeriodSeconds: t.sentinel ? PRESTOP_WAIT_SECONDS + 20 : 30,
            securityContext: restrictedPodSecurityContext(p.runAs.user, p.runAs.group, p.runAs.group),
            topologySpreadConstraints: redisTopologySpread(p.selector, p.zoneSpread),
            containers,
            volumes: [
                { name: "config", configMap: { name: p.configMapName, defaultMode: 0o444 } },
                { name: "auth", secret: { secretName: p.secretName, defaultMode: 0o440 } },
                // Each container's runtime config in an emptyDir of its own (a subPath directory would be root's).
                { name: "run", emptyDir: { sizeLimit: "16Mi" } },
                ...(t.sentinel ? [{ name: "sentinel-run", emptyDir: { sizeLimit: "16Mi" } }] : []),
                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
            ],
        },
    };
}

/**
 * The Services: the headless one that names every pod (`<pod>.<headless>`, published before the
 * pods are ready so they find each other while starting), and without Sentinel a client Service
 * for the primary (pod 0), so writes never hit a read-only replica. With Sentinel there is none:
 * clients ask the Sentinels, so nothing points at a pod that may no longer be the primary.
 */
export function redisServiceSpecs(t: RedisTopology, selector: Record<string, string>): {
    headless: k8s.types.input.core.v1.ServiceSpec; client?: k8s.types.input.core.v1.ServiceSpec;
} {
    const redisPort = { name: "redis", port: t.port, targetPort: "redis" };
    const ports = [redisPort, ...(t.sentinel ? [{ name: "sentinel", port: SENTINEL_PORT, targetPort: "sentinel" }] : [])];
    const headless = { clusterIP: "None", publishNotReadyAddresses: true, selector, ports };
    if (t.sentinel) {
        return { headless };
    }
    const primary = t.replicas > 1 ? { ...selector, "statefulset.kubernetes.io/pod-name": `${t.name}-0` } : selector;
    return { headless, client: { type: "ClusterIP", selector: primary, ports: [redisPort] } };
}

/**
 * Spread of the Redis pods: over nodes when possible (a single-node cluster still runs them all),
 * and, with zones, strictly over zones: a pod waits rather than join another in a zone that
 * already has more, so losing a zone never takes a Sentinel majority with it.
 */
export function redisTopologySpread(selector: Record<string, string>, zones: boolean): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    return topologySpread(selector, zones).map(c => (c.topologyKey === "topology.kubernetes.io/zone" ? { ...c, whenUnsatisfiable: "DoNotSchedule" } : c));
}

/** The PVC template of the data volume, optionally restored from a VolumeSnapshot. */
export function dataVolumeClaim(
    labels: Record<string, string>,
    storageClassName: string,
    storageSize: string,
    restoreFromSnapshot?: string,
): k8s.types.input.core.v1.PersistentVolumeClaim {
    return {
        metadata: { name: "data", labels },
        spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName,
            resources: { requests: { storage: storageSize } },
            ...(restoreFromSnapshot
                ? { dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: restoreFromSnapshot } }
                : {}),
        },
    };
}

/**
 * The PDB of a replicated Redis: with Sentinel, as many pods may go as leave
 * both the quorum and a majority of Sentinels (needed to authorise a
 * failover) running; without, one at a time.
 */
export function redisPdbSpec(t: RedisTopology, selector: Record<string, string>): k8s.types.input.policy.v1.PodDisruptionBudgetSpec {
    const keep = t.sentinel ? Math.max(t.sentinel.quorum, Math.floor(t.replicas / 2) + 1) : t.replicas - 1;
    return { minAvailable: keep, selector: { matchLabels: selector } };
}
