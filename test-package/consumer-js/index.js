// A plain JavaScript Pulumi program in another repository: it installed the
// packed sample-app tarball and builds every component with its own arguments,
// the same ones as the TypeScript consumer. No TypeScript tooling is installed here.
"use strict";
const pulumi = require("@pulumi/pulumi");
const { AccessControl, AppNamespace, ExternalRedis, Frontend, GatewayRoute, NetworkPolicies, PublicIngress, Redis, RedisBackup, UserApi } = require("sample-app");

exports.build = function build() {
    const ns = new AppNamespace("shop", { namespace: "shop" });
    const access = new AccessControl("shop", { namespace: ns.name, workloads: ["web", "orders"] });
    const cache = new Redis("cache", { namespace: ns.name, storageSize: "256Mi" });
    new RedisBackup("cache-backup", { namespace: ns.name, redis: cache, snapshotClass: "csi-hostpath-snapclass", schedule: "0 3 * * *" });
    const shared = new ExternalRedis("shared-cache", { namespace: ns.name, host: "redis.shared.svc.cluster.local", password: pulumi.secret("shared-password") });
    const api = new UserApi("orders", { namespace: ns.name, image: "registry.example.com/orders:1.0.0", redis: cache, serviceAccountName: access.serviceAccountNames["orders"] });
    const web = new Frontend("web", { namespace: ns.name, image: "registry.example.com/web:1.0.0", apiUpstream: api.address });
    const ingress = new PublicIngress("shop", { namespace: ns.name, host: "shop.example.com", serviceName: web.serviceName });
    new GatewayRoute("shop", { namespace: ns.name, host: "shop.example.com", serviceName: web.serviceName, gatewayClassName: "example" });
    new NetworkPolicies("shop", {
        namespace: ns.name,
        frontend: { podSelector: { "app.kubernetes.io/name": "web" }, port: 8080 },
        api: { podSelector: { "app.kubernetes.io/name": "orders" }, port: 8080 },
    });
    return { namespace: ns.name, cacheHost: cache.host, sharedHost: shared.host, apiUrl: api.url, publicUrl: ingress.url };
};
