/**
 * test as the canary (gray) of dev, through the Gateway API: dev's HTTPRoute sends its grayWeight of
 * plain requests to test's frontend, every request with the canary header reaches test, test's API
 * uses dev's Redis across namespaces (its flows under the enforcer), and setting the weight back to 0
 * and removing the canary leaves every request on dev. Both are scraped by the cluster's Prometheus, and
 * the judgement of the canary (release/judge.ts) on their real metrics passes a canary of the same build.
 */
import { METRICS_NAMESPACE, namespaceOf } from "../../../../test/flows";
import { DEFAULT_THRESHOLDS, describeVerdict, judge, measure, Verdict } from "../../../../release/judge";
import { withinTolerance } from "../../../../test/httproute";
import { deploy, destroy } from "../../deploy";
import { RELEASE_GRAY_CONFIG } from "../../release";
import { kubectl, kubectlResult } from "../../env";
import { checkFlows } from "../flows";
import { clusterPrometheus } from "../../prometheus";
import { describeLoad, load, request, target } from "../http";
import { json, K8sList } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { DEV_NS, quiet, TEST_NS, World } from "../world";

/** Destroys a deployed stack and waits until its namespace and volumes are gone; returns how many volumes it had. */
export async function removeStack(stack: string, extra: Record<string, string | undefined> = {}): Promise<number> {
    const ns = namespaceOf(stack);
    const ofStack = () => json<K8sList<{ spec: { claimRef?: { namespace: string } } }>>(["get", "pv"]).items.filter(p => p.spec.claimRef?.namespace === ns);
    const volumes = ofStack().length;
    await destroy(stack, extra, quiet);
    await waitUntil(`namespace ${ns} gone`, 180, () => kubectlResult(["get", "namespace", ns]).status !== 0, 2000);
    await waitUntil(`persistent volumes of ${ns} released`, 120, () => ofStack().length === 0, 2000);
    return volumes;
}

export async function canary(w: World): Promise<void> {
    const t = target("dev");
    await phase("canary through the Gateway API: test as gray of dev", async () => {
        if (w.test !== undefined) {
            await check("the test stack can be removed to make room for the canary", async () => {
                await removeStack("test");
                w.test = undefined;
            });
        }
        await check("header requests always reach the canary's pods, and dev's grayWeight (20 %) of plain requests does, within 4 sigma", async () => {
            // prod's (here dev's) own config names the canary and its share; gray (here test) adds a header-only route on dev's Gateway.
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout", grayNamespace: TEST_NS, grayWeight: "20", metricsNamespace: METRICS_NAMESPACE }, quiet);
            // gray's StackReference reads dev's outputs (namespace, host, Redis address and password) from the same backend.
            w.test = await deploy("test", RELEASE_GRAY_CONFIG, quiet);
            assert(w.test.outputs.host === w.dev.outputs.host, `the canary serves ${String(w.test.outputs.host)}, dev ${String(w.dev.outputs.host)}`);
            const marker = `split-${Date.now()}`;
            const header = { "X-Canary": "always" };
            await waitUntil("Traefik routes the canary header", 60, async () => (await request(t, `/?${marker}-warmup`, { headers: header })).status === 200);
            const plainN = 400;
            const headerN = 100;
            for (let i = 0; i < plainN; i++) {
                assert((await request(t, `/?${marker}-p-${i}`)).status === 200, `plain request ${i} failed`);
            }
            for (let i = 0; i < headerN; i++) {
                assert((await request(t, `/?${marker}-h-${i}`, { headers: header })).status === 200, `header request ${i} failed`);
            }
            const served = (ns: string, kind: string) => kubectl(["-n", ns, "logs", "-l", "app.kubernetes.io/name=frontend", "--tail=-1", "--prefix=false", "--ignore-errors"])
                .split("\n").filter(l => l.includes(`${marker}-${kind}-`)).length;
            // nginx may buffer its access log for a moment: wait until both frontends have logged every request.
            await waitUntil("every request in the frontends' access logs", 30,
                () => served(TEST_NS, "p") + served(DEV_NS, "p") >= plainN && served(TEST_NS, "h") + served(DEV_NS, "h") >= headerN).catch(() => undefined);
            const plainGray = served(TEST_NS, "p");
            const plainProd = served(DEV_NS, "p");
            const headerGray = served(TEST_NS, "h");
            const headerProd = served(DEV_NS, "h");
            line(`       plain: ${plainProd} to dev, ${plainGray} to test (${((100 * plainGray) / plainN).toFixed(1)} %, want 20 % ± ${(400 * Math.sqrt(0.2 * 0.8 / plainN)).toFixed(1)} %); header: ${headerGray} to test, ${headerProd} to dev`);
            assert(plainGray + plainProd === plainN && headerGray + headerProd === headerN, "some requests were not logged by either frontend");
            assert(headerProd === 0, `${headerProd} header requests reached dev`);
            assert(withinTolerance(plainGray, plainN, 0.2), `${plainGray} of ${plainN} plain requests reached test`);
        });
        if (w.test !== undefined) {
            await checkFlows("test as the canary (gray) of dev: test's API on dev's Redis across namespaces");
            await check("under API load through dev's route and the canary header, the judgement of test (gray) against dev (prod) on the cluster's Prometheus passes, with both sides' figures", async () => {
                const thresholds = { ...DEFAULT_THRESHOLDS, interval: "1m" };
                // Continuous load, as a release judges under: increase() counts between scrapes, so a series must
                // be scraped before and after the requests it counts (a pod started for the canary has new series).
                const plain = load(t, ["/api/users?limit=1"], { workers: 2 });
                const header = load(t, ["/api/users?limit=1"], { workers: 1, headers: { "X-Canary": "always" } });
                let verdict: Verdict | undefined;
                try {
                    await waitUntil("both sides' requests counted by Prometheus", 90, async () => {
                        const [gray, prod] = await Promise.all([measure(clusterPrometheus, TEST_NS, thresholds.interval), measure(clusterPrometheus, DEV_NS, thresholds.interval)]);
                        verdict = judge(gray, prod, thresholds);
                        return verdict.outcome !== "inconclusive" && prod.requests >= thresholds.minRequests;
                    }, 2000);
                } finally {
                    const [p, h] = await Promise.all([plain.stop(), header.stop()]);
                    line(`       load: plain ${describeLoad(p)}; canary header ${describeLoad(h)}`);
                    if (verdict !== undefined) line(`       ${describeVerdict(verdict).replace(/\n/g, "\n       ")}`);
                    assert(p.failed === 0 && h.failed === 0, `requests failed: ${[...p.errors, ...h.errors].join("; ")}`);
                }
                assert(verdict !== undefined, "no judgement");
                assert(verdict.outcome === "pass", "a canary of the same build is not judged a pass");
            });
        }
        await check("setting dev's grayWeight back to 0 and then removing the canary leaves every request on dev", async () => {
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
            await removeStack("test", RELEASE_GRAY_CONFIG);
            w.test = undefined;
            for (let i = 0; i < 20; i++) {
                assert((await request(t, "/", { headers: { "X-Canary": "always" } })).status === 200, "a header request failed after the canary was removed");
                assert((await request(t, "/api/users?limit=1")).status === 200, "a plain request failed after the canary was removed");
            }
        });
    });
}
