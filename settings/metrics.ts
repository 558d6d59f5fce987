/**
 * Who scrapes the API's /metrics, and how a Prometheus finds the pods: `metricsNamespace` names the
 * namespace a Prometheus runs in (the NetworkPolicies let it reach the API port, nothing else), and
 * `metricsDiscovery` says whether it finds the pods by their `prometheus.io/*` annotations or by a
 * PodMonitor (the Prometheus Operator, ACK's Managed Service for Prometheus).
 */
import { STANDARD_LABEL_KEYS } from "../components/labels";
import { validScrapeInterval } from "../components/podMonitor";
import type { Reader } from "./reader";
import { DNS_LABEL, labelMap } from "./validate";

/** How a Prometheus finds the API's pods. */
export const METRICS_DISCOVERIES = ["annotations", "podMonitor"] as const;
export type MetricsDiscovery = (typeof METRICS_DISCOVERIES)[number];

/** A Prometheus that scrapes the API, and how it finds the pods. */
export type MetricsSettings = {
    /** The namespace it runs in: its pods may reach the API's port. */
    readonly namespace: string;
} & ({ readonly discovery: "annotations" } | {
    readonly discovery: "podMonitor";
    /** Labels of the PodMonitor, for a Prometheus that picks PodMonitors by label. */
    readonly labels: Readonly<Record<string, string>>;
    /** How often it scrapes each pod; unset: the Prometheus's own interval. */
    readonly interval?: string;
});

/** The stack's scraping, or undefined when no namespace may scrape (then nothing else of it is read). */
export function metricsSettings(r: Reader): MetricsSettings | undefined {
    const namespace = r.string("metricsNamespace");
    if (namespace === "") {
        return undefined;
    }
    r.matching("metricsNamespace", namespace, DNS_LABEL, "must be a namespace name (a DNS label)");
    const discovery = r.oneOf("metricsDiscovery", r.string("metricsDiscovery"), METRICS_DISCOVERIES);
    if (discovery === "annotations") {
        return { namespace, discovery };
    }
    const labels = labelMap(r, "metricsPodMonitorLabels", r.stringArray("metricsPodMonitorLabels"));
    for (const key of Object.keys(labels).filter(k => STANDARD_LABEL_KEYS.includes(k))) {
        r.problem("metricsPodMonitorLabels", `${key}=${labels[key]}`, `sets ${key}, a label the program gives every object; use another key`);
    }
    const interval = r.string("metricsScrapeInterval");
    if (interval !== "" && !validScrapeInterval(interval)) {
        r.problem("metricsScrapeInterval", interval, "must be a Prometheus duration longer than zero, such as 15s, 1m or 1m30s");
    }
    return { namespace, discovery, labels, ...(interval ? { interval } : {}) };
}
