/**
 * sample-app: composition only. Read the settings, make the provider, wire
 * the components, export what users and other stacks need.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as c from "./components";
import { loadSettings } from "./settings";

/** Component names: they name the Kubernetes objects, and other stacks select pods by them. */
const REDIS = "redis";
const API = "user-api";
const FRONTEND = "frontend";
/** The ServiceAccount the deploy workflow runs `pulumi up` as (see README, "Access control"). */
const DEPLOY_ACCOUNT = "sample-app-deploy";
const BACKUP = "redis-backup";

export = async () => {
    const s = loadSettings();
    const identity = { instance: s.stack, env: s.env };

    // An explicit provider pinned to one kube context: a stack cannot land in the wrong cluster.
    const provider = new k8s.Provider("cluster", {
        context: s.kubeContext,
        enableServerSideApply: true,
    });
    const opts: pulumi.ComponentResourceOptions = { providers: [provider] };

    // Deleting the namespace or Redis would lose the data: `protect` makes Pulumi refuse until it is lifted.
    const ns = new c.AppNamespace("sample-app", { namespace: s.namespace, quota: s.quota, ...identity }, { ...opts, protect: s.protect });
    const access = new c.AccessControl("sample-app", {
        namespace: ns.name,
        workloads: s.redis && s.redis.mode !== "managed" ? [FRONTEND, API, REDIS] : [FRONTEND, API],
        viewerGroups: [...s.viewerGroups],
        deployerGroups: [...s.deployerGroups],
        networkAdminGroups: [...s.networkAdminGroups],
        deployServiceAccount: DEPLOY_ACCOUNT,
        // The Secrets the program creates (Redis's password, or gray's copy of prod's): the only ones deployers reach.
        managedSecrets: [`${REDIS}-auth`],
        ...identity,
    }, opts);

    // Gray has no Redis of its own: it reads prod's through a StackReference.
    const prod = s.canary ? new pulumi.StackReference("prod", { name: s.canary.prodStack }) : undefined;
    const own = s.redis && s.redis.mode !== "managed" ? s.redis : undefined;
    const managed = s.redis?.mode === "managed" ? s.redis : undefined;
    let redis: c.Redis | c.ExternalRedis;
    let backup: c.RedisBackup | undefined;
    if (own) {
        const ownRedis = new c.Redis(REDIS, {
            namespace: ns.name,
            image: s.images.redis,
            imagePullPolicy: s.profile.imagePullPolicy,
            replicas: own.replicas,
            sentinel: own.mode === "sentinel" ? { quorum: own.sentinelQuorum } : undefined,
            zoneSpread: s.api.zoneSpread,
            storageClassName: own.storageClass,
            storageSize: own.storageSize,
            restoreFromSnapshot: own.restoreFromSnapshot,
            serviceAccountName: access.serviceAccountNames[REDIS],
            ...identity,
        }, { ...opts, protect: s.protect });
        redis = ownRedis;
        if (own.snapshotClass) {
            backup = new c.RedisBackup(BACKUP, {
                namespace: ns.name,
                redis: ownRedis,
                snapshotClass: own.snapshotClass,
                schedule: own.snapshotSchedule,
                kubectlImage: s.images.kubectl,
                imagePullPolicy: s.profile.imagePullPolicy,
                ...identity,
            }, opts);
        }
    } else if (managed) {
        redis = new c.ExternalRedis(REDIS, {
            namespace: ns.name,
            host: managed.host,
            port: managed.port,
            tls: managed.tls,
            ...(managed.passwordSecret ? { passwordSecret: { name: managed.passwordSecret } } : { password: pulumi.secret(managed.password!) }),
            ...identity,
        }, opts);
    } else {
        const fromProd = <T>(key: string, fallback: T) => prod!.getOutput(key).apply(v => (v ?? fallback) as T);
        redis = new c.ExternalRedis(REDIS, {
            namespace: ns.name,
            host: prod!.requireOutput("redisHost") as pulumi.Output<string>,
            port: prod!.requireOutput("redisPort") as pulumi.Output<number>,
            password: prod!.requireOutput("redisPassword") as pulumi.Output<string>,
            sentinelAddrs: fromProd("redisSentinelAddrs", ""),
            sentinelMaster: fromProd("redisSentinelMaster", ""),
            sentinelPassword: fromProd("redisSentinelPassword", ""),
            waitReplicas: fromProd("redisWaitReplicas", 0),
            ...identity,
        }, opts);
    }

    const api = new c.UserApi(API, {
        namespace: ns.name,
        image: s.images.api,
        imagePullPolicy: s.profile.imagePullPolicy,
        redis,
        logLevel: s.logLevel,
        // Scrape annotations only where a Prometheus is let through the NetworkPolicies.
        prometheusScrape: s.metricsNamespace !== undefined,
        serviceAccountName: access.serviceAccountNames[API],
        ...s.api,
        ...identity,
    }, opts);

    const frontend = new c.Frontend(FRONTEND, {
        namespace: ns.name,
        image: s.images.web,
        imagePullPolicy: s.profile.imagePullPolicy,
        apiUpstream: api.address,
        serviceAccountName: access.serviceAccountNames[FRONTEND],
        ...s.frontend,
        ...identity,
    }, opts);

    const host = s.host ?? (prod!.requireOutput("host") as pulumi.Output<string>);
    // Gateway API: prod owns the HTTPRoute with the weighted split (grayWeight), gray owns a header-only
    // route on prod's Gateway and the grant that lets prod's route reach its frontend (README "Routing").
    const entry = s.routing === "gateway"
        ? new c.GatewayRoute("sample-app", {
            namespace: ns.name,
            host,
            serviceName: frontend.serviceName,
            servicePort: frontend.servicePort,
            gatewayClassName: s.gateway!.className,
            httpPort: s.gateway!.ports?.http,
            httpsPort: s.gateway!.ports?.https,
            parentGateway: s.gateway!.shared,
            tlsSecretName: s.tlsSecretName,
            admitRoutesFrom: s.grayNamespace ? [s.grayNamespace] : undefined,
            headerMatch: s.canary ? { header: s.canary.header } : undefined,
            weightedBackend: s.grayWeight > 0 ? { namespace: s.grayNamespace!, serviceName: FRONTEND, servicePort: frontend.servicePort, weight: s.grayWeight } : undefined,
            grantRoutesFrom: prod?.requireOutput("namespace") as pulumi.Output<string> | undefined,
            ...identity,
        }, opts)
        : new c.PublicIngress("sample-app", {
            namespace: ns.name,
            host,
            serviceName: frontend.serviceName,
            servicePort: frontend.servicePort,
            ingressClassName: s.ingressClass,
            tlsSecretName: s.tlsSecretName,
            canary: s.canary ? { weight: s.canary.weight, header: s.canary.header } : undefined,
            ...identity,
        }, opts);

    new c.NetworkPolicies("sample-app", {
        namespace: ns.name,
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
        ...identity,
    }, opts);

    return {
        namespace: ns.name,
        host,
        publicUrl: entry.url,
        apiUrl: api.url,
        redisHost: redis.host,
        redisPort: redis.port,
        redisPassword: pulumi.secret(redis.password),
        // Sentinel mode ("" and 0 otherwise): what gray's API needs to follow prod's primary.
        redisSentinelAddrs: (redis instanceof c.Redis && redis.sentinelAddrs) || "",
        redisSentinelMaster: (redis instanceof c.Redis && redis.sentinelMaster) || "",
        redisSentinelPassword: pulumi.secret(redis instanceof c.Redis ? redis.sentinelPassword : ""),
        redisWaitReplicas: redis.waitReplicas,
    };
};
