/**
 * The stack's Redis from the `redis*` keys: one it runs itself (a
 * StatefulSet, or Sentinel mode with automatic failover, with backups and
 * restores through VolumeSnapshots) or a managed one reached by address.
 * A canary stack (gray) has none: it uses prod's. Each mode reads only its
 * own keys: settings/modes.ts refuses the others.
 */
import { pemCertificates } from "../components/externalRedis";
import { REDIS_DEFAULTS } from "../components/redis";
import type { ClusterProfile } from "./profiles";
import { Reader } from "./reader";
import { CRON_PROBLEM, cronProblem, DNS_SUBDOMAIN, NETWORK_HOST, parseQuantity, PASSWORD, validCidr } from "./validate";

/** How a stack gets its Redis (`redisMode`). */
export const REDIS_MODES = ["statefulset", "sentinel", "managed"] as const;
export type RedisMode = (typeof REDIS_MODES)[number];

/** Backups of the stack's own Redis: CSI VolumeSnapshots of its volumes. */
export interface BackupSettings {
    /** VolumeSnapshotClass of the snapshots. */
    readonly snapshotClass: string;
    /** Create that class for this CSI driver (`redisCreateSnapshotClass`); undefined: it must exist, and the stack reads it. */
    readonly createClassForDriver?: string;
    /** Cron schedule of the backup CronJob; undefined: suspended (snapshots on demand only). */
    readonly schedule?: string;
    /** The Kubernetes API server as the backup Job's NetworkPolicy sees it (after the Service's DNAT): address ranges and port. */
    readonly apiServer: { readonly cidrs?: readonly string[]; readonly port: number };
}

/** What both modes of a Redis the stack runs have. */
interface OwnRedisCommon {
    readonly storageClass: string;
    readonly storageSize: string;
    readonly replicas: number;
    readonly port: number;
    /** VolumeSnapshot new data volumes start from. */
    readonly restoreFromSnapshot?: string;
    /** Backups; undefined where the storage class cannot be snapshotted and no class is named. */
    readonly backup?: BackupSettings;
    /** The Redis password from secret config; undefined: generated (random provider). */
    readonly password?: string;
}

/** A Redis the stack runs as a StatefulSet whose pod 0 is the primary. */
export interface StatefulSetRedisSettings extends OwnRedisCommon { readonly mode: "statefulset" }

/** A Redis the stack runs with a Sentinel beside each pod (automatic failover). */
export interface SentinelRedisSettings extends OwnRedisCommon {
    readonly mode: "sentinel";
    /** Sentinels that must agree the primary is down. */
    readonly sentinelQuorum: number;
    /** The Sentinel password from secret config; undefined: generated. */
    readonly sentinelPassword?: string;
}

/** A Redis the stack runs. */
export type OwnRedisSettings = StatefulSetRedisSettings | SentinelRedisSettings;

/** A Redis someone else runs (ApsaraDB for Redis / Tair): address, TLS and where its password is. */
export interface ManagedRedisSettings {
    readonly mode: "managed";
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** PEM certificates of the CAs its TLS certificate is verified against; undefined: the system roots. */
    readonly tlsCa?: string;
    /** The password from config (a Pulumi secret); or */
    readonly password?: string;
    /** the name of an existing Secret with key `password`. */
    readonly passwordSecret?: string;
    /** Where the managed Redis is, for the API's NetworkPolicy egress. */
    readonly cidrs: readonly string[];
}

/** The Redis a stack that is not a canary uses. */
export type StackRedisSettings = OwnRedisSettings | ManagedRedisSettings;

/** A canary's Redis: prod's, whatever prod runs; a Secret of its own only where prod's password lives in a Secret gray cannot read. */
export interface CanaryRedisSettings {
    /** A Secret in gray's namespace with key `password`: the same password as prod's `redisPasswordSecret`. */
    readonly passwordSecret?: string;
}

/** The mode `redisMode` names (statefulset for a bad one, which is a problem). */
export function redisMode(r: Reader): RedisMode {
    return r.oneOf<RedisMode>("redisMode", r.string("redisMode"), REDIS_MODES);
}

/** The stack's Redis from the `redis*` keys, in the mode `redisMode` names. */
export function redisSettings(r: Reader, profile: ClusterProfile, mode: RedisMode): StackRedisSettings {
    return mode === "managed" ? managedRedisSettings(r) : ownRedisSettings(r, mode, profile);
}

/** A managed Redis: its address, TLS, where its password is, and its CIDRs. */
function managedRedisSettings(r: Reader): ManagedRedisSettings {
    const host = r.string("redisHost");
    if (host === "") {
        r.problem("redisHost", host, "is required with redisMode managed: the endpoint of the managed Redis, e.g. r-bp1xxxx.redis.rds.aliyuncs.com");
    } else {
        r.matching("redisHost", host, NETWORK_HOST, "must be a DNS name or an IPv4 address");
    }
    const password = suppliedPassword(r, "redisPassword");
    const passwordSecret = secretName(r);
    if ((password === undefined) === (passwordSecret === undefined)) {
        r.problem("redisPasswordSecret", passwordSecret ?? "", "with redisMode managed, set exactly one of redisPassword (pulumi config set --secret) and redisPasswordSecret (an existing Secret with key password)");
    }
    const cidrs = r.stringArray("redisCidrs");
    cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("redisCidrs", c, "must be IPv4 CIDRs such as 10.0.0.0/8"));
    if (cidrs.length === 0) {
        r.problem("redisCidrs", [], "must list the CIDRs of the managed Redis (e.g. its VPC vSwitch range, or its private IP/32): the API's NetworkPolicy lets it reach only those");
    }
    const tls = r.boolean("redisTls");
    const tlsCa = r.string("redisTlsCa");
    if (tlsCa !== "" && !tls) {
        r.problem("redisTlsCa", "(PEM)", "is only used with redisTls true: set redisTls, or remove redisTlsCa");
    } else if (tlsCa !== "") {
        try {
            pemCertificates(tlsCa);
        } catch (e) {
            r.problem("redisTlsCa", tlsCa.length > 40 ? `${tlsCa.slice(0, 40)}...` : tlsCa, `${e instanceof Error ? e.message.replace(/^tlsCa:? ?/, "") : String(e)} (pulumi config set redisTlsCa -- "$(cat ca.pem)")`);
        }
    }
    return {
        mode: "managed", host, port: r.integer("redisPort", 1, 65535), tls, cidrs, ...(tlsCa !== "" ? { tlsCa } : {}),
        ...(password !== undefined ? { password } : {}), ...(passwordSecret !== undefined ? { passwordSecret } : {}),
    };
}

/** A Redis the stack runs: storage, replicas, port, Sentinel quorum, backups and restore. */
function ownRedisSettings(r: Reader, mode: OwnRedisSettings["mode"], profile: ClusterProfile): OwnRedisSettings {
    // A password the stack supplies as secret config instead of one the random provider generates.
    const password = suppliedPassword(r, "redisPassword");
    const storageClass = r.oneOf("redisStorageClass", r.string("redisStorageClass") || profile.storageClasses[0], profile.storageClasses);
    const storageSize = r.string("redisStorageSize") || profile.defaultStorage;
    const size = parseQuantity(storageSize);
    if (size === undefined) {
        r.problem("redisStorageSize", storageSize, "must be a Kubernetes quantity such as 20Gi");
    } else if (size < (parseQuantity(profile.minStorage) ?? 0)) {
        r.problem("redisStorageSize", storageSize, `must be at least ${profile.minStorage}, the smallest volume cluster profile ${profile.name} provisions`);
    }
    const replicas = r.integer("redisReplicas", 0) || (mode === "sentinel" ? REDIS_DEFAULTS.sentinelReplicas : REDIS_DEFAULTS.replicas);
    const restore = r.string("redisRestoreFromSnapshot");
    if (restore !== "") {
        r.matching("redisRestoreFromSnapshot", restore, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshot in the namespace");
    }
    const backup = backupSettings(r, profile, storageClass);
    const common: OwnRedisCommon = {
        storageClass, storageSize, replicas, port: r.integer("redisPort", 1, 65535),
        ...(restore ? { restoreFromSnapshot: restore } : {}),
        ...(backup ? { backup } : {}),
        ...(password !== undefined ? { password } : {}),
    };
    if (mode === "statefulset") {
        return { mode, ...common };
    }
    if (replicas < 3) {
        r.problem("redisReplicas", replicas, "must be at least 3 with redisMode sentinel: a primary, a replica to promote, and a Sentinel majority that survives losing one pod");
    }
    const sentinelQuorum = r.integer("redisSentinelQuorum", 0) || Math.floor(replicas / 2) + 1;
    if (sentinelQuorum > replicas) {
        r.problem("redisSentinelQuorum", sentinelQuorum, `must be from 1 to redisReplicas (${replicas}): there is one Sentinel per Redis pod`);
    }
    const sentinelPassword = suppliedPassword(r, "redisSentinelPassword");
    return { mode, ...common, sentinelQuorum, ...(sentinelPassword !== undefined ? { sentinelPassword } : {}) };
}

/**
 * Backups where a VolumeSnapshotClass is known for the storage class (or named): the class, whether to
 * create it, the schedule, and the API server the Job calls. A schedule without a class is a problem.
 */
function backupSettings(r: Reader, profile: ClusterProfile, storageClass: string): BackupSettings | undefined {
    const snapshotClass = r.string("redisSnapshotClass") || profile.snapshotClasses[storageClass];
    if (snapshotClass === undefined) {
        if (r.string("redisSnapshotSchedule") !== "") {
            r.problem("redisSnapshotSchedule", r.string("redisSnapshotSchedule"), `needs a VolumeSnapshotClass: set redisSnapshotClass, or a redisStorageClass that can be snapshotted (${Object.keys(profile.snapshotClasses).join(", ") || `none in cluster profile ${profile.name}`})`);
        }
        return undefined;
    }
    r.matching("redisSnapshotClass", snapshotClass, DNS_SUBDOMAIN, "must be the name of a VolumeSnapshotClass");
    let createClassForDriver: string | undefined;
    if (r.boolean("redisCreateSnapshotClass")) {
        createClassForDriver = profile.csiDrivers[storageClass];
        if (createClassForDriver === undefined) {
            r.problem("redisCreateSnapshotClass", true, `needs a CSI storage class whose driver takes snapshots: ${storageClass} on cluster profile ${profile.name} has none known (${Object.keys(profile.csiDrivers).join(", ") || "the profile knows no CSI driver"})`);
        }
    }
    const schedule = r.string("redisSnapshotSchedule");
    const problem = schedule === "" ? undefined : cronProblem(schedule);
    if (problem !== undefined) {
        r.problem("redisSnapshotSchedule", schedule, `${CRON_PROBLEM}: ${problem}`);
    }
    const cidrs = r.stringArray("kubeApiServerCidrs");
    cidrs.filter(c => !validCidr(c)).forEach(c => r.problem("kubeApiServerCidrs", c, "must be IPv4 CIDRs such as 192.168.0.10/32"));
    const port = r.integer("kubeApiServerPort", 0, 65535) || profile.apiServerPort;
    return {
        snapshotClass,
        ...(createClassForDriver !== undefined ? { createClassForDriver } : {}),
        ...(schedule ? { schedule } : {}),
        apiServer: { ...(cidrs.length > 0 ? { cidrs } : {}), port },
    };
}

/** A canary's Redis is prod's: only the Secret gray must hold when prod's password is in a Secret of prod's. */
export function canaryRedis(r: Reader): CanaryRedisSettings {
    const passwordSecret = secretName(r);
    return passwordSecret !== undefined ? { passwordSecret } : {};
}

/** The name of a Secret with the Redis password (`redisPasswordSecret`); undefined when unset. */
function secretName(r: Reader): string | undefined {
    const name = r.string("redisPasswordSecret");
    return name === "" ? undefined : r.matching("redisPasswordSecret", name, DNS_SUBDOMAIN, "must be the name of a Secret in the namespace");
}

/** A password from secret config, exactly as set (undefined when unset); its value never shows in a message. */
function suppliedPassword(r: Reader, key: "redisPassword" | "redisSentinelPassword"): string | undefined {
    const value = r.secretString(key);
    if (value === "") {
        return undefined;
    }
    if (!PASSWORD.test(value)) {
        r.problem(key, value, "must be 16 to 512 printable ASCII characters (letters, digits, spaces and any of !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~); set it with pulumi config set --secret");
    }
    return value;
}
