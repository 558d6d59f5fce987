/**
 * The local cluster's Prometheus (addons.yaml), queried through the API server's service proxy as the
 * cluster admin (what `kubectl get --raw` does for a user without a port-forward), and, on ACK's shape,
 * given a scrape job for each PodMonitor in the cluster, as ACK's Managed Service for Prometheus (ARMS)
 * reads them: prod and gray as written (`metricsDiscovery: podMonitor`) carry no scrape annotations.
 *
 * It runs in namespace `monitoring` on a laptop-shaped cluster (the suite's metricsNamespace for dev
 * and test), in `arms-prom` on `--like ack` (where ARMS runs its agent: prod's and gray's metricsNamespace,
 * the only namespace their NetworkPolicies admit to /metrics). addons.sh's metrics_namespace says the same.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseQueryResponse, PrometheusQuery } from "../../release/prometheus";
import { clusterShape, kubectl, kubectlResult } from "./env";

/** The namespace the cluster's Prometheus runs in. */
export function metricsNamespace(like = clusterShape().like): string {
    return like === "ack" ? "arms-prom" : "monitoring";
}

/** Instant queries to the cluster's Prometheus; a refused query throws Prometheus's own error. */
export const clusterPrometheus: PrometheusQuery = async promql => {
    const proxy = `/api/v1/namespaces/${metricsNamespace()}/services/prometheus:9090/proxy/api/v1`;
    const r = kubectlResult(["get", "--raw", `${proxy}/query?query=${encodeURIComponent(promql)}`]);
    if (r.status !== 0) {
        // A refused query comes back as the proxied 400, whose body kubectl prints after its own words.
        const body = /\{.*\}/s.exec(r.stderr)?.[0];
        if (body !== undefined) return parseQueryResponse(body, promql);
        throw new Error(`querying the cluster's Prometheus for ${promql}: ${r.stderr.trim()}`);
    }
    return parseQueryResponse(r.stdout, promql);
};

/** A PodMonitor (monitoring.coreos.com/v1) as far as a scrape job needs it. */
export interface PodMonitor {
    readonly metadata: { readonly name: string; readonly namespace: string };
    readonly spec: {
        readonly selector?: { readonly matchLabels?: Record<string, string>; readonly matchExpressions?: readonly unknown[] };
        readonly namespaceSelector?: Record<string, unknown>;
        readonly podMetricsEndpoints?: ReadonlyArray<{ readonly port?: string; readonly path?: string; readonly scheme?: string; readonly interval?: string }>;
    };
}

/** One scrape_config of prometheus.yml. */
export type ScrapeJob = Record<string, unknown> & { readonly job_name: string };

/** The jobs written from PodMonitors are named as the Prometheus Operator names them: podMonitor/NAMESPACE/NAME/INDEX. */
const JOB_PREFIX = "podMonitor/";

/** A Kubernetes label key as Prometheus's service discovery spells it in a meta label. */
function metaLabelName(key: string): string {
    return key.replace(/[^a-zA-Z0-9_]/g, "_");
}

function regexQuote(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The scrape jobs that scrape what these PodMonitors select, as the Prometheus Operator writes them: pods
 * of the PodMonitor's namespace whose labels match its selector, on the named container port, at the
 * path; labelled namespace, pod, container, job (NAMESPACE/NAME), endpoint, and app (the pod's
 * app.kubernetes.io/name, which the annotation job gives its targets too). Throws, naming the
 * PodMonitor, for what this stand-in does not read: match expressions, other namespaces, an endpoint
 * without a named port.
 */
export function podMonitorJobs(monitors: readonly PodMonitor[]): ScrapeJob[] {
    const jobs: ScrapeJob[] = [];
    for (const m of [...monitors].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))) {
        const id = `${m.metadata.namespace}/${m.metadata.name}`;
        if ((m.spec.selector?.matchExpressions ?? []).length > 0) throw new Error(`PodMonitor ${id}: selector.matchExpressions is not read here; select with matchLabels`);
        if (m.spec.namespaceSelector !== undefined && Object.keys(m.spec.namespaceSelector).length > 0) {
            throw new Error(`PodMonitor ${id}: namespaceSelector is not read here; a PodMonitor selects pods of its own namespace`);
        }
        const matchLabels = Object.entries(m.spec.selector?.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b));
        (m.spec.podMetricsEndpoints ?? []).forEach((e, i) => {
            if (e.port === undefined || e.port === "") throw new Error(`PodMonitor ${id}: podMetricsEndpoints[${i}] names no port`);
            jobs.push({
                job_name: `${JOB_PREFIX}${id}/${i}`,
                kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [m.metadata.namespace] } }],
                scheme: e.scheme ?? "http",
                metrics_path: e.path ?? "/metrics",
                ...(e.interval ? { scrape_interval: e.interval } : {}),
                relabel_configs: [
                    ...matchLabels.map(([k, v]) => ({
                        action: "keep",
                        source_labels: [`__meta_kubernetes_pod_label_${metaLabelName(k)}`, `__meta_kubernetes_pod_labelpresent_${metaLabelName(k)}`],
                        regex: `(${regexQuote(v)});true`,
                    })),
                    { action: "keep", source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: regexQuote(e.port) },
                    { action: "drop", source_labels: ["__meta_kubernetes_pod_phase"], regex: "(Failed|Succeeded)" },
                    { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
                    { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
                    { source_labels: ["__meta_kubernetes_pod_container_name"], target_label: "container" },
                    { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], target_label: "app" },
                    { target_label: "job", replacement: id },
                    { target_label: "endpoint", replacement: e.port },
                ],
            });
        });
    }
    return jobs;
}

/** prometheus.yml with the PodMonitor jobs replaced by `jobs`, every other job kept as it is. */
export function withPodMonitorJobs(config: string, jobs: readonly ScrapeJob[]): string {
    const c = (yaml.load(config) ?? {}) as { scrape_configs?: ScrapeJob[] };
    const others = (c.scrape_configs ?? []).filter(j => !j.job_name.startsWith(JOB_PREFIX));
    return yaml.dump({ ...c, scrape_configs: [...others, ...jobs] }, { lineWidth: -1, noRefs: true });
}

/**
 * Writes a scrape job for each PodMonitor in the cluster into its Prometheus's configuration and, when
 * that changed, restarts it on the new one (a new pod reads the ConfigMap as it is now; a running one
 * sees an edit only at the kubelet's next sync). What ARMS does once its PodMonitor collection is on.
 * Returns the jobs' names.
 */
export function syncPodMonitorScrapes(): string[] {
    const ns = metricsNamespace();
    const monitors = JSON.parse(kubectl(["get", "podmonitors.monitoring.coreos.com", "--all-namespaces", "-o", "json"])) as { items: PodMonitor[] };
    const jobs = podMonitorJobs(monitors.items);
    const cm = JSON.parse(kubectl(["-n", ns, "get", "configmap", "prometheus", "-o", "json"])) as { data: Record<string, string> };
    const before = cm.data["prometheus.yml"];
    const after = withPodMonitorJobs(before, jobs);
    if (yaml.dump(yaml.load(before), { lineWidth: -1 }) !== yaml.dump(yaml.load(after), { lineWidth: -1 })) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-prometheus-"));
        try {
            fs.writeFileSync(path.join(dir, "prometheus.yml"), after);
            const manifest = kubectl(["-n", ns, "create", "configmap", "prometheus", `--from-file=prometheus.yml=${path.join(dir, "prometheus.yml")}`, "--dry-run=client", "-o", "json"]);
            kubectl(["apply", "--server-side", "--field-manager", "sample-app-cluster", "--force-conflicts", "-f", "-"], manifest);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        kubectl(["-n", ns, "rollout", "restart", "deployment/prometheus"]);
        kubectl(["-n", ns, "rollout", "status", "deployment/prometheus", "--timeout=120s"]);
    }
    return jobs.map(j => j.job_name);
}
