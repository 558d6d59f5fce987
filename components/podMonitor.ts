/**
 * Scraping by PodMonitor: the `monitoring.coreos.com/v1` object through which the Prometheus
 * Operator, and ACK's Managed Service for Prometheus (ARMS), find the pods to scrape. The other way
 * is the `prometheus.io/*` pod annotations, which a Prometheus with Kubernetes pod discovery reads.
 * Pure builders here; the workload component that has the pods makes the object.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LABEL_VALUE, validLabelKey } from "./labels";
import type { HttpWorkload } from "./workload";

/** What a PodMonitor adds to the workload's own labels and selector. */
export interface PodMonitorArgs {
    /**
     * Labels of the PodMonitor object, for a Prometheus that picks PodMonitors by label (the Prometheus
     * Operator's `podMonitorSelector`; kube-prometheus-stack's is `release: <its Helm release>`). They
     * may not set the labels the component gives every object. Default: the component's labels only.
     */
    readonly labels?: Record<string, string>;
    /** How often each pod is scraped: a Prometheus duration such as `15s`, `1m` or `1m30s`. Default: the Prometheus's own interval. */
    readonly interval?: string;
}

/** A Prometheus duration, as the PodMonitor CRD's schema admits it (`0` excepted: a scrape needs an interval). */
const PROMETHEUS_DURATION = /^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;

/** Whether `d` is a Prometheus duration longer than zero (`15s`, `1m30s`, `500ms`). */
export function validScrapeInterval(d: string): boolean {
    return d !== "" && PROMETHEUS_DURATION.test(d) && /[1-9]/.test(d);
}

/** The pods a PodMonitor scrapes, and where: the workload's name, namespace, labels and selector, and its metrics port and path. */
export interface MonitoredPods extends Pick<HttpWorkload, "name" | "namespace" | "labels" | "selector"> {
    /** Name of the container port that serves the metrics. */
    readonly port: string;
    /** Path of the metrics. */
    readonly path: string;
}

/** A PodMonitor's metadata and spec. */
export interface PodMonitorManifest {
    readonly metadata: k8s.types.input.meta.v1.ObjectMeta;
    readonly spec: Record<string, unknown>;
}

/**
 * The PodMonitor's metadata and spec for `pods`, or a thrown Error naming the bad arg: a label key
 * or value Kubernetes refuses, a label the component sets itself, an interval that is not a duration.
 */
export function podMonitorManifest(pods: MonitoredPods, args: PodMonitorArgs): PodMonitorManifest {
    const extra = args.labels ?? {};
    for (const [key, value] of Object.entries(extra)) {
        if (!validLabelKey(key) || !LABEL_VALUE.test(value)) {
            throw new Error(`podMonitor.labels: ${JSON.stringify(`${key}=${value}`)} is not a Kubernetes label (a key such as example.com/name or name, a value of at most 63 letters, digits, '-', '_' or '.')`);
        }
        if (key in pods.labels) {
            throw new Error(`podMonitor.labels: ${key} is a label the component sets on every object (${key}=${pods.labels[key]}); use another key`);
        }
    }
    if (args.interval !== undefined && !validScrapeInterval(args.interval)) {
        throw new Error(`podMonitor.interval: ${JSON.stringify(args.interval)} is not a Prometheus duration longer than zero, such as 15s, 1m or 1m30s`);
    }
    return {
        metadata: { name: pods.name, namespace: pods.namespace, labels: { ...extra, ...pods.labels } },
        spec: {
            selector: { matchLabels: pods.selector },
            podMetricsEndpoints: [{ port: pods.port, path: pods.path, scheme: "http", ...(args.interval ? { interval: args.interval } : {}) }],
        },
    };
}

/** Makes the PodMonitor `name` of a checked manifest (podMonitorManifest) as a child of `parent`. */
export function createPodMonitor(parent: pulumi.Resource, name: string, manifest: PodMonitorManifest): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", ...manifest }, { parent });
}
