/**
 * The canary's judgement (release/judge.ts) and its Prometheus client (release/prometheus.ts): the
 * figures a user is shown and the verdict they lead to. The queries themselves run against the local
 * cluster's real Prometheus in `npm run cluster:test`.
 */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { checkThresholds, DEFAULT_THRESHOLDS, describeVerdict, Figures, figureQueries, judge, measure, Verdict } from "../release/judge";
import { parseQueryResponse, prometheusAt, PrometheusQuery } from "../release/prometheus";
import { checkSchedule, DEFAULT_SCHEDULE, Deployed, Images, release, ReleaseEffects, sameImages } from "../release/stepper";
import { releaseConfig } from "../release/config";
import { parseReleaseArgs } from "../release/main";
import { deployedFrom, durationMs, missingConfig, waitForCanary } from "../release/stacks";
import * as yaml from "js-yaml";
import { podMonitorManifest } from "../components/podMonitor";
import { PodMonitor, podMonitorJobs, withPodMonitorJobs } from "../scripts/cluster/prometheus";

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

describe("the release through gray", () => {
    const old: Images = { imageTag: "0.1.0" };
    const candidate: Images = { imageTag: "0.2.0", apiImageDigest: `sha256:${"a".repeat(64)}` };
    const figures = (errorRatio: number): Figures => ({ requests: 100, errorRatio, p99Ms: 10 });

    /** Two stacks as the engine would hold them, and a judge that fails a candidate named "bad". */
    class Stacks implements ReleaseEffects {
        ups: string[] = [];
        lines: string[] = [];
        judgements = 0;
        constructor(public prod: Images, public gray: Images | undefined, public weight: number,
            readonly verdictOf: (gray: Images | undefined, weight: number) => Verdict["outcome"] = g => (g?.imageTag === "bad" ? "fail" : "pass"),
            readonly failUp?: (images: Images, weight: number) => boolean) {}
        async deployed(): Promise<Deployed> { return { prod: this.prod, gray: this.gray, weight: this.weight }; }
        async deployGray(images: Images): Promise<void> { this.ups.push(`gray ${images.imageTag}`); this.gray = images; }
        async tryCanary(): Promise<void> { assert.ok(this.gray, "the canary is tried before gray is deployed"); }
        async updateProd(images: Images, weight: number): Promise<void> {
            this.ups.push(`prod ${images.imageTag} ${weight}`);
            if (this.failUp?.(images, weight)) throw new Error("pulumi up failed: the cluster went away");
            this.prod = images;
            this.weight = weight;
        }
        async judge(): Promise<Verdict> {
            this.judgements++;
            const outcome = this.verdictOf(this.gray, this.weight);
            return { outcome, gray: figures(outcome === "fail" ? 0.2 : 0), prod: figures(0), reasons: outcome === "pass" ? [] : ["error ratio 20.00 % is above 1.00 %"] };
        }
        log(line: string): void { this.lines.push(line); }
    }

    it("deploys a good candidate to gray, steps prod's weight 5, 25, 50 with a judgement at each, promotes it and ends at weight 0", async () => {
        const s = new Stacks(old, old, 0);
        const r = await release(candidate, DEFAULT_SCHEDULE, s);
        assert.strictEqual(r.outcome, "promoted");
        assert.deepStrictEqual(s.ups, ["gray 0.2.0", "prod 0.1.0 5", "prod 0.1.0 25", "prod 0.1.0 50", "prod 0.2.0 50", "prod 0.2.0 0"]);
        assert.strictEqual(s.judgements, 3);
        assert.ok(sameImages(s.prod, candidate) && s.weight === 0);
    });

    it("rolls a bad candidate back at its first judgement: the weight goes to 0 at once and the result carries the failed figures", async () => {
        const s = new Stacks(old, old, 0);
        const r = await release({ imageTag: "bad" }, DEFAULT_SCHEDULE, s);
        assert.strictEqual(r.outcome, "rolled back");
        assert.ok(r.outcome === "rolled back" && r.weight === 5 && r.verdict.gray.errorRatio === 0.2);
        assert.deepStrictEqual(s.ups, ["gray bad", "prod 0.1.0 5", "prod 0.1.0 0"]);
        assert.ok(sameImages(s.prod, old) && s.weight === 0);
        assert.ok(s.lines.some(l => /judgement at 5 %: fail: .*\n {2}.*error ratio 20\.00 %/.test(l)), s.lines.join("\n"));
    });

    it("fails a step whose judgements find too little traffic the schedule's number of times in a row", async () => {
        const s = new Stacks(old, old, 0, () => "inconclusive");
        const r = await release(candidate, { weights: [5, 25], maxInconclusive: 2 }, s);
        assert.ok(r.outcome === "rolled back" && r.weight === 5 && /2 judgements in a row found too little traffic/.test(r.verdict.reasons.join()));
        assert.strictEqual(s.judgements, 2);
        assert.strictEqual(s.weight, 0);
    });

    it("takes up a release that was stopped at weight 25 on the candidate: judges it there first, then goes on from 50", async () => {
        const s = new Stacks(old, candidate, 25);
        const r = await release(candidate, DEFAULT_SCHEDULE, s);
        assert.strictEqual(r.outcome, "promoted");
        assert.deepStrictEqual(s.ups, ["prod 0.1.0 50", "prod 0.2.0 50", "prod 0.2.0 0"]);
        assert.strictEqual(s.judgements, 2);
        assert.ok(s.lines.some(l => l.startsWith("resuming: prod already sends 25 %")));
    });

    it("takes a stopped release of a candidate that fails its judgement back to weight 0 without stepping on", async () => {
        const bad: Images = { imageTag: "bad" };
        const s = new Stacks(old, bad, 25);
        const r = await release(bad, DEFAULT_SCHEDULE, s);
        assert.ok(r.outcome === "rolled back" && r.weight === 25);
        assert.deepStrictEqual(s.ups, ["prod 0.1.0 0"]);
    });

    it("sets a weight left on another candidate to 0 before it deploys the new one", async () => {
        const s = new Stacks(old, { imageTag: "0.1.9" }, 25);
        await release(candidate, DEFAULT_SCHEDULE, s);
        assert.deepStrictEqual(s.ups.slice(0, 2), ["prod 0.1.0 0", "gray 0.2.0"]);
    });

    it("does not release a candidate prod already runs, and sets a weight left over to 0", async () => {
        const s = new Stacks(candidate, candidate, 50);
        const r = await release(candidate, DEFAULT_SCHEDULE, s);
        assert.strictEqual(r.outcome, "promoted");
        assert.deepStrictEqual(s.ups, ["prod 0.2.0 0"]);
    });

    it("sets the weight back to 0 when a pulumi up fails mid-schedule, and fails with that up's error", async () => {
        const s = new Stacks(old, old, 0, undefined, (_i, w) => w === 25);
        await assert.rejects(release(candidate, DEFAULT_SCHEDULE, s), /pulumi up failed/);
        assert.deepStrictEqual(s.ups, ["gray 0.2.0", "prod 0.1.0 5", "prod 0.1.0 25", "prod 0.1.0 0"]);
        assert.strictEqual(s.weight, 0);
    });

    it("refuses a schedule that does not rise or leaves 1–100, naming each weight", () => {
        assert.throws(() => checkSchedule({ weights: [5, 5, 120], maxInconclusive: 0 }),
            /weight 5 does not rise above 5; weight 120 is not a whole percent from 1 to 100; maxInconclusive 0/);
        assert.throws(() => checkSchedule({ weights: [], maxInconclusive: 1 }), /weights is empty/);
    });
});

describe("the release's settings and command line", () => {
    it("takes prod's release:* settings with their defaults, weights as a list or a comma-separated string", () => {
        const c = releaseConfig({ "sample-app:imageTag": "0.1.0", "release:weights": "10, 50", "release:interval": "1m", "release:minRequests": 50, "release:prometheusUrl": "http://prometheus.monitoring:9090" });
        assert.deepStrictEqual(c.schedule, { weights: [10, 50], maxInconclusive: 3 });
        assert.deepStrictEqual(c.thresholds, { ...DEFAULT_THRESHOLDS, interval: "1m", minRequests: 50 });
        assert.strictEqual(c.prometheusUrl, "http://prometheus.monitoring:9090");
        assert.deepStrictEqual(releaseConfig({ "release:weights": [5, 25, 50] }).schedule.weights, [5, 25, 50]);
        assert.strictEqual(releaseConfig({}).prometheusUrl, undefined);
    });

    it("refuses a misspelt release key, a value that is not a number and a schedule that cannot run, naming them", () => {
        assert.throws(() => releaseConfig({ "release:weight": [5] }), /release:weight is not a release setting: use one of release:weights,/);
        assert.throws(() => releaseConfig({ "release:maxLatencyRatio": "fast" }), /release:maxLatencyRatio is "fast", not a number/);
        assert.throws(() => releaseConfig({ "release:weights": "50,25" }), /weight 25 does not rise above 50/);
        assert.throws(() => releaseConfig({ "release:interval": "soon" }), /interval "soon" is not a Prometheus duration/);
        assert.throws(() => releaseConfig({ "release:prometheusUrl": { secure: "x" } }), /is secret or structured/);
    });

    it("reads the candidate, its digests and the stacks from the command line, refusing what no release can use", () => {
        const digest = `sha256:${"0".repeat(64)}`;
        assert.deepStrictEqual(parseReleaseArgs(["--candidate", "0.2.0", `--api-digest=${digest}`]),
            { candidate: { imageTag: "0.2.0", apiImageDigest: digest }, prod: "prod", gray: "gray", prometheus: undefined });
        assert.throws(() => parseReleaseArgs([]), /--candidate is required/);
        assert.throws(() => parseReleaseArgs(["--candidate", "latest"]), /never latest/);
        assert.throws(() => parseReleaseArgs(["--candidate", "0.2.0", "--web-digest", "sha256:abc"]), /--web-digest "sha256:abc" is not a digest/);
        assert.throws(() => parseReleaseArgs(["--candidate", "0.2.0", "--prod", "staging"]), /stack "staging" has no Pulumi.staging.yaml/);
        assert.throws(() => parseReleaseArgs(["--candidate", "0.2.0", "--prod", "gray"]), /both gray/);
        assert.throws(() => parseReleaseArgs(["--candidate", "0.2.0", "--dry-run"]), /unknown argument "--dry-run"/);
        assert.throws(() => parseReleaseArgs(["--candidate"]), /--candidate needs a value/);
        assert.deepStrictEqual(parseReleaseArgs(["--candidate", "1.0.0", "--policy-pack", "policy", "--policy-pack-config", "policy/config/ack.json"]).policyPack,
            { dir: "policy", config: "policy/config/ack.json" });
        assert.throws(() => parseReleaseArgs(["--candidate", "1.0.0", "--policy-pack-config", "policy/config/ack.json"]), /needs --policy-pack/);
        assert.throws(() => parseReleaseArgs(["--candidate", "1.0.0", "--policy-pack", "nope/"]), /--policy-pack "nope\/" does not exist/);
    });

    it("reads what a stack runs from its last update's config, Pulumi.yaml's tag when the update set none", () => {
        const config = (c: Record<string, string>) => ({ config: Object.fromEntries(Object.entries(c).map(([k, value]) => [k, { value, secret: false }])) });
        assert.deepStrictEqual(deployedFrom(config({ "sample-app:imageTag": "0.2.0", "sample-app:grayWeight": "25", "sample-app:apiImageDigest": "" }), { imageTag: "0.1.0" }),
            { images: { imageTag: "0.2.0" }, weight: 25 });
        assert.deepStrictEqual(deployedFrom(config({}), { imageTag: "0.1.0" }), { images: { imageTag: "0.1.0" }, weight: 0 });
    });

    it("names the config a release needs that prod's last update ran without, as the key=value to deploy it with", () => {
        const ran = { config: { "sample-app:grayNamespace": { value: "sample-app-test", secret: false }, "sample-app:imageTag": { value: "0.1.0", secret: false } } };
        assert.deepStrictEqual(missingConfig(ran, { grayNamespace: "sample-app-test" }), []);
        assert.deepStrictEqual(missingConfig(ran, { grayNamespace: "sample-app-test", metricsNamespace: "monitoring" }), ["metricsNamespace=monitoring"]);
        assert.deepStrictEqual(missingConfig(ran, { grayNamespace: "sample-app-gray", host: undefined }), ["grayNamespace=sample-app-gray"]);
        assert.deepStrictEqual(missingConfig(ran, {}), []);
    });

    it("waits out a Prometheus duration, and waits for the canary route until it answers 200", async () => {
        assert.strictEqual(durationMs("1m30s"), 90_000);
        assert.strictEqual(durationMs("250ms"), 250);
        const answers = [404, 503, 200];
        await waitForCanary(async () => answers.shift() ?? 0, "canary", 60, async () => undefined);
        assert.strictEqual(answers.length, 0);
        await assert.rejects(waitForCanary(async () => 502, "GET / with X-Canary", 0, async () => undefined), /GET \/ with X-Canary: not answered 200 within 0 s \(last: HTTP 502\)/);
    });
});

describe("the rehearsal's ARMS stand-in: a scrape job for each PodMonitor", () => {
    const labels = { "app.kubernetes.io/name": "user-api", "app.kubernetes.io/instance": "prod" };
    const manifest = podMonitorManifest({ name: "user-api", namespace: "sample-app-prod", labels, selector: labels, port: "http", path: "/metrics" }, { interval: "15s" });
    const monitor = { metadata: { name: "user-api", namespace: "sample-app-prod" }, spec: manifest.spec } as PodMonitor;

    it("scrapes the pods the component's PodMonitor selects, in its namespace, on its named port and path, labelled as the Prometheus Operator labels them", () => {
        const [job, ...more] = podMonitorJobs([monitor]);
        assert.strictEqual(more.length, 0);
        assert.strictEqual(job.job_name, "podMonitor/sample-app-prod/user-api/0");
        assert.deepStrictEqual(job.kubernetes_sd_configs, [{ role: "pod", namespaces: { names: ["sample-app-prod"] } }]);
        assert.strictEqual(job.metrics_path, "/metrics");
        assert.strictEqual(job.scrape_interval, "15s");
        const relabel = job.relabel_configs as Array<Record<string, unknown>>;
        // Every selector label must be present and equal: a pod without it, or with another value, is dropped.
        assert.deepStrictEqual(relabel.filter(r => r.action === "keep").map(r => [r.source_labels, r.regex]), [
            [["__meta_kubernetes_pod_label_app_kubernetes_io_instance", "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_instance"], "(prod);true"],
            [["__meta_kubernetes_pod_label_app_kubernetes_io_name", "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"], "(user-api);true"],
            [["__meta_kubernetes_pod_container_port_name"], "http"],
        ]);
        const targets = Object.fromEntries(relabel.filter(r => r.target_label !== undefined).map(r => [r.target_label, r.replacement ?? (r.source_labels as string[])[0]]));
        assert.deepStrictEqual(targets, {
            namespace: "__meta_kubernetes_namespace", pod: "__meta_kubernetes_pod_name", container: "__meta_kubernetes_pod_container_name",
            app: "__meta_kubernetes_pod_label_app_kubernetes_io_name", job: "sample-app-prod/user-api", endpoint: "http",
        });
    });

    it("quotes a label value's regex characters, so a dot matches only a dot", () => {
        const m = { ...monitor, spec: { ...monitor.spec, selector: { matchLabels: { version: "1.2" } } } };
        const keep = (podMonitorJobs([m])[0].relabel_configs as Array<Record<string, unknown>>)[0];
        assert.strictEqual(keep.regex, "(1\\.2);true");
    });

    it("refuses what it does not read, naming the PodMonitor: match expressions, another namespace, an endpoint without a port", () => {
        assert.throws(() => podMonitorJobs([{ ...monitor, spec: { ...monitor.spec, selector: { matchExpressions: [{ key: "a", operator: "Exists" }] } } }]), /PodMonitor sample-app-prod\/user-api: selector.matchExpressions/);
        assert.throws(() => podMonitorJobs([{ ...monitor, spec: { ...monitor.spec, namespaceSelector: { any: true } } }]), /namespaceSelector is not read here/);
        assert.throws(() => podMonitorJobs([{ ...monitor, spec: { ...monitor.spec, podMetricsEndpoints: [{ path: "/metrics" }] } }]), /podMetricsEndpoints\[0\] names no port/);
    });

    it("replaces the PodMonitor jobs of an earlier sync and keeps every other job and setting", () => {
        const config = yaml.dump({ global: { scrape_interval: "5s" }, scrape_configs: [{ job_name: "pods" }, { job_name: "podMonitor/gone/x/0" }] });
        const out = yaml.load(withPodMonitorJobs(config, podMonitorJobs([monitor]))) as { global: unknown; scrape_configs: Array<{ job_name: string }> };
        assert.deepStrictEqual(out.global, { scrape_interval: "5s" });
        assert.deepStrictEqual(out.scrape_configs.map(j => j.job_name), ["pods", "podMonitor/sample-app-prod/user-api/0"]);
    });
});
