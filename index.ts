/**
 * sample-app: composition only. Read the settings, make the provider, wire
 * the components, export what users and other stacks need.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as c from "./components";
import { loadSettings } from "./config";

/** Component names: they name the Kubernetes objects, and other stacks select pods by them. */
const REDIS = "redis";
const API = "user-api";
const FRONTEND = "frontend";
/** The ServiceAccount the deploy workflow runs `pulumi up` as (see README, "Access control"). */
const DEPLOY_ACCOUNT = "sample-app-deploy";

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
        workloads: s.redis ? [FRONTEND, API, REDIS] : [FRONTEND, API],
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
    const redis = s.redis
        ? new c.Redis(REDIS, {
            namespace: ns.name,
            image: s.images.redis,
            imagePullPolicy: s.profile.imagePullPolicy,
            replicas: s.redis.replicas,
            storageClassName: s.redis.storageClass,
            storageSize: s.redis.storageSize,
            serviceAccountName: access.serviceAccountNames[REDIS],
            ...identity,
        }, { ...opts, protect: s.protect })
        : new c.ExternalRedis(REDIS, {
            namespace: ns.name,
            host: prod!.requireOutput("redisHost") as pulumi.Output<string>,
            port: prod!.requireOutput("redisPort") as pulumi.Output<number>,
            password: prod!.requireOutput("redisPassword") as pulumi.Output<string>,
            ...identity,
        }, opts);

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
        redis: redis instanceof c.Redis ? { podSelector: redis.podSelector, port: c.REDIS_DEFAULTS.port, replication: s.redis!.replicas > 1 } : undefined,
        externalRedis: prod ? { namespace: prod.requireOutput("namespace") as pulumi.Output<string>, podSelector: c.crossStackSelector(REDIS, c.REDIS_COMPONENT), port: c.REDIS_DEFAULTS.port } : undefined,
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
    };
};
