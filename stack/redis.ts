/**
 * The Redis this stack uses: its own (a StatefulSet, with Sentinels in
 * sentinel mode, and backups where the cluster snapshots), a managed one by
 * address, or (gray) prod's through its StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { BACKUP, managedRedis, ownRedis, REDIS, StackContext } from "./context";

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
            sentinel: own.mode === "sentinel" ? { quorum: own.sentinelQuorum } : undefined,
            zoneSpread: ctx.s.api.zoneSpread,
            storageClassName: own.storageClass,
            storageSize: own.storageSize,
            restoreFromSnapshot: own.restoreFromSnapshot,
            serviceAccountName,
            // Supplied as secret config, or generated (random provider) when unset.
            password: own.password === undefined ? undefined : pulumi.secret(own.password),
            sentinelPassword: own.sentinelPassword === undefined ? undefined : pulumi.secret(own.sentinelPassword),
            ...ctx.identity,
        }, { ...ctx.opts, protect: ctx.s.protect }); // protect: deleting Redis would lose the data
    }
    if (managed) {
        return new c.ExternalRedis(REDIS, {
            namespace: ctx.namespace,
            host: managed.host,
            port: managed.port,
            tls: managed.tls,
            ...(managed.passwordSecret ? { passwordSecret: { name: managed.passwordSecret } } : { password: pulumi.secret(managed.password!) }),
            ...ctx.identity,
        }, ctx.opts);
    }
    return prodRedis(ctx, ctx.prod!);
}

/** Gray: prod's Redis, Sentinels included when prod runs them (older prod outputs lack those: "" and 0). */
function prodRedis(ctx: StackContext, prod: pulumi.StackReference): c.ExternalRedis {
    const fromProd = <T>(key: string, fallback: T) => prod.getOutput(key).apply(v => (v ?? fallback) as T);
    return new c.ExternalRedis(REDIS, {
        namespace: ctx.namespace,
        host: prod.requireOutput("redisHost") as pulumi.Output<string>,
        port: prod.requireOutput("redisPort") as pulumi.Output<number>,
        password: prod.requireOutput("redisPassword") as pulumi.Output<string>,
        sentinelAddrs: fromProd("redisSentinelAddrs", ""),
        sentinelMaster: fromProd("redisSentinelMaster", ""),
        sentinelPassword: fromProd("redisSentinelPassword", ""),
        waitReplicas: fromProd("redisWaitReplicas", 0),
        ...ctx.identity,
    }, ctx.opts);
}

/** Snapshots of the stack's own Redis, where its storage class has a VolumeSnapshotClass; undefined otherwise. */
export function redisBackup(ctx: StackContext, redis: c.Redis | c.ExternalRedis): c.RedisBackup | undefined {
    const own = ownRedis(ctx.s);
    if (!(redis instanceof c.Redis) || !own?.snapshotClass) {
        return undefined;
    }
    return new c.RedisBackup(BACKUP, {
        namespace: ctx.namespace,
        redis,
        snapshotClass: own.snapshotClass,
        schedule: own.snapshotSchedule,
        kubectlImage: ctx.s.images.kubectl,
        imagePullPolicy: ctx.s.profile.imagePullPolicy,
        ...ctx.identity,
    }, ctx.opts);
}
