/**
 * reuse-example: another team's program that reuses sample-app's components
 * with its own arguments - its own namespace (AppNamespace), a small Redis
 * cache and an "orders-api" (UserApi) wired to it. Nothing here knows about
 * sample-app's stacks or settings; the components take everything as args.
 *
 * The components come from the packed "sample-app" npm package installed in
 * this program's node_modules (npm run install:package), compiled JavaScript
 * with type declarations, as a program in another repository gets them.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppNamespace, Redis, UserApi } from "sample-app";

export = () => {
    const config = new pulumi.Config();
    const instance = pulumi.getStack();
    const identity = { instance, env: instance };

    const provider = new k8s.Provider("cluster", { context: config.get("kubeContext") ?? "minikube", enableServerSideApply: true });
    const opts: pulumi.ComponentResourceOptions = { providers: [provider] };

    const ns = new AppNamespace("orders", {
        namespace: config.get("namespace") ?? "reuse-example",
        quota: { requestsCpu: "1", requestsMemory: "1Gi", limitsCpu: "2", limitsMemory: "2Gi", pods: 10, persistentVolumeClaims: 2, requestsStorage: "5Gi" },
        ...identity,
    }, opts);

    const cache = new Redis("orders-cache", {
        namespace: ns.name,
        image: config.get("redisImage") ?? "redis:7.4.2-alpine",
        storageClassName: config.get("storageClass") ?? "standard",
        storageSize: "256Mi",
        maxMemory: "48mb",
        // Only what differs from the component's defaults: the CPU request and local disk keep theirs.
        resources: { memoryRequest: "64Mi", cpuLimit: "250m", memoryLimit: "96Mi" },
        ...identity,
    }, opts);

    const api = new UserApi("orders-api", {
        namespace: ns.name,
        image: config.get("apiImage") ?? "sample-app/api:0.1.0",
        redis: cache,
        logLevel: "debug",
        replicas: 2,
        podDisruptionBudget: true,
        ...identity,
    }, opts);

    return {
        namespace: ns.name,
        apiUrl: api.url,
        redisHost: cache.host,
        redisPassword: pulumi.secret(cache.password),
    };
};
