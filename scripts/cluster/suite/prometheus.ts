/**
 * What the suite asks the cluster's Prometheus (scripts/cluster/prometheus.ts): whether its scrapes of
 * a namespace's pods succeed.
 */
import { Sample } from "../../../release/prometheus";
import { clusterPrometheus } from "../prometheus";
import { waitUntil } from "./runner";

/** The scrape health (`up`) of every target of a namespace's pods of one app, by pod, whichever job found them. */
export async function scrapeHealth(namespace: string, app: string): Promise<Map<string, number>> {
    const samples: Sample[] = await clusterPrometheus(`up{namespace="${namespace}",app="${app}"}`);
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
