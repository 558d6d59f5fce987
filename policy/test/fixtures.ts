/**
 * Objects that satisfy every policy, to be broken one field at a time by the
 * specs. Shaped like what the components register.
 */
import type { Obj } from "../kube";
import { kube, Resource } from "./helpers";

export function container(name = "api", image = "registry.example.com/sample-app-api:0.1.0"): Obj {
    return {
        name,
        image,
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        securityContext: {
            runAsNonRoot: true,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
        readinessProbe: { httpGet: { path: "/readyz", port: "http" } },
    };
}

export function podSpec(containers: Obj[] = [container()]): Obj {
    return {
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
        containers,
    };
}

export function deployment(name = "user-api", spec: Obj = podSpec(), extra: Obj = {}): Resource {
    return kube("apps/v1", "Deployment", {
        metadata: { name, namespace: "sample-app-test" },
        spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec }, ...extra },
    });
}

/** A Redis-like StatefulSet; `storageClassName` null leaves the field out. */
export function statefulSet(storageClassName: string | null = "standard"): Resource {
    return kube("apps/v1", "StatefulSet", {
        metadata: { name: "redis", namespace: "sample-app-test" },
        spec: {
            serviceName: "redis-headless",
            selector: { matchLabels: { app: "redis" } },
            template: { metadata: { labels: { app: "redis" } }, spec: podSpec([container("redis", "redis:7.4.2-alpine")]) },
            volumeClaimTemplates: [{
                metadata: { name: "data" },
                spec: { accessModes: ["ReadWriteOnce"], ...(storageClassName === null ? {} : { storageClassName }), resources: { requests: { storage: "1Gi" } } },
            }],
        },
    });
}

export function service(type = "ClusterIP", name = "frontend"): Resource {
    return kube("v1", "Service", {
        metadata: { name, namespace: "sample-app-test" },
        spec: { type, selector: { app: name }, ports: [{ port: 80, targetPort: "http" }] },
    });
}

export function configMap(data: Record<string, string>, name = "app-config"): Resource {
    return kube("v1", "ConfigMap", { metadata: { name, namespace: "sample-app-test" }, data });
}

export function hpa(target: string, namespace = "sample-app-test"): Resource {
    return kube("autoscaling/v2", "HorizontalPodAutoscaler", {
        metadata: { name: target, namespace },
        spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: 2, maxReplicas: 4 },
    });
}
