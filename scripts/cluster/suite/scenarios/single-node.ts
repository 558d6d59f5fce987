/**
 * dev as Pulumi.dev.yaml says (the minikube profile, its own Gateway of class traefik), on one node:
 * `pulumi up` from empty, no drift after it, the password only encrypted in the state, Pod Security
 * and the containers' identities, RBAC on the real API server, the app through the gateway and in
 * Chromium, Redis keeping its data when its pod goes, and the dev flows under the enforcer.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { accessMatrix } from "../../../../test/access-matrix";
import { METRICS_NAMESPACE } from "../../../../test/flows";
import { askCanI } from "../../../rbac-checks";
import { deploy, ENGINE_STATE, localStack, preview, refresh } from "../../deploy";
import { kubectl, kubectlResult, REPO_ROOT, stackEndpoint } from "../../env";
import { checkFlows } from "../flows";
import { clusterPrometheus } from "../../prometheus";
import { waitForScrapes } from "../prometheus";
import { request, target } from "../http";
import { allReady, isReady, json, K8sList, KUBECTL_ARGS, liveForApply, Meta, pods } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { DEV_NS, quiet, READY_BOUND_S, World } from "../world";

export async function deployDev(w: World): Promise<void> {
    await phase("deploy dev as Pulumi.dev.yaml says, with pulumi up", async () => {
        await check(`pulumi up of dev (minikube profile, context minikube, its own Gateway of class traefik) ends, every workload ready as the provider waits for it, within ${READY_BOUND_S}s`, async () => {
            w.dev = await deploy("dev", {}, { onOutput: t => process.stdout.write(t.replace(/^/gm, "     ")) });
            line(`       up took ${w.dev.readySeconds.toFixed(1)}s: ${JSON.stringify(w.dev.changes)}`);
            assert(w.dev.readySeconds <= READY_BOUND_S, `took ${w.dev.readySeconds.toFixed(1)}s`);
            assert(allReady(DEV_NS), "pulumi up returned while a pod was not Ready");
            const gw = json<{ spec: { gatewayClassName: string; listeners: Array<{ port: number }> } }>(["-n", DEV_NS, "get", "gateway", "sample-app"]);
            assert(gw.spec.gatewayClassName === "traefik" && gw.spec.listeners.some(l => l.port === 8000), `dev's Gateway: ${JSON.stringify(gw.spec)}`);
        });
    });
}

export async function devDrift(w: World): Promise<void> {
    await phase("dev: no drift after up", async () => {
        await check("pulumi preview right after up plans no change (--expect-no-changes)", async () => {
            const p = await preview("dev", {}, { ...quiet, expectNoChanges: true });
            line(`       ${JSON.stringify(p.changeSummary)}`);
        });
        await check("pulumi refresh reads every object back from the cluster and finds nothing changed (--expect-no-changes)", async () => {
            line(`       ${JSON.stringify(await refresh("dev", {}, { ...quiet, expectNoChanges: true }))}`);
        });
        await check("the state holds the Redis password only encrypted: neither it nor its base64 is in any file of the backend", async () => {
            const password = (await (await localStack("dev")).getConfig("sample-app:redisPassword")).value;
            assert(password.length >= 16, "no Redis password in dev's config");
            const b64 = Buffer.from(password).toString("base64");
            const files = fs.readdirSync(path.join(ENGINE_STATE, "backend"), { recursive: true, withFileTypes: true }).filter(f => f.isFile());
            assert(files.length > 0, "no state file in the backend");
            for (const f of files) {
                const text = fs.readFileSync(path.join(f.parentPath, f.name), "utf8");
                assert(!text.includes(password) && !text.includes(b64), `${f.name} holds the password in plain text`);
            }
            const live = json<{ data: Record<string, string> }>(["-n", DEV_NS, "get", "secret", "redis-auth"]);
            assert(Buffer.from(live.data.password, "base64").toString() === password, "the Secret in the cluster does not hold the configured password");
            line(`       ${files.length} files in the backend, none with the password; the Secret holds it`);
        });
    });
    void w;
}

export async function devSecurity(): Promise<void> {
    await phase("dev: security", async () => {
        await check("dev's namespace enforces Pod Security restricted: a pod without the restricted securityContext is rejected", () => {
            const ns = json<{ metadata: Meta }>(["get", "namespace", DEV_NS]);
            assert(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"] === "restricted", "namespace not labelled enforce=restricted");
            // A plain pod with no securityContext: root allowed, privilege escalation and capabilities not limited.
            const bad = { apiVersion: "v1", kind: "Pod", metadata: { name: "psa-probe", namespace: DEV_NS }, spec: { containers: [{ name: "c", image: "registry.k8s.io/pause:3.10.1" }] } };
            const r = kubectlResult(["create", "--dry-run=server", "-f", "-"], JSON.stringify(bad));
            assert(r.status !== 0, "a pod without the restricted securityContext was admitted");
            assert(/violates PodSecurity "restricted/.test(r.stderr), `rejected for another reason: ${r.stderr}`);
        });
        await check("our pods run under it: non-root as UID and GID >= 10000, read-only root filesystem, all Ready", () => {
            assert(allReady(DEV_NS), "not every pod is Ready");
            interface Ids { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean }
            for (const p of json<K8sList<{ metadata: Meta; spec: { securityContext?: Ids; containers: Array<{ name: string; securityContext?: Ids }> } }>>(["-n", DEV_NS, "get", "pods"]).items) {
                assert(p.spec.securityContext?.runAsNonRoot === true, `${p.metadata.name}: runAsNonRoot not set`);
                for (const c of p.spec.containers) {
                    assert(c.securityContext?.readOnlyRootFilesystem === true, `${p.metadata.name}/${c.name}: root filesystem writable`);
                    const uid = c.securityContext?.runAsUser ?? p.spec.securityContext?.runAsUser;
                    const gid = c.securityContext?.runAsGroup ?? p.spec.securityContext?.runAsGroup;
                    assert((uid ?? 0) >= 10000 && (gid ?? 0) >= 10000, `${p.metadata.name}/${c.name}: runs as ${uid}:${gid}`);
                }
                // What the container really runs as, where the image has a shell (the distroless API has none).
                const r = kubectlResult(["-n", DEV_NS, "exec", p.metadata.name, "-c", p.spec.containers[0].name, "--", "sh", "-c", "echo $(id -u) $(id -g)"]);
                if (!/executable file not found/.test(r.stderr)) {
                    const [u, g] = r.stdout.trim().split(" ").map(Number);
                    assert(r.status === 0 && u >= 10000 && g >= 10000, `${p.metadata.name}: uid/gid ${r.stdout.trim()} ${r.stderr.trim()}`);
                }
            }
        });
    });
}

export async function devRbac(): Promise<void> {
    await phase("dev: RBAC on the real API server", async () => {
        await check("every identity dev binds can do exactly what the access matrix designs (kubectl auth can-i)", () => {
            const checks = accessMatrix("dev");
            const wrong = askCanI(checks, KUBECTL_ARGS);
            line(`       ${checks.length - wrong.length} of ${checks.length} answers as designed`);
            assert(wrong.length === 0, wrong.join("\n"));
        });
        await check("the deploy workflow's identity can server-side apply the program's Secret by name, but not a NetworkPolicy", () => {
            const as = ["--as=system:serviceaccount:sample-app-dev:sample-app-deploy"];
            const secret = liveForApply(DEV_NS, "secret", "redis-auth");
            // A server-side dry run is authorized like the real request and leaves the object as Pulumi owns it.
            kubectl([...as, "apply", "--server-side", "--dry-run=server", "--field-manager=sample-app-deploy-check", "--force-conflicts", "-f", "-"], JSON.stringify(secret));
            const policy = liveForApply(DEV_NS, "networkpolicy", "sample-app-default-deny");
            const r = kubectlResult([...as, "apply", "--server-side", "--dry-run=server", "--field-manager=sample-app-deploy-check", "-f", "-"], JSON.stringify(policy));
            assert(r.status !== 0 && /forbidden/i.test(r.stderr), `a NetworkPolicy apply as the deployer: ${r.stderr || "allowed"}`);
        });
    });
}

export async function devApp(): Promise<void> {
    const dev = stackEndpoint("dev");
    const t = target(dev);
    await phase("dev: the app through the gateway", async () => {
        await check(`${dev.url}/ serves the UI through Traefik and /api reaches the API (${dev.howToReach})`, async () => {
            const ui = await request(t, "/");
            assert(ui.status === 200 && /<html/i.test(ui.body), `GET / -> ${ui.status}`);
            const api = await request(t, "/api/users?limit=1");
            assert(api.status === 200, `GET /api/users -> ${api.status} ${api.body.slice(0, 200)}`);
        });
        await check("the e2e checks (npm run e2e) pass in Chromium against the deployed dev stack", async () => {
            // The e2e's "API down" check stops the API the way an outage would: no API pod at all.
            const k = KUBECTL_ARGS.map(a => `'${a}'`).join(" ");
            const stopApi = `${k} -n ${DEV_NS} scale deployment/user-api --replicas=0 && ${k} -n ${DEV_NS} wait --for=delete pod -l app.kubernetes.io/name=user-api --timeout=90s`;
            const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "e2e", "run.mjs")], {
                env: { ...process.env, E2E_BASE_URL: dev.url, E2E_CONNECT_TO: dev.connect.address, E2E_STOP_API: stopApi }, encoding: "utf8", timeout: 300_000,
            });
            kubectl(["-n", DEV_NS, "scale", "deployment/user-api", "--replicas=1"]);
            // Back when a user would say so: a request through the gateway reaches the API again.
            await waitUntil("the API answers through the gateway again", 120, async () => (await request(t, "/api/users?limit=1")).status === 200);
            const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-25).join("\n");
            assert(r.status === 0, `e2e failed:\n${tail}`);
            line(`       ${tail.split("\n").filter(l => /^\d+ passed, \d+ failed$|^e2e took/.test(l)).join("; ")}`);
        });
    });
    await phase("dev: Redis keeps its data when its pod is deleted", async () => {
        await check("a user written through the API is still there after the Redis pod is deleted and comes back", async () => {
            const email = `persist-${Date.now()}@example.com`;
            const created = await request(t, "/api/users", { method: "POST", body: JSON.stringify({ name: "Persistent Pat", email }) });
            assert(created.status === 201, `create -> ${created.status} ${created.body}`);
            const id = (JSON.parse(created.body) as { id: string }).id;
            const before = pods(DEV_NS, "redis")[0];
            kubectl(["-n", DEV_NS, "delete", "pod", before.metadata.name, "--wait=true"]);
            const s = await waitUntil("redis pod Ready again", 120, () => {
                const p = pods(DEV_NS, "redis")[0];
                return p !== undefined && p.metadata.uid !== before.metadata.uid && isReady(p);
            });
            line(`       redis pod back and Ready in ${s.toFixed(1)}s`);
            await waitUntil("the API reads from the new Redis pod", 60, async () => (await request(t, `/api/users/${id}`)).status === 200);
            const got = await request(t, `/api/users/${id}`);
            assert((JSON.parse(got.body) as { email: string }).email === email, `got ${got.body}`);
        });
    });
}

/** A namespace no Prometheus runs in. */
const ELSEWHERE = "metrics-elsewhere";

export async function devFlows(w: World): Promise<void> {
    await phase("dev: network flows under kube-router, and the cluster's Prometheus scraping through them", async () => {
        const apiPods = () => pods(DEV_NS, "user-api").filter(isReady).map(p => p.metadata.name);
        // The pods carry the prometheus.io annotations whenever a metricsNamespace is set; the NetworkPolicy admits that namespace alone.
        await check(`with metricsNamespace=${ELSEWHERE} Prometheus in ${METRICS_NAMESPACE} finds dev's annotated API pods and every scrape fails`, async () => {
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout", metricsNamespace: ELSEWHERE }, quiet);
            const s = await waitForScrapes(DEV_NS, "user-api", apiPods(), 0);
            line(`       every scrape of ${apiPods().join(", ")} failed (up 0), seen ${s.toFixed(1)}s after the up`);
        });
        // The table's dev scenario admits a metrics namespace to the API's /metrics.
        await check(`dev with metricsNamespace=${METRICS_NAMESPACE} deploys`, async () => {
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout", metricsNamespace: METRICS_NAMESPACE }, quiet);
        });
        await checkFlows("dev alone (one Redis pod), with a metrics namespace");
        await check(`with metricsNamespace=${METRICS_NAMESPACE} Prometheus scrapes every API pod of dev, and the gateway counts dev's requests by service`, async () => {
            const s = await waitForScrapes(DEV_NS, "user-api", apiPods(), 1);
            const t = target("dev");
            for (let i = 0; i < 10; i++) assert((await request(t, "/api/users?limit=1")).status === 200, "a request through the gateway failed");
            const served = async () => (await clusterPrometheus(`sum(http_requests_total{namespace="${DEV_NS}",route="GET /api/users"})`))[0]?.value ?? 0;
            const byGateway = async () => (await clusterPrometheus(`sum by (service) (traefik_service_requests_total{service=~".*${DEV_NS}.*"})`));
            await waitUntil("the API's own count and the gateway's per-service count of dev's requests in Prometheus", 30,
                async () => (await served()) >= 10 && (await byGateway()).length > 0);
            line(`       API pods scraped (up 1) ${s.toFixed(1)}s after; GET /api/users served: ${await served()}; gateway services: ${(await byGateway()).map(x => `${x.labels.service} ${x.value}`).join(", ")}`);
        });
    });
}
