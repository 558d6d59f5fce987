/**
 * What gray takes from prod: prod's outputs about its Redis, read once the
 * StackReference resolves and before any Kubernetes object is registered, so
 * a canary that cannot reach prod's Redis fails its preview naming the key.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryStackSettings, ConfigError } from "../settings";

/** prod's Redis as its outputs describe it. */
export interface ProdRedis {
    /** How prod runs it; a prod older than 0.6.0 exports no mode: Sentinel when it exports Sentinels. */
    readonly mode: "statefulset" | "sentinel" | "managed";
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** Managed with TLS: the PEM CAs its certificate is verified against; "" for the system roots. */
    readonly tlsCa: string;
    /** Managed: the CIDRs of its endpoint (gray's egress goes there, not to prod's pods). */
    readonly cidrs: readonly string[];
    /** Managed with a Secret of prod's: its name there; "" when prod exports the password itself. */
    readonly passwordSecret: string;
    readonly sentinelAddrs: string;
    readonly sentinelMaster: string;
    readonly waitReplicas: number;
    /** The password prod exports (a secret; "" with a passwordSecret). */
    readonly password: pulumi.Output<string>;
    /** The Sentinel password prod exports (a secret; "" without Sentinels). */
    readonly sentinelPassword: pulumi.Output<string>;
}

/** The plain (non-secret) value of one of prod's outputs, or `fallback` when prod does not export it. */
async function plainOutput<T>(prod: pulumi.StackReference, name: string, fallback: T): Promise<T> {
    const details = await prod.getOutputDetails(name);
    return (details.value ?? fallback) as T;
}

/**
 * prod's Redis, checked against what gray brings: gray needs a Secret of its own exactly when prod's
 * password is in a Secret of prod's namespace, which gray's pods cannot mount.
 */
export async function readProdRedis(prod: pulumi.StackReference, s: CanaryStackSettings): Promise<ProdRedis> {
    const sentinelAddrs = await plainOutput(prod, "redisSentinelAddrs", "");
    const redis: ProdRedis = {
        mode: await plainOutput<ProdRedis["mode"]>(prod, "redisMode", sentinelAddrs ? "sentinel" : "statefulset"),
        host: await plainOutput(prod, "redisHost", ""),
        port: await plainOutput(prod, "redisPort", 6379),
        tls: await plainOutput(prod, "redisTls", false),
        tlsCa: await plainOutput(prod, "redisTlsCa", ""),
        cidrs: await plainOutput<string[]>(prod, "redisCidrs", []),
        passwordSecret: await plainOutput(prod, "redisPasswordSecret", ""),
        sentinelAddrs,
        sentinelMaster: await plainOutput(prod, "redisSentinelMaster", ""),
        waitReplicas: await plainOutput(prod, "redisWaitReplicas", 0),
        password: prod.getOutput("redisPassword").apply(v => (v ?? "") as string),
        sentinelPassword: prod.getOutput("redisSentinelPassword").apply(v => (v ?? "") as string),
    };
    const own = s.prodRedis.passwordSecret;
    if (redis.passwordSecret !== "" && own === undefined) {
        throw new ConfigError([`sample-app:redisPasswordSecret = "": prod (${s.canary.prodStack}) keeps its managed Redis's password in its Secret ${redis.passwordSecret}, which gray's pods cannot mount from another namespace: create a Secret in gray's namespace with the same password under key password (e.g. synced from the same vault) and name it here`]);
    }
    if (redis.passwordSecret === "" && own !== undefined) {
        throw new ConfigError([`sample-app:redisPasswordSecret = ${JSON.stringify(own)}: does nothing in this stack: prod (${s.canary.prodStack}) exports its Redis password, which gray copies into its own Secret; remove it`]);
    }
    if (redis.host === "") {
        throw new ConfigError([`sample-app:prodStack = ${JSON.stringify(s.canary.prodStack)}: that stack exports no redisHost: deploy prod first, or name the stack gray is a canary of`]);
    }
    return redis;
}
