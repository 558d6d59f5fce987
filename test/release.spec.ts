/**
 * The canary's judgement (release/judge.ts) and its Prometheus client (release/prometheus.ts): the
 * figures a user is shown and the verdict they lead to. The queries themselves run against the local
 * cluster's real Prometheus in `npm run cluster:test`.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { checkThresholds, DEFAULT_THRESHOLDS, describeVerdict, Figures, figureQueries, judge, measure } from "../release/judge";
import { parseQueryResponse, prometheusAt, PrometheusQuery } from "../release/prometheus";

const vector = (...values: Array<[Record<string, string>, string]>) =>
    JSON.stringify({ status: "success", data: { resultType: "vector", result: values.map(([metric, v]) => ({ metric, value: [1765000000.1, v] })) } });

describe("the Prometheus client", () => {
    it("reads an instant vector, a scalar, NaN and +Inf the way Prometheus writes them", () => {
        assert.deepStrictEqual(parseQueryResponse(vector([{ pod: "a" }, "3"], [{ pod: "b" }, "NaN"]), "q").map(s => [s.labels.pod, s.value]), [["a", 3], ["b", NaN]]);
        assert.deepStrictEqual(parseQueryResponse(JSON.stringify({ status: "success", data: { resultType: "scalar", result: [1, "+Inf"] } }), "q"), [{ labels: {}, value: Infinity }]);
    });

    it("names Prometheus's own error when it refuses a query", () => {
        const body = JSON.stringify({ status: "error", errorType: "bad_data", error: "parse error at char 5" });
        assert.throws(() => parseQueryResponse(body, "sum(("), /refused sum\(\(: bad_data: parse error at char 5/);
    });

    it("refuses an answer that is not JSON, a range result and a value that is not a number", () => {
        assert.throws(() => parseQueryResponse("<html>", "up"), /not JSON for up/);
        assert.throws(() => parseQueryResponse(JSON.stringify({ status: "success", data: { resultType: "matrix", result: [] } }), "up[1m]"), /a matrix for up\[1m\]/);
        assert.throws(() => parseQueryResponse(vector([{}, "many"]), "up"), /the value "many" for up/);
    });

    it("refuses an address that is not an http(s) URL before sending anything", () => {
        assert.throws(() => prometheusAt("prometheus:9090 "), /is not a URL|is not http/);
        assert.throws(() => prometheusAt("ftp://prometheus:9090"), /is not http\(s\)/);
    });

    it("posts the query to /api/v1/query with the given headers, and surfaces a 400's error", async () => {
        const seen: Array<{ path?: string; auth?: string; query: string | null }> = [];
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", c => (body += c));
            req.on("end", () => {
                const query = new URLSearchParams(body).get("query");
                seen.push({ path: req.url, auth: req.headers.authorization, query });
                if (query === "bad(") {
                    res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ status: "error", errorType: "bad_data", error: "unexpected end of input" }));
                } else {
                    res.writeHead(200, { "Content-Type": "application/json" }).end(vector([{ job: "pods" }, "1"]));
                }
            });
        });
        await new Promise<void>(r => server.listen(0, "127.0.0.1", r));
        try {
            const q = prometheusAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix/`, { Authorization: "Bearer t" });
            assert.deepStrictEqual(await q('up{job="pods"}'), [{ labels: { job: "pods" }, value: 1 }]);
            await assert.rejects(q("bad("), /refused bad\(: bad_data: unexpected end of input/);
            assert.deepStrictEqual(seen[0], { path: "/prefix/api/v1/query", auth: "Bearer t", query: 'up{job="pods"}' });
        } finally {
            server.close();
        }
    });
});

describe("the canary's judgement", () => {
    const t = DEFAULT_THRESHOLDS;
    const prod: Figures = { requests: 1000, errorRatio: 0.001, p99Ms: 40 };

    it("passes a canary that fails and lags no more than prod", () => {
        const v = judge({ requests: 100, errorRatio: 0, p99Ms: 45 }, prod, t);
        assert.strictEqual(v.outcome, "pass");
        assert.deepStrictEqual(v.reasons, []);
    });

    it("fails a canary whose error ratio is above prod's by more than the allowed increase, and says by how much", () => {
        const v = judge({ requests: 100, errorRatio: 0.05, p99Ms: 40 }, prod, t);
        assert.strictEqual(v.outcome, "fail");
        assert.match(v.reasons.join(), /error ratio 5\.00 % is above 1\.10 % \(prod's 0\.10 % \+ 1\.00 %\)/);
    });

    it("fails a canary whose p99 is above prod's times the ratio, but not one below the latency floor", () => {
        const slow = judge({ requests: 100, errorRatio: 0, p99Ms: 250 }, { ...prod, p99Ms: 120 }, t);
        assert.strictEqual(slow.outcome, "fail");
        assert.match(slow.reasons.join(), /p99 latency 250\.0 ms is above 180\.0 ms/);
        assert.strictEqual(judge({ requests: 100, errorRatio: 0, p99Ms: 90 }, { ...prod, p99Ms: 10 }, t).outcome, "pass");
    });

    it("judges nothing on too few requests: the verdict is inconclusive, with the count", () => {
        const v = judge({ requests: 3, errorRatio: 1, p99Ms: 5000 }, prod, t);
        assert.strictEqual(v.outcome, "inconclusive");
        assert.match(describeVerdict(v), /gray served 3 requests in 30s, fewer than the 20/);
    });

    it("refuses thresholds that cannot judge, naming each", () => {
        assert.throws(() => checkThresholds({ ...t, interval: "30" }), /interval "30" is not a Prometheus duration/);
        assert.throws(() => checkThresholds({ ...t, interval: "0s" }), /interval "0s"/);
        assert.throws(() => checkThresholds({ ...t, maxErrorRatioIncrease: 2, maxLatencyRatio: 0.5, minRequests: 2.5 }),
            /maxErrorRatioIncrease 2 is not a ratio from 0 to 1; maxLatencyRatio 0\.5 is not a number of at least 1; minRequests 2\.5 is not a whole number/);
        assert.strictEqual(checkThresholds({ ...t, interval: "1m30s" }).interval, "1m30s");
    });

    it("asks Prometheus for one namespace's API requests, leaving the health endpoints out", () => {
        const q = figureQueries("sample-app-gray", "1m");
        assert.match(q.requests, /^sum\(increase\(http_requests_total\{namespace="sample-app-gray",route!~"GET \/\(healthz\|readyz\|metrics\)"\}\[1m\]\)\) or vector\(0\)$/);
        assert.match(q.errors, /status=~"5\.\."/);
        assert.match(q.p99, /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(http_request_duration_seconds_bucket\{/);
        assert.throws(() => figureQueries('x"} or up{', "1m"), /is not a namespace name/);
    });

    it("measures figures from the three answers: ratio of failed to all, p99 in milliseconds, none when nothing was served", async () => {
        const answers = (requests: string, errors: string, p99: string): PrometheusQuery => async q =>
            parseQueryResponse(vector([{}, q.includes("histogram_quantile") ? p99 : q.includes('status=~"5..') ? errors : requests]), q);
        assert.deepStrictEqual(await measure(answers("200", "10", "0.25"), "ns", "30s"), { requests: 200, errorRatio: 0.05, p99Ms: 250 });
        assert.deepStrictEqual(await measure(answers("0", "0", "NaN"), "ns", "30s"), { requests: 0, errorRatio: 0, p99Ms: undefined });
    });
});
