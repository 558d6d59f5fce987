/**
 * The judgement of a canary: gray's API against prod's over the same interval, on the API's own
 * metrics (`http_requests_total` and `http_request_duration_seconds`, by route and status), which
 * Prometheus labels with the pod's `namespace` whether it finds the pods by annotation or by PodMonitor.
 * The health endpoints (probes and scrapes) are left out: they say nothing of what users get.
 */
import { PrometheusQuery, Sample } from "./prometheus";

/** What a canary is judged by. */
export interface Thresholds {
    /** The window each judgement looks back over, as a Prometheus duration (`30s`, `2m`). */
    readonly interval: string;
    /** How much larger a share of gray's requests may fail (5xx) than prod's own share, in 0..1. Default 0.01. */
    readonly maxErrorRatioIncrease: number;
    /** How many times prod's p99 latency gray's may reach. Default 1.5. */
    readonly maxLatencyRatio: number;
    /** A p99 below this many milliseconds always passes (small latencies compare noisily). Default 100. */
    readonly latencyFloorMs: number;
    /** The fewest requests gray must have served in the interval to be judged at all. Default 20. */
    readonly minRequests: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
    interval: "30s",
    maxErrorRatioIncrease: 0.01,
    maxLatencyRatio: 1.5,
    latencyFloorMs: 100,
    minRequests: 20,
};

/** A Prometheus duration: one or more number-unit pairs, largest unit first (`90s`, `1m30s`). */
const DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;

/** The thresholds, or an error naming each value that cannot be used. */
export function checkThresholds(t: Thresholds): Thresholds {
    const problems: string[] = [];
    if (t.interval === "" || !DURATION.test(t.interval) || !/[1-9]/.test(t.interval)) {
        problems.push(`interval ${JSON.stringify(t.interval)} is not a Prometheus duration above zero (for example 30s or 2m)`);
    }
    const num = (name: keyof Thresholds, ok: (n: number) => boolean, allowed: string) => {
        const v = t[name] as number;
        if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) problems.push(`${name} ${String(v)} is not ${allowed}`);
    };
    num("maxErrorRatioIncrease", n => n >= 0 && n <= 1, "a ratio from 0 to 1");
    num("maxLatencyRatio", n => n >= 1, "a number of at least 1");
    num("latencyFloorMs", n => n >= 0, "a number of milliseconds, 0 or more");
    num("minRequests", n => Number.isInteger(n) && n >= 1, "a whole number of at least 1");
    if (problems.length > 0) throw new Error(`release thresholds: ${problems.join("; ")}`);
    return t;
}

/** What one side served over the interval. */
export interface Figures {
    /** API requests served (health endpoints left out). */
    readonly requests: number;
    /** The share of them answered 5xx, 0 when there were none. */
    readonly errorRatio: number;
    /** The 99th percentile of their latency in milliseconds, undefined when there were none. */
    readonly p99Ms: number | undefined;
}

const QUIET_ROUTES = "GET /(healthz|readyz|metrics)";

/** The PromQL for one namespace's figures: requests, failed requests and p99 latency over the interval. */
export function figureQueries(namespace: string, interval: string): { readonly requests: string; readonly errors: string; readonly p99: string } {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new Error(`${JSON.stringify(namespace)} is not a namespace name`);
    checkThresholds({ ...DEFAULT_THRESHOLDS, interval });
    const sel = (extra = "") => `{namespace="${namespace}",route!~"${QUIET_ROUTES}"${extra}}`;
    return {
        requests: `sum(increase(http_requests_total${sel()}[${interval}])) or vector(0)`,
        errors: `sum(increase(http_requests_total${sel(',status=~"5.."')}[${interval}])) or vector(0)`,
        p99: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket${sel()}[${interval}])))`,
    };
}

function single(samples: Sample[], what: string): number | undefined {
    if (samples.length > 1) throw new Error(`${what}: Prometheus answered ${samples.length} series where the query sums to one`);
    return samples[0]?.value;
}

/** Measures one namespace's figures over the interval. */
export async function measure(query: PrometheusQuery, namespace: string, interval: string): Promise<Figures> {
    const q = figureQueries(namespace, interval);
    const [requests, errors, p99] = await Promise.all([query(q.requests), query(q.errors), query(q.p99)]);
    const n = single(requests, `requests of ${namespace}`) ?? 0;
    const failed = single(errors, `errors of ${namespace}`) ?? 0;
    const p = single(p99, `p99 of ${namespace}`);
    return {
        requests: n,
        errorRatio: n > 0 ? Math.min(1, failed / n) : 0,
        p99Ms: p === undefined || !Number.isFinite(p) ? undefined : p * 1000,
    };
}

/** The outcome of one judgement, with the figures it rests on and, unless it passed, why. */
export interface Verdict {
    readonly outcome: "pass" | "fail" | "inconclusive";
    readonly gray: Figures;
    readonly prod: Figures;
    readonly reasons: readonly string[];
}

const pct = (r: number) => `${(r * 100).toFixed(2)} %`;
const ms = (v: number | undefined) => (v === undefined ? "none" : `${v.toFixed(1)} ms`);

/** Judges gray's figures against prod's. */
export function judge(gray: Figures, prod: Figures, t: Thresholds): Verdict {
    const reasons: string[] = [];
    if (gray.requests < t.minRequests) {
        return {
            outcome: "inconclusive", gray, prod,
            reasons: [`gray served ${Math.round(gray.requests)} requests in ${t.interval}, fewer than the ${t.minRequests} a judgement needs`],
        };
    }
    const errorLimit = prod.errorRatio + t.maxErrorRatioIncrease;
    if (gray.errorRatio > errorLimit) {
        reasons.push(`error ratio ${pct(gray.errorRatio)} is above ${pct(errorLimit)} (prod's ${pct(prod.errorRatio)} + ${pct(t.maxErrorRatioIncrease)})`);
    }
    if (gray.p99Ms !== undefined) {
        const latencyLimit = Math.max(t.latencyFloorMs, prod.p99Ms === undefined ? 0 : prod.p99Ms * t.maxLatencyRatio);
        if (gray.p99Ms > latencyLimit) {
            reasons.push(`p99 latency ${ms(gray.p99Ms)} is above ${ms(latencyLimit)} (prod's ${ms(prod.p99Ms)} × ${t.maxLatencyRatio}, at least ${t.latencyFloorMs} ms)`);
        }
    }
    return { outcome: reasons.length > 0 ? "fail" : "pass", gray, prod, reasons };
}

/** One line of figures for a side. */
export function describeFigures(f: Figures): string {
    return `${Math.round(f.requests)} requests, ${pct(f.errorRatio)} failed, p99 ${ms(f.p99Ms)}`;
}

/** The verdict as a user reads it. */
export function describeVerdict(v: Verdict): string {
    const head = `${v.outcome}: gray ${describeFigures(v.gray)}; prod ${describeFigures(v.prod)}`;
    return v.reasons.length === 0 ? head : `${head}\n  ${v.reasons.join("\n  ")}`;
}
