import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { checkArgs } from "./errors";
import { createScalingObjects, hpaSpec, replicasField, ScalingArgs, topologySpread } from "./scaling";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./security";

/**
 * Pure builders and small factories shared by the Deployments (UserApi, Frontend).
 */

/** Pod-template annotation holding a hash of the pod's config: a config change changes the template, so the pods roll. */
export const CONFIG_HASH_ANNOTATION = "sample-app.dev/config-hash";

/**
 * Annotations of a Service: `pulumi.com/skipAwait` makes `pulumi up` take a Service as done once it
 * exists. By default the kubernetes provider waits until a Service has ready endpoints, which holds
 * everything that takes the Service's name (the frontend the API's, a route the frontend's) until
 * the pods behind it are ready; those pods' readiness is awaited on their Deployment or StatefulSet.
 */
export const SERVICE_ANNOTATIONS: Readonly<Record<string, string>> = { "pulumi.com/skipAwait": "true" };

/** Short content hash for {@link CONFIG_HASH_ANNOTATION}. */
export function configHash(content: string): string {
    return crypto.createHash("sha256").update(content).digest("hex").slice(0, 16);
}

/**
 * The name of a ConfigMap that carries its content's hash (`<base>-<10 hex>`, as kustomize's generator
 * names them), for ConfigMaps created `immutable`. A change then makes Pulumi create the new
 * ConfigMap, roll the pods that mount it, and delete the old one last: a ConfigMap the provider had
 * to replace under the same name would be deleted first, leaving pods that start meanwhile with
 * nothing to mount, and a rolled-back ReplicaSet with the new content.
 */
export function contentName(base: string, content: string): string {
    return `${base}-${configHash(content).slice(0, 10)}`;
}

/** HTTP GET probe on a named container port. */
export function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
    return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** Rolling update that never drops below the desired count: new pods must be ready before old ones go. */
export function zeroDowntimeStrategy(): k8s.types.input.apps.v1.DeploymentStrategy {
    return { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
}

/**
 * The ServiceAccount a workload runs as: the one given, or a new one without
 * API token automount, named like the workload.
 */
export function workloadServiceAccount(
    parent: pulumi.Resource,
    name: string,
    metadata: { namespace: pulumi.Input<string>; labels: Record<string, string> },
    given: pulumi.Input<string> | undefined,
): pulumi.Input<string> {
    if (given !== undefined) {
        return given;
    }
    return new k8s.core.v1.ServiceAccount(name, {
        metadata: { name, ...metadata },
        automountServiceAccountToken: false,
    }, { parent }).metadata.name;
}

/** Type of a workload's Service: `NodePort` also opens the port on every node, for a load balancer outside the cluster that cannot reach pod addresses (an enum in the component schema). */
export const ServiceType = { ClusterIP: "ClusterIP", NodePort: "NodePort" } as const;
export type ServiceType = (typeof ServiceType)[keyof typeof ServiceType];

/** An HTTP workload: a Deployment with one container serving on the named port `http`, and its Service. */
export interface HttpWorkload {
    readonly name: string;
    readonly namespace: pulumi.Input<string>;
    /** Labels of every object and of the pods. */
    readonly labels: Record<string, string>;
    /** Immutable labels that select the pods. */
    readonly selector: Record<string, string>;
    readonly scaling: ScalingArgs;
    /** ServiceAccount the pods run as (or undefined: one is created). */
    readonly serviceAccountName?: pulumi.Input<string>;
    /** UID and GID the pods run as. */
    readonly runAs: { readonly user: number; readonly group: number };
    readonly terminationGracePeriodSeconds: number;
    /**
     * Seconds the kubelet waits (a preStop sleep) before it signals the container, so that endpoints
     * drop the pod first: for a server that cannot do it itself (nginx). 0: none, for one that keeps
     * serving for a while after SIGTERM by itself (the API's SHUTDOWN_DELAY).
     */
    readonly preStopSleepSeconds: number;
    readonly podAnnotations: Record<string, pulumi.Input<string>>;
    /** The container; it must expose a port named `http`. securityContext and lifecycle are set here. */
    readonly container: k8s.types.input.core.v1.Container;
    readonly volumes: k8s.types.input.core.v1.Volume[];
    /** Port of the Service (targets the container's `http` port). */
    readonly servicePort: number;
    /** Type of the Service. */
    readonly serviceType: ServiceType;
}

/**
 * Creates the Deployment (hardened pod, zero-downtime rollout, topology
 * spread), its Service, and the HPA and PDB it asks for, as children of
 * `parent`. Returns the Service.
 */
export function createHttpWorkload(parent: pulumi.Resource, w: HttpWorkload): k8s.core.v1.Service {
    // Bad scaling args fail before anything is registered, naming the component.
    checkArgs(parent, () => w.scaling.autoscaling ? hpaSpec(w.name, w.scaling.autoscaling) : replicasField(w.scaling));
    const metadata = { namespace: w.namespace, labels: w.labels };
    const serviceAccountName = workloadServiceAccount(parent, w.name, metadata, w.serviceAccountName);
    new k8s.apps.v1.Deployment(w.name, {
        metadata: { name: w.name, ...metadata },
        spec: {
            ...replicasField(w.scaling),
            revisionHistoryLimit: 5,
            selector: { matchLabels: w.selector },
            strategy: zeroDowntimeStrategy(),
            template: {
                metadata: { labels: w.labels, annotations: w.podAnnotations },
                spec: {
                    serviceAccountName,
                    automountServiceAccountToken: false,
                    enableServiceLinks: false,
                    terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
                    // fsGroup: mounted Secrets (mode 0440) are readable by the pod's group only.
                    securityContext: restrictedPodSecurityContext(w.runAs.user, w.runAs.group, w.runAs.group),
                    topologySpreadConstraints: topologySpread(w.selector, w.scaling.zoneSpread ?? false),
                    containers: [{
                        ...w.container,
                        securityContext: restrictedContainerSecurityContext(),
                        // Let endpoints drop the pod before the process is told to stop.
                        ...(w.preStopSleepSeconds > 0 ? { lifecycle: { preStop: { sleep: { seconds: w.preStopSleepSeconds } } } } : {}),
                    }],
                    volumes: w.volumes,
                },
            },
        },
    }, { parent });
    const service = new k8s.core.v1.Service(w.name, {
        metadata: { name: w.name, ...metadata, annotations: { ...SERVICE_ANNOTATIONS } },
        spec: { type: w.serviceType, selector: w.selector, ports: [{ name: "http", port: w.servicePort, targetPort: "http", protocol: "TCP" }] },
    }, { parent });
    createScalingObjects(parent, w.name, metadata, w.selector, w.scaling);
    return service;
}
