/**
 * The local cluster's Prometheus (addons.yaml: namespace `monitoring`, scraping annotated pods every
 * 5 s), queried through the API server's service proxy as the cluster admin: what
 * `kubectl get --raw` does for a user without a port-forward.
 */
import { parseQueryResponse, PrometheusQuery, Sample } from "../../../release/prometheus";
import { kubectlResult } from "../env";
import { waitUntil } from "./runner";

const PROXY = "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy/api/v1";

export const clusterPrometheus: PrometheusQuery = async promql => {
    const r = kubectlResult(["get", "--raw", `${PROXY}/query?query=${encodeURIComponent(promql)}`]);
    if (r.status !== 0) {
        // A refused query comes back as the proxied 400, whose body kubectl prints after its own words.
        const body = /\{.*\}/s.exec(r.stderr)?.[0];
        if (body !== undefined) return parseQueryResponse(body, promql);
        throw new Error(`querying the cluster's Prometheus for ${promql}: ${r.stderr.trim()}`);
    }
    return parseQueryResponse(r.stdout, promql);
};

/** The scrape health (`up`) of every target of a namespace's pods of one app, by pod. */
export async function scrapeHealth(namespace: string, app: string): Promise<Map<string, number>> {
    const samples: Sample[] = await clusterPrometheus(`up{job="pods",namespace="${namespace}",app="${app}"}`);
    return new Map(samples.map(s => [s.labels.pod ?? "", s.value]));
}

/** Waits until Prometheus's last scrape of each of `pods` came out as `want` (1: scraped, 0: failed); returns the seconds it took. */
export async function waitForScrapes(namespace: string, app: string, pods: readonly string[], want: 0 | 1, seconds = 60): Promise<number> {
    let seen = new Map<string, number>();
    try {
        return await waitUntil(`Prometheus's scrapes of ${namespace}'s ${app} pods all ${want === 1 ? "succeed" : "fail"}`, seconds, async () => {
            seen = await scrapeHealth(namespace, app);
            return pods.length > 0 && pods.every(p => seen.get(p) === want);
        });
    } catch (e) {
        const last = pods.map(p => `${p}: ${seen.has(p) ? `up ${seen.get(p)}` : "no target"}`).join(", ");
        throw new Error(`${e instanceof Error ? e.message : String(e)} (last seen: ${last || "no pods"})`, { cause: e });
    }
}
