/**
 * The NetworkPolicies of the stack: default deny, then exactly the flows its
 * pieces need, whichever Redis it uses (its own pods, prod's pods in another
 * namespace, prod's managed Redis, or a managed Redis's CIDRs) and wherever
 * public traffic comes from.
 */
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { API, managedRedis, ownRedis, REDIS, StackContext } from "./context";

/** The workloads the policies let talk to each other. */
export interface StackPieces {
    readonly frontend: c.Frontend;
    readonly api: c.UserApi;
    readonly redis: c.Redis | c.ExternalRedis;
    readonly backup?: c.RedisBackup;
}

/** The stack's NetworkPolicies. */
export function networkPolicies(ctx: StackContext, { frontend, api, redis, backup }: StackPieces): c.NetworkPolicies {
    const { s, prod, prodRedis } = ctx;
    const own = ownRedis(s);
    const managed = managedRedis(s);
    const grayNamespace = s.kind === "own" ? s.grayNamespace : undefined;
    // Gray: prod's Redis pods (with their Sentinels when prod runs them), or the CIDRs of prod's managed Redis.
    const prodPods = prod && prodRedis && prodRedis.mode !== "managed" ? {
        namespace: prod.requireOutput("namespace") as pulumi.Output<string>,
        podSelector: c.crossStackSelector(REDIS, c.REDIS_COMPONENT),
        port: prodRedis.port,
        sentinelPort: prodRedis.mode === "sentinel" ? c.SENTINEL_PORT : undefined,
    } : undefined;
    const external = managed ?? (prodRedis?.mode === "managed" ? prodRedis : undefined);
    return new c.NetworkPolicies("sample-app", {
        namespace: ctx.namespace,
        frontend: { podSelector: frontend.podSelector, port: frontend.containerPort },
        api: { podSelector: api.podSelector, port: api.port },
        redis: redis instanceof c.Redis ? { ...redis.endpoint, sentinelPort: redis.sentinelPort, replication: redis.replicas > 1 } : undefined,
        externalRedis: prodPods,
        managedRedis: external ? { cidrs: [...external.cidrs], port: external.port } : undefined,
        backup: backup && own?.backup ? {
            podSelector: backup.podSelector,
            apiServerCidrs: own.backup.apiServer.cidrs && [...own.backup.apiServer.cidrs],
            apiServerPorts: [own.backup.apiServer.port],
        } : undefined,
        redisClients: grayNamespace ? [{ namespace: grayNamespace, podSelector: c.crossStackSelector(API, c.USER_API_COMPONENT) }] : [],
        ingressSource: s.ingressSource,
        metricsNamespace: s.metrics?.namespace,
        ...ctx.identity,
    }, ctx.opts);
}
