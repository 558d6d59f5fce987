/**
 * How a Prometheus finds the API's pods, as UserApi's args: the `prometheus.io/*` annotations or a
 * PodMonitor, and neither where no Prometheus is let through the NetworkPolicies (`metricsNamespace`).
 */
import type { UserApiArgs } from "../components";
import type { MetricsSettings } from "../settings";

/** UserApi's scraping args for the stack's metrics settings. */
export function apiScraping(m: MetricsSettings | undefined): Pick<UserApiArgs, "prometheusScrape" | "podMonitor"> {
    if (m === undefined) {
        return {};
    }
    return m.discovery === "annotations"
        ? { prometheusScrape: true }
        : { podMonitor: { labels: { ...m.labels }, ...(m.interval ? { interval: m.interval } : {}) } };
}
