/**
 * The Redis this stack uses: its own (a StatefulSet, with Sentinels in
 * sentinel mode, and backups where the cluster snapshots), a managed one by
 * address, or (gray) prod's, as prod's outputs describe it (stack/prod.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import type { BackupSettings } from "../settings";
import { BACKUP, managedRedis, ownRedis, REDIS, StackContext } from "./context";
import type { ProdRedis } from "./prod";

/** The stack's Redis, whoever runs it. */
export function theRedis(ctx: StackContext, serviceAccountName: pulumi.Output<string>): c.Redis | c.ExternalRedis {
    const own = ownRedis(ctx.s);
    const managed = managedRedis(ctx.s);
    if (own) {
        return new c.Redis(REDIS, {
            namespace: ctx.namespace,
            image: ctx.s.images.redis,
            imagePullPolicy: ctx.s.profile.imagePullPolicy,
            replicas: own.replicas,
            port: own.port,
            sentinel: own.mode === "sentinel" ? { quorum: own.sentinelQuorum } : undefined,
            zoneSpread: ctx.s.api.zoneSpread,
            storageClassName: own.storageClass,
            storageSize: own.storageSize,
            restoreFromSnapshot: own.restoreFromSnapshot,
            serviceAccountName,
            // Supplied as secret config, or generated (random provider) when unset.
            password: own.password === undefined ? undefined : pulumi.secret(own.password),
            sentinelPassword: own.mode === "sentinel" && own.sentinelPassword !== undefined ? pulumi.secret(own.sentinelPassword) : undefined,
            ...ctx.identity,
        }, { ...ctx.opts, protect: ctx.s.protect }); // protect: deleting Redis would lose the data
    }
    if (managed) {
        return new c.ExternalRedis(REDIS, {
            namespace: ctx.namespace,
            host: managed.host,
            port: managed.port,
            tls: managed.tls,
            ...(managed.tlsCa !== undefined ? { tlsCa: managed.tlsCa } : {}),
            ...(managed.passwordSecret !== undefined ? { passwordSecret: { name: managed.passwordSecret } } : { password: pulumi.secret(managed.password ?? "") }),
            ...ctx.identity,
        }, ctx.opts);
    }
    return prodRedis(ctx, ctx.prodRedis);
}

/** Gray: prod's Redis, with its TLS, its Sentinels when it runs them, and its password or gray's Secret holding it. */
function prodRedis(ctx: StackContext, prod: ProdRedis | undefined): c.ExternalRedis {
    if (prod === undefined || ctx.s.kind !== "canary") {
        throw new Error("a stack without a Redis of its own is a canary, and index.ts reads prod's Redis first");
    }
    const secret = ctx.s.prodRedis.passwordSecret;
    return new c.ExternalRedis(REDIS, {
        namespace: ctx.namespace,
        host: prod.host,
        port: prod.port,
        tls: prod.tls,
        ...(prod.tlsCa !== "" ? { tlsCa: prod.tlsCa } : {}),
        ...(secret !== undefined ? { passwordSecret: { name: secret } } : { password: prod.password }),
        ...(prod.sentinelAddrs ? { sentinelAddrs: prod.sentinelAddrs, sentinelMaster: prod.sentinelMaster, sentinelPassword: prod.sentinelPassword } : {}),
        waitReplicas: prod.waitReplicas,
        ...ctx.identity,
    }, ctx.opts);
}

/** Snapshots of the stack's own Redis, where its storage class has a VolumeSnapshotClass; undefined otherwise. */
export function redisBackup(ctx: StackContext, redis: c.Redis | c.ExternalRedis): c.RedisBackup | undefined {
    const own = ownRedis(ctx.s);
    if (!(redis instanceof c.Redis) || !own?.backup) {
        return undefined;
    }
    const backup = own.backup;
    if (backup.createClassForDriver === undefined) {
        requireSnapshotClass(ctx, backup);
    }
    return new c.RedisBackup(BACKUP, {
        namespace: ctx.namespace,
        redis,
        snapshotClass: backup.snapshotClass,
        snapshotClassDriver: backup.createClassForDriver,
        schedule: backup.schedule,
        kubectlImage: ctx.s.images.kubectl,
        imagePullPolicy: ctx.s.profile.imagePullPolicy,
        ...ctx.identity,
    }, ctx.opts);
}

/**
 * Reads the VolumeSnapshotClass the backups name, so a preview fails naming it when the cluster has
 * none (ACK ships no `alicloud-disk-snapshot`: docs/redis.md). Reads run during previews.
 */
function requireSnapshotClass(ctx: StackContext, backup: BackupSettings): void {
    k8s.apiextensions.CustomResource.get(`${BACKUP}-snapshot-class`, {
        provider: ctx.provider,
        apiVersion: "snapshot.storage.k8s.io/v1",
        kind: "VolumeSnapshotClass",
        id: backup.snapshotClass,
    });
}

/**
 * The stack's outputs about its Redis: what gray needs to reach it (stack/prod.ts reads them). A canary
 * passes prod's on. Passwords are secrets; "" and 0 where a field does not apply.
 */
export function redisOutputs(ctx: StackContext, redis: c.Redis | c.ExternalRedis): Record<string, pulumi.Input<unknown>> {
    const own = ownRedis(ctx.s);
    const managed = managedRedis(ctx.s);
    const prod = ctx.prodRedis;
    return {
        redisMode: own?.mode ?? managed?.mode ?? prod?.mode ?? "",
        redisHost: redis.host,
        redisPort: redis.port,
        redisTls: managed?.tls ?? prod?.tls ?? false,
        // The CAs a managed Redis's certificate is verified against ("": the system roots); gray passes prod's on.
        redisTlsCa: managed?.tlsCa ?? prod?.tlsCa ?? "",
        redisCidrs: managed ? [...managed.cidrs] : prod ? [...prod.cidrs] : [],
        // A managed Redis's password kept in a Secret of this namespace: gray needs a Secret of its own.
        redisPasswordSecret: managed?.passwordSecret ?? prod?.passwordSecret ?? "",
        redisPassword: pulumi.secret(redis.password),
        // Sentinel mode ("" and 0 otherwise): what gray's API needs to follow prod's primary.
        redisSentinelAddrs: redis.sentinelAddrs ?? "",
        redisSentinelMaster: redis.sentinelMaster ?? "",
        redisSentinelPassword: pulumi.secret(redis instanceof c.Redis ? redis.sentinelPassword : prod?.sentinelPassword ?? ""),
        redisWaitReplicas: redis.waitReplicas,
    };
}
