/**
 * sample-app: composition only. Read the settings, make the provider, wire
 * the components, export what users and other stacks need. Top to bottom:
 * namespace → access → redis → api → frontend → route → policies → outputs;
 * each choice the settings make is one function in stack/ that returns a
 * component: the Redis this stack uses (stack/redis.ts), the route to the
 * frontend (stack/route.ts), the NetworkPolicies between them (stack/policies.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as c from "./components";
import { loadSettings } from "./settings";
import { API, DEPLOY_ACCOUNT, FRONTEND, ownRedis, REDIS, StackContext } from "./stack/context";
import { forceOwnFields } from "./stack/ownership";
import { networkPolicies } from "./stack/policies";
import { readProdRedis } from "./stack/prod";
import { apiScraping } from "./stack/metrics";
import { redisBackup, redisOutputs, theRedis } from "./stack/redis";
import { theRoute } from "./stack/route";

export = async () => {
    const s = loadSettings();
    s.warnings.forEach(w => pulumi.log.warn(w));
    const identity = { instance: s.stack, env: s.env };

    // Gray has no Redis or host of its own: it reads prod's through a StackReference, before anything else.
    const prod = s.kind === "canary" ? new pulumi.StackReference("prod", { name: s.canary.prodStack }) : undefined;
    const prodRedis = prod && s.kind === "canary" ? await readProdRedis(prod, s) : undefined;

    // An explicit provider pinned to one kube context: a stack cannot land in the wrong cluster.
    const provider = new k8s.Provider("cluster", {
        context: s.kubeContext,
        enableServerSideApply: true,
    });
    // Every object: the program owns the fields it sets, and the next `up` takes them back from a
    // `kubectl edit` (stack/ownership.ts). Components hand both down to their children.
    const opts: pulumi.ComponentResourceOptions = { providers: [provider], transformations: [forceOwnFields] };

    // Deleting the namespace or Redis would lose the data: `protect` makes Pulumi refuse until it is lifted.
    const ns = new c.AppNamespace("sample-app", { namespace: s.namespace, quota: s.quota, ...identity }, { ...opts, protect: s.protect });
    const own = ownRedis(s);
    const access = new c.AccessControl("sample-app", {
        namespace: ns.name,
        workloads: own ? [FRONTEND, API, REDIS] : [FRONTEND, API],
        viewerGroups: [...s.viewerGroups],
        deployerGroups: [...s.deployerGroups],
        networkAdminGroups: [...s.networkAdminGroups],
        deployServiceAccount: DEPLOY_ACCOUNT,
        // The Secrets the program creates (Redis's password, or gray's copy of prod's): the only ones deployers reach.
        managedSecrets: [`${REDIS}-auth`],
        snapshotClasses: own?.backup ? [own.backup.snapshotClass] : [],
        ...identity,
    }, opts);

    const ctx: StackContext = { s, namespace: ns.name, identity, opts, provider, prod, prodRedis };
    const redis = theRedis(ctx, access.serviceAccountNames[REDIS]);
    const backup = redisBackup(ctx, redis);

    const api = new c.UserApi(API, {
        namespace: ns.name,
        image: s.images.api,
        imagePullPolicy: s.profile.imagePullPolicy,
        redis,
        logLevel: s.logLevel,
        // Scraped only where a Prometheus is let through the NetworkPolicies: by annotations, or a PodMonitor.
        ...apiScraping(s.metrics),
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
        serviceType: s.frontendServiceType,
        ...s.frontend,
        ...identity,
    }, opts);

    const host = s.kind === "own" ? pulumi.output(s.host) : (prod?.requireOutput("host") as pulumi.Output<string>);
    const route = theRoute(ctx, frontend, host);

    networkPolicies(ctx, { frontend, api, redis, backup });

    return {
        namespace: ns.name,
        host,
        publicUrl: route.url,
        apiUrl: api.url,
        // What gray needs to reach this Redis (stack/prod.ts reads them).
        ...redisOutputs(ctx, redis),
    };
};
