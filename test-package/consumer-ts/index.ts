/**
 * A TypeScript Pulumi program in another repository: it installed the packed
 * sample-app tarball and builds every component with its own arguments.
 * Compiled with tsc (strict) against the package's .d.ts, so a missing or
 * wrong type fails the build before anything runs.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AccessControl, AppNamespace, ExternalRedis, Frontend, FrontendArgs, GatewayRoute, NetworkPolicies, PublicIngress, Redis, RedisArgs, RedisBackup, UserApi,
} from "sample-app";

export function build(): Record<string, pulumi.Output<unknown>> {
    const ns = new AppNamespace("shop", { namespace: "shop" });
    const access = new AccessControl("shop", { namespace: ns.name, workloads: ["web", "orders"] });
    const cacheArgs: RedisArgs = { namespace: ns.name, storageSize: "256Mi" };
    const cache = new Redis("cache", cacheArgs);
    new RedisBackup("cache-backup", { namespace: ns.name, redis: cache, snapshotClass: "csi-hostpath-snapclass", schedule: "0 3 * * *" });
    const shared = new ExternalRedis("shared-cache", { namespace: ns.name, host: "redis.shared.svc.cluster.local", password: pulumi.secret("shared-password") });
    const api = new UserApi("orders", { namespace: ns.name, image: "registry.example.com/orders:1.0.0", redis: cache, serviceAccountName: access.serviceAccountNames["orders"] });
    const webArgs: FrontendArgs = { namespace: ns.name, image: "registry.example.com/web:1.0.0", apiUpstream: api.address };
    const web = new Frontend("web", webArgs);
    const ingress = new PublicIngress("shop", { namespace: ns.name, host: "shop.example.com", serviceName: web.serviceName });
    new GatewayRoute("shop", { namespace: ns.name, host: "shop.example.com", serviceName: web.serviceName, gatewayClassName: "example" });
    new NetworkPolicies("shop", {
        namespace: ns.name,
        frontend: { podSelector: { "app.kubernetes.io/name": "web" }, port: 8080 },
        api: { podSelector: { "app.kubernetes.io/name": "orders" }, port: 8080 },
    });
    const host: pulumi.Output<string> = cache.host;
    return { namespace: ns.name, cacheHost: host, sharedHost: shared.host, apiUrl: api.url, publicUrl: ingress.url };
}
