/**
 * The stack's Redis from the `redis*` keys: one it runs itself (a
 * StatefulSet, or Sentinel mode with automatic failover, with backups and
 * restores through VolumeSnapshots) or a managed one reached by address.
 * A canary stack (gray) has none: it uses prod's.
 */
import { REDIS_DEFAULTS } from "../components/redis";
import { CONFIG_KEYS } from "./keys";
import type { ClusterProfile } from "./profiles";
import { Reader } from "./reader";
import { CRON, DNS_SUBDOMAIN, NETWORK_HOST, parseQuantity, PASSWORD, validCidr } from "./validate";

/** How a stack gets its Redis (`redisMode`). */
export const REDIS_MODES = ["statefulset", "sentinel", "managed"] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

/** A Redis the stack runs: a StatefulSet (pod 0 primary) or Sentinel mode (automatic failover). */
export interface OwnRedisSettings {
    readonly mode: "statefulset" | "sentinel";
    readonly storageClass: string;
    readonly storageSize: string;
    readonly replicas: number;
    /** Sentinel mode: Sentinels that must agree the primary is down. */
    readonly sentinelQuorum?: number;
    /** VolumeSnapshotClass for backups; undefined: no backups (the cluster takes no snapshots). */
    readonly snapshotClass?: string;
    /** Cron schedule of the backup CronJob; undefined: no CronJob (snapshots on demand only). */
    readonly snapshotSchedule?: string;
    /** VolumeSnapshot new data volumes start from. */
    readonly restoreFromSnapshot?: string;
    /** Where the Kubernetes API server is, for the backup Job's egress; undefined: anywhere. */
    readonly apiServerCidrs?: readonly string[];
    /** The Redis password from secret config; undefined: generated (random provider). */
    readonly password?: string;
    /** Sentinel mode: the Sentinel password from secret config; undefined: generated. */
    readonly sentinelPassword?: string;
}

/** A Redis someone else runs (ApsaraDB for Redis / Tair): address, TLS and where its password is. */
export interface ManagedRedisSettings {
    readonly mode: "managed";
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** The password from config (a Pulumi secret); or */
    readonly password?: string;
    /** the name of an existing Secret with key `password`. */
    readonly passwordSecret?: string;
    /** Where the managed Redis is, for the API's NetworkPolicy egress. */
    readonly cidrs: readonly string[];
}

/** The Redis a stack that is not a canary uses. */
export type StackRedisSettings = OwnRedisSettings | ManagedRedisSettings;

/** The stack's Redis from the `redis*` keys: `redisMode` picks which of the two readers below applies. */
export function redisSettings(r: Reader, profile: ClusterProfile): StackRedisSettings {
    const mode = r.oneOf<RedisMode>("redisMode", r.string("redisMode"), REDIS_MODES);
    return mode === "managed" ? managedRedisSettings(r) : ownRedisSettings(r, mode, profile);
}

/** A managed Redis: its address, TLS, where its password is, and its CIDRs. */
function managedRedisSettings(r: Reader): ManagedRedisSettings {
    const mode = "managed";
    const host = r.string("redisHost");
    if (host === "") {
        r.problem("redisHost", host, "is required with redisMode managed: the endpoint of the managed Redis, e.g. r-bp1xxxx.redis.rds.aliyuncs.com");
    } else {
        r.matching("redisHost", host, NETWORK_HOST, "must be a DNS name or an IPv4 address");
    }
    const password = r.string("redisPassword");
    const passwordSecret = r.string("redisPasswordSecret");
    if ((password === "") === (passwordSecret === "")) {
        r.problem("redisPasswordSecret", passwordSecret, "with redisMode managed, set exactly one of redisPassword (pulumi config set --secret) and redisPasswordSecret (an existing Secret with key password)");
    } else if (passwordSecret !== "") {
        r.matching("redisPasswordSecret", passwordSecret, DNS_SUBDOMAIN, "must be the name of a Secret in the namespace");
    }
    const cidrs = r.stringArray("redisCidrs");
    cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("redisCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
    if (cidrs.length === 0) {
        r.problem("redisCidrs", [], "must list the CIDRs of the managed Redis (e.g. its VPC vSwitch range, or its private IP/32): the API's NetworkPolicy lets it reach only those");
    }
    return {
        mode, host, port: r.integer("redisPort", 1, 65535), tls: r.boolean("redisTls"), cidrs,
        ...(password ? { password } : {}), ...(passwordSecret ? { passwordSecret } : {}),
    };
}

/** A Redis the stack runs: storage, replicas, Sentinel quorum, backups and restore; rejects the managed-only keys. */
function ownRedisSettings(r: Reader, mode: OwnRedisSettings["mode"], profile: ClusterProfile): OwnRedisSettings {
    for (const key of ["redisHost", "redisPasswordSecret", "redisCidrs"]) {
        if (r.string(key) !== "" && r.string(key) !== "[]") {
            r.problem(key, r.string(key), `is only for redisMode managed (redisMode is ${mode})`);
        }
    }
    // A password the stack supplies as secret config instead of one the random provider generates.
    const password = suppliedPassword(r, "redisPassword");
    const sentinelPassword = suppliedPassword(r, "redisSentinelPassword");
    if (sentinelPassword !== undefined && mode !== "sentinel") {
        r.problem("redisSentinelPassword", "[secret]", `is only for redisMode sentinel (redisMode is ${mode})`);
    }
    const storageClass = r.oneOf("redisStorageClass", r.string("redisStorageClass") || profile.storageClasses[0], profile.storageClasses);
    const storageSize = r.string("redisStorageSize") || profile.defaultStorage;
    const size = parseQuantity(storageSize);
    if (size === undefined) {
        r.problem("redisStorageSize", storageSize, "must be a Kubernetes quantity such as 20Gi");
    } else if (size < parseQuantity(profile.minStorage)!) {
        r.problem("redisStorageSize", storageSize, `must be at least ${profile.minStorage}, the smallest volume cluster profile ${profile.name} provisions`);
    }
    const replicas = r.integer("redisReplicas", 0) || (mode === "sentinel" ? REDIS_DEFAULTS.sentinelReplicas : REDIS_DEFAULTS.replicas);
    let sentinelQuorum: number | undefined;
    if (mode === "sentinel") {
        if (replicas < 3) {
            r.problem("redisReplicas", replicas, "must be at least 3 with redisMode sentinel: a primary, a replica to promote, and a Sentinel majority that survives losing one pod");
        }
        sentinelQuorum = r.integer("redisSentinelQuorum", 0) || Math.floor(replicas / 2) + 1;
        if (sentinelQuorum > replicas) {
            r.problem("redisSentinelQuorum", sentinelQuorum, `must be from 1 to redisReplicas (${replicas}): there is one Sentinel per Redis pod`);
        }
    } else if (r.string("redisSentinelQuorum") !== String(CONFIG_KEYS.redisSentinelQuorum.default)) {
        r.problem("redisSentinelQuorum", r.string("redisSentinelQuorum"), `is only for redisMode sentinel (redisMode is ${mode})`);
    }
    const snapshotClass = r.string("redisSnapshotClass") || profile.snapshotClasses[storageClass];
    if (snapshotClass !== undefined) {
        r.matching("redisSnapshotClass", snapshotClass, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshotClass");
    }
    const schedule = r.string("redisSnapshotSchedule");
    if (schedule !== "") {
        r.matching("redisSnapshotSchedule", schedule, CRON, "must be a five-field cron schedule such as \"0 3 * * *\" (03:00 every day)");
        if (snapshotClass === undefined) {
            r.problem("redisSnapshotSchedule", schedule, `needs a VolumeSnapshotClass: set redisSnapshotClass, or a redisStorageClass that can be snapshotted (${Object.keys(profile.snapshotClasses).join(", ") || `none in cluster profile ${profile.name}`})`);
        }
    }
    const restore = r.string("redisRestoreFromSnapshot");
    if (restore !== "") {
        r.matching("redisRestoreFromSnapshot", restore, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshot in the namespace");
    }
    const apiServerCidrs = r.stringArray("kubeApiServerCidrs");
    apiServerCidrs.filter(c => !validCidr(c)).forEach(c => r.problem("kubeApiServerCidrs", c, "must be IPv4 CIDRs such as 192.168.0.10/32"));
    return {
        mode, storageClass, storageSize, replicas,
        ...(apiServerCidrs.length > 0 ? { apiServerCidrs } : {}),
        ...(sentinelQuorum !== undefined ? { sentinelQuorum } : {}),
        ...(snapshotClass !== undefined ? { snapshotClass } : {}),
        ...(schedule ? { snapshotSchedule: schedule } : {}),
        ...(restore ? { restoreFromSnapshot: restore } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(sentinelPassword !== undefined && mode === "sentinel" ? { sentinelPassword } : {}),
    };
}

/** A canary (gray) has no Redis of its own: it uses prod's, and prod's password; rejects the keys that would set its own. */
export function canaryRedis(r: Reader): undefined {
    for (const key of ["redisPassword", "redisSentinelPassword"]) {
        if (r.string(key) !== "") {
            r.problem(key, "[secret]", "does not fit a canary stack (prodStack set): it uses prod's Redis and prod's password; remove it");
        }
    }
    return undefined;
}

/** A password from secret config (undefined when unset); its value never shows in a message. */
function suppliedPassword(r: Reader, key: string): string | undefined {
    const value = r.string(key);
    if (value === "") {
        return undefined;
    }
    if (!PASSWORD.test(value)) {
        r.problem(key, "[secret]", "must be 16 to 512 printable ASCII characters without spaces (it is written into redis.conf); set it with pulumi config set --secret");
    }
    return value;
}
