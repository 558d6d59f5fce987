/**
 * The NetworkPolicies of the stack: default deny, then exactly the flows its
 * pieces need, whichever Redis it uses (its own pods, prod's pods in another
 * namespace, or a managed Redis's CIDRs) and wherever public traffic comes from.
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
    const { s, prod } = ctx;
    const own = ownRedis(s);
    const managed = managedRedis(s);
    return new c.NetworkPolicies("sample-app", {
        namespace: ctx.namespace,
        frontend: { podSelector: frontend.podSelector, port: frontend.containerPort },
        api: { podSelector: api.podSelector, port: api.port },
        redis: redis instanceof c.Redis ? { ...redis.endpoint, sentinelPort: redis.sentinelPort, replication: redis.replicas > 1 } : undefined,
        // Prod's Redis pods; whether they run Sentinels is known only once the StackReference resolves, so both ports.
        externalRedis: prod ? {
            namespace: prod.requireOutput("namespace") as pulumi.Output<string>,
            podSelector: c.crossStackSelector(REDIS, c.REDIS_COMPONENT),
            port: c.REDIS_DEFAULTS.port,
            sentinelPort: c.SENTINEL_PORT,
        } : undefined,
        managedRedis: managed ? { cidrs: [...managed.cidrs], port: managed.port } : undefined,
        backup: backup ? { podSelector: backup.podSelector, apiServerCidrs: own?.apiServerCidrs && [...own.apiServerCidrs] } : undefined,
        redisClients: s.grayNamespace
            ? [{ namespace: s.grayNamespace, podSelector: c.crossStackSelector(API, c.USER_API_COMPONENT) }]
            : [],
        ingressSource: s.ingressSource,
        metricsNamespace: s.metricsNamespace,
        ...ctx.identity,
    }, ctx.opts);
}
