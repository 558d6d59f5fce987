import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { topologySpread } from "./scaling";
import { ContainerResources, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security";
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

/** redis.conf: AOF on, data under /data, and the passwords only by `include` of the Secret's file. */
export function redisConf(port: number, maxMemory: string): string {
    return [
        `port ${port}`,
        "bind * -::*",
        "protected-mode no",
        `dir ${REDIS_PATHS.data}`,
        "appendonly yes",
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        `maxmemory ${maxMemory}`,
        "maxmemory-policy noeviction",
        "tcp-keepalive 60",
        "replica-read-only yes",
        // A replica restarting after a failover syncs at once rather than after the default 5s.
        "repl-diskless-sync-delay 0",
        `include ${REDIS_PATHS.auth}/auth.conf`,
        "",
    ].join("\n");
}

/**
 * Shell functions every script sources: the pod's own DNS name, the
 * passwords read from the Secret's files, and `primary`, which prints the
 * host of the current primary. With Sentinel it asks each pod's Sentinel in
 * turn (hostnames, `announce-hostnames yes`) and falls back to pod 0 when no
 * Sentinel knows yet (a fresh cluster); without Sentinel it is always pod 0.
 */
export function commonScript(t: RedisTopology): string {
    const lines = [
        "# Sourced by the other scripts. POD_NAME and HEADLESS (the headless Service's FQDN) come from the pod.",
        `self="$POD_NAME.$HEADLESS"`,
        `first="${t.name}-0.$HEADLESS"`,
        `redis_password() { cat ${REDIS_PATHS.auth}/password; }`,
        `sentinel_password() { cat ${REDIS_PATHS.auth}/sentinel-password; }`,
        `# redis-cli takes the password from REDISCLI_AUTH, never from its arguments.`,
        `local_redis() { REDISCLI_AUTH="$(redis_password)" redis-cli -p ${t.port} "$@"; }`,
    ];
    if (!t.sentinel) {
        return [...lines, `primary() { echo "$first"; }`, ""].join("\n");
    }
    return [
        ...lines,
        `local_sentinel() { REDISCLI_AUTH="$(sentinel_password)" redis-cli -p ${SENTINEL_PORT} "$@"; }`,
        "primary() {",
        `  i=0`,
        `  while [ "$i" -lt ${t.replicas} ]; do`,
        `    host="$(REDISCLI_AUTH="$(sentinel_password)" timeout 3 redis-cli -h "${t.name}-$i.$HEADLESS" -p ${SENTINEL_PORT} --raw sentinel get-master-addr-by-name ${t.sentinel.masterName} 2>/dev/null | head -n 1)" || host=""`,
        `    case "$host" in ""|*ERR*|*NOAUTH*) ;; *) echo "$host"; return ;; esac`,
        `    i=$((i + 1))`,
        "  done",
        `  echo "$first"`,
        "}",
        "",
    ].join("\n");
}

/** Start script of the redis container: writes the runtime config into the emptyDir, as primary or replica of the primary. */
export function redisStartScript(t: RedisTopology): string {
    return [
        "set -eu",
        `. ${REDIS_PATHS.config}/common.sh`,
        `conf=${REDIS_PATHS.run}/redis.conf`,
        `primary_host="$(primary)"`,
        "{",
        `  echo "include ${REDIS_PATHS.config}/redis.conf"`,
        // Replicas and Sentinels know each pod by its stable DNS name, not its IP, which changes on restart.
        `  echo "replica-announce-ip $self"`,
        `  if [ "$primary_host" != "$self" ]; then echo "replicaof $primary_host ${t.port}"; fi`,
        `} > "$conf"`,
        `echo "starting as $([ "$primary_host" = "$self" ] && echo primary || echo "replica of $primary_host")"`,
        `exec redis-server "$conf"`,
        "",
    ].join("\n");
}

/** Start script of the sentinel container: its config (which Sentinel rewrites) goes into the emptyDir. */
export function sentinelStartScript(t: RedisTopology & { sentinel: SentinelSettings }): string {
    const s = t.sentinel;
    return [
        "set -eu",
        `. ${REDIS_PATHS.config}/common.sh`,
        `conf=${REDIS_PATHS.run}/sentinel.conf`,
        `primary_host="$(primary)"`,
        // Sentinel refuses a config whose monitored host does not resolve yet (a pod's DNS record lags its start).
        `i=0`,
        `until getent hosts "$primary_host" >/dev/null; do`,
        `  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "$primary_host does not resolve" >&2; exit 1; }`,
        `  sleep 1`,
        `done`,
        "{",
        `  echo "port ${SENTINEL_PORT}"`,
        `  echo "dir ${REDIS_PATHS.run}"`,
        // Hostnames must resolve before `monitor` names one; announced hostnames survive pod restarts.
        `  echo "sentinel resolve-hostnames yes"`,
        `  echo "sentinel announce-hostnames yes"`,
        `  echo "sentinel announce-ip $self"`,
        `  echo "sentinel monitor ${s.masterName} $primary_host ${t.port} ${s.quorum}"`,
        `  echo "sentinel down-after-milliseconds ${s.masterName} ${s.downAfterMs}"`,
        `  echo "sentinel failover-timeout ${s.masterName} ${s.failoverTimeoutMs}"`,
        `  echo "sentinel parallel-syncs ${s.masterName} 1"`,
        // printf is a shell builtin: the passwords never appear in a process's arguments.
        `  printf 'sentinel auth-pass %s %s\\n' ${s.masterName} "$(redis_password)"`,
        `  printf 'requirepass %s\\n' "$(sentinel_password)"`,
        `} > "$conf"`,
        `exec redis-server "$conf" --sentinel`,
        "",
    ].join("\n");
}

/**
 * Readiness of the redis container: a primary is ready when it answers; a
 * replica only once its link to the primary is up (it has synced), so a
 * rollout or a drain never takes the next pod while this one is still empty.
 */
export function readinessScript(): string {
    return [
        "set -eu",
        `. ${REDIS_PATHS.config}/common.sh`,
        `info="$(local_redis info replication)"`,
        `case "$info" in`,
        `  *role:master*) exit 0 ;;`,
        `  *master_link_status:up*) exit 0 ;;`,
        `esac`,
        `echo "not ready: $(echo "$info" | grep -E '^(role|master_link_status):' | tr -d '\\r' | tr '\\n' ' ')"`,
        "exit 1",
        "",
    ].join("\n");
}

/**
 * Readiness of the sentinel container: it answers and monitors a primary at an address, so it has
 * loaded its config and can tell clients where to write. It does not ask whether that primary is up:
 * a Sentinel that sees the primary down is the one that must stay in service to fail it over (an
 * unready pod also blocks the PDB and a rollout). Liveness is a plain PING: a Sentinel that answers
 * is not stuck, and restarting it would not find a primary any sooner.
 */
export function sentinelReadinessScript(t: RedisTopology & { sentinel: SentinelSettings }): string {
    return [
        "set -eu",
        `. ${REDIS_PATHS.config}/common.sh`,
        `addr="$(local_sentinel --raw sentinel get-master-addr-by-name ${t.sentinel.masterName} 2>&1 | head -n 1)" || addr=""`,
        // A host name or address has no blank; an error (NOAUTH, WRONGPASS, LOADING, Could not connect) has.
        `case "$addr" in`,
        `  ""|*" "*) echo "not ready: no primary known for ${t.sentinel.masterName} (\${addr:-no answer})"; exit 1 ;;`,
        `esac`,
        "",
    ].join("\n");
}

/**
 * preStop of the redis container with Sentinel: a primary that is being
 * stopped (a drain, a rollout) hands over first: it asks its Sentinel for a
 * failover and waits, up to the given seconds, to become a replica. Writes
 * then pause for about a second instead of down-after-milliseconds plus the
 * election.
 */
export function preStopScript(t: RedisTopology & { sentinel: SentinelSettings }, waitSeconds: number): string {
    return [
        "set -u",
        `. ${REDIS_PATHS.config}/common.sh`,
        `local_redis info replication | grep -q role:master || exit 0`,
        `local_sentinel sentinel failover ${t.sentinel.masterName} || exit 0`,
        `i=0`,
        `while [ "$i" -lt ${waitSeconds} ] && local_redis info replication | grep -q role:master; do sleep 1; i=$((i + 1)); done`,
        "",
    ].join("\n");
}

/** The ConfigMap data: redis.conf and the scripts; no secret. */
export function redisConfigData(t: RedisTopology, maxMemory: string): Record<string, string> {
    const data: Record<string, string> = {
        "redis.conf": redisConf(t.port, maxMemory),
        "common.sh": commonScript(t),
        "start-redis.sh": redisStartScript(t),
        "ready.sh": readinessScript(),
    };
    if (t.sentinel) {
        const withSentinel = { ...t, sentinel: t.sentinel };
        data["start-sentinel.sh"] = sentinelStartScript(withSentinel);
        data["sentinel-ready.sh"] = sentinelReadinessScript(withSentinel);
        data["pre-stop.sh"] = preStopScript(withSentinel, 20);
    }
    return data;
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
    readonly resources: ContainerResources;
    /** Resources of the sentinel container. */
    readonly sentinelResources: ContainerResources;
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
            startupProbe: { exec: pingProbe(SENTINEL_PORT, "sentinel-password"), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 3 },
            // Ready once it knows a primary; alive while it answers PING (sentinelReadinessScript says why they differ).
            readinessProbe: { exec: { command: shScript("sentinel-ready.sh") }, periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 3 },
            livenessProbe: { exec: pingProbe(SENTINEL_PORT, "sentinel-password"), periodSeconds: 10, failureThreshold: 6, timeoutSeconds: 5 },
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
            // Room for the preStop handover (20s) before SIGTERM's shutdown.
            terminationGracePeriodSeconds: t.sentinel ? 40 : 30,
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
