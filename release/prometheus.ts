/**
 * Instant queries against a Prometheus HTTP API (`GET /api/v1/query`): the Prometheus on the local
 * cluster, a self-managed one, or Alibaba Cloud's Managed Service for Prometheus (ARMS), whose
 * "HTTP API address" speaks the same API (with a token in a header when authentication is on).
 */

/** One element of an instant vector: its labels and its value. */
export interface Sample {
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

/** Runs one PromQL instant query and gives its result as samples (a scalar is one sample with no labels). */
export type PrometheusQuery = (promql: string) => Promise<Sample[]>;

interface ApiResponse {
    status?: unknown;
    errorType?: unknown;
    error?: unknown;
    data?: { resultType?: unknown; result?: unknown };
}

function sampleValue(v: unknown, promql: string): number {
    if (!Array.isArray(v) || v.length !== 2 || typeof v[1] !== "string") {
        throw new Error(`Prometheus answered ${JSON.stringify(v)} for a value of ${promql}: expected [time, "value"]`);
    }
    // Prometheus writes NaN and ±Inf as "NaN", "+Inf" and "-Inf", which Number() reads as such.
    const n = v[1] === "+Inf" ? Infinity : v[1] === "-Inf" ? -Infinity : Number(v[1]);
    if (Number.isNaN(n) && v[1] !== "NaN") throw new Error(`Prometheus answered the value ${JSON.stringify(v[1])} for ${promql}`);
    return n;
}

/** The samples of the body of a `/api/v1/query` answer; throws with Prometheus's own error when the query failed. */
export function parseQueryResponse(body: string, promql: string): Sample[] {
    let r: ApiResponse;
    try {
        r = JSON.parse(body) as ApiResponse;
    } catch {
        throw new Error(`Prometheus answered something that is not JSON for ${promql}: ${body.slice(0, 200)}`);
    }
    if (r.status !== "success") {
        throw new Error(`Prometheus refused ${promql}: ${String(r.errorType ?? "error")}: ${String(r.error ?? body.slice(0, 200))}`);
    }
    const kind = r.data?.resultType;
    const result = r.data?.result;
    if (kind === "scalar") return [{ labels: {}, value: sampleValue(result, promql) }];
    if (kind !== "vector" || !Array.isArray(result)) {
        throw new Error(`Prometheus answered a ${String(kind)} for ${promql}: the judgements need an instant vector or a scalar`);
    }
    return result.map((e: { metric?: Record<string, string>; value?: unknown }) => ({ labels: e.metric ?? {}, value: sampleValue(e.value, promql) }));
}

/**
 * A PrometheusQuery against the HTTP API at `baseUrl` (what comes before `/api/v1/query`, for example
 * `http://prometheus.monitoring:9090`), sending `headers` with every request (ARMS: its token).
 */
export function prometheusAt(baseUrl: string, headers: Readonly<Record<string, string>> = {}, timeoutMs = 10_000): PrometheusQuery {
    let url: URL;
    try {
        url = new URL(`${baseUrl.replace(/\/+$/, "")}/api/v1/query`);
    } catch {
        throw new Error(`the Prometheus address ${JSON.stringify(baseUrl)} is not a URL: give one like http://prometheus.monitoring:9090`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new Error(`the Prometheus address ${JSON.stringify(baseUrl)} is not http(s)`);
    }
    return async promql => {
        const res = await fetch(url, {
            method: "POST",
            headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
            body: new URLSearchParams({ query: promql }).toString(),
            signal: AbortSignal.timeout(timeoutMs),
        });
        const body = await res.text();
        // Prometheus answers a bad query with 400 and its JSON error: let parseQueryResponse name it.
        if (!res.ok && !body.trimStart().startsWith("{")) {
            throw new Error(`Prometheus at ${url.origin} answered ${res.status} for ${promql}: ${body.slice(0, 200)}`);
        }
        return parseQueryResponse(body, promql);
    };
}
