/**
 * The production rehearsal: on three nodes in three zones shaped like ACK (`up --nodes 3 --like
 * ack`), prod and gray run as Pulumi.prod.yaml and Pulumi.gray.yaml say, with only what a user
 * changes for a new cluster (scripts/cluster/deploy.ts's stackOverrides), in the README's order: prod,
 * its TLS Secret, gray with a release candidate, prod's share by hand. release.ts then releases through
 * gray (a bad candidate rolled back, the good one promoted), faults.ts drains and loses nodes under
 * load; rehearsalTeardown drains the canary and removes both.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { withinTolerance } from "../../../../test/httproute";
import { deploy, localStack, preview, refresh, registryImages, stackOverrides } from "../../deploy";
import { ACK_HOST, CLUSTER_CA, CLUSTER_DIR, kubectl, kubectlResult, STATE, stackEndpoint } from "../../env";
import { request, target } from "../http";
import { json, K8sList, labelledObjects, Meta, pods, settled } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { GRAY_NS, PROD_NS, quiet, World } from "../world";
import { removeStack } from "./canary";

interface Node { metadata: Meta; status: { addresses: Array<{ type: string; address: string }>; conditions: Array<{ type: string; status: string }> } }

/** The zone of each node, by node name. */
export function zones(): Map<string, string> {
    return new Map(json<K8sList<Node>>(["get", "nodes"]).items.map(n => [n.metadata.name, n.metadata.labels?.["topology.kubernetes.io/zone"] ?? ""]));
}

/** The zones a workload's pods run in. */
export function podZones(ns: string, workload: string): string[] {
    const z = zones();
    return pods(ns, workload).map(p => z.get(p.spec.nodeName ?? "") ?? "?");
}

/** The release candidate gray runs: the app built again as 0.1.1 (a new digest), pushed to the registry. */
export const CANDIDATE = "0.1.1";
export function candidateImages(): Record<string, string> {
    const c = registryImages(CANDIDATE);
    return { imageTag: c.imageTag, apiImageDigest: c.apiImageDigest, webImageDigest: c.webImageDigest };
}

/** prod's config for this run: grayWeight and the images it runs, beyond stackOverrides. */
export const prodConfig: Record<string, string> = {};

/** What the user does after prod's first up (README): `kubectl create secret tls sample-app-tls` with the host's certificate. */
function createTlsSecret(): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-tls-"));
    try {
        const key = path.join(dir, "tls.key");
        const crt = path.join(dir, "tls.crt");
        const ext = path.join(dir, "ext");
        fs.writeFileSync(ext, `subjectAltName=DNS:${ACK_HOST}\nextendedKeyUsage=serverAuth\n`);
        execFileSync("openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-subj", `/CN=${ACK_HOST}`, "-out", path.join(dir, "csr")], { stdio: "pipe" });
        execFileSync("openssl", ["x509", "-req", "-in", path.join(dir, "csr"), "-CA", CLUSTER_CA, "-CAkey", path.join(STATE, "pki", "ca.key"), "-CAcreateserial",
            "-days", "30", "-sha256", "-extfile", ext, "-out", crt], { stdio: "pipe" });
        kubectl(["-n", PROD_NS, "create", "secret", "tls", "sample-app-tls", `--cert=${crt}`, `--key=${key}`]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Which namespace's frontends logged each request carrying `marker`, counted by kind (`p` plain, `h` header). */
function servedBy(marker: string, kind: string): { prod: number; gray: number } {
    const count = (ns: string) => kubectl(["-n", ns, "logs", "-l", "app.kubernetes.io/name=frontend", "--tail=-1", "--prefix=false", "--ignore-errors", "--max-log-requests=20"])
        .split("\n").filter(l => l.includes(`${marker}-${kind}-`)).length;
    return { prod: count(PROD_NS), gray: count(GRAY_NS) };
}

export async function rehearsal(w: World): Promise<void> {
    const prodT = target("prod");
    await phase("the cluster is shaped like ACK", async () => {
        await check("three nodes in three zones of one region, each Ready, each with its own address and pod range and routes to the others' ranges", () => {
            const nodes = json<K8sList<Node>>(["get", "nodes"]).items;
            assert(nodes.length === 3, `${nodes.length} nodes`);
            const z = new Set(nodes.map(n => n.metadata.labels?.["topology.kubernetes.io/zone"]));
            const regions = new Set(nodes.map(n => n.metadata.labels?.["topology.kubernetes.io/region"]));
            assert(z.size === 3 && !z.has(undefined) && regions.size === 1 && !regions.has(undefined), `zones ${[...z].join(", ")}, regions ${[...regions].join(", ")}`);
            for (const [i, n] of nodes.entries()) {
                assert(n.status.conditions.some(c => c.type === "Ready" && c.status === "True"), `${n.metadata.name} not Ready`);
                const routes = execFileSync("ip", ["-n", `sa-node-${i + 1}`, "route"], { encoding: "utf8" });
                const others = [1, 2, 3].filter(j => j !== i + 1);
                assert(others.every(j => new RegExp(`^10\\.78\\.${j}\\.0/24 via 10\\.77\\.0\\.${10 + j} `, "m").test(routes)), `node ${i + 1}'s routes:\n${routes}`);
            }
            line(`       ${nodes.map(n => `${n.metadata.name} ${n.status.addresses.find(a => a.type === "InternalIP")?.address} ${n.metadata.labels?.["topology.kubernetes.io/zone"]}`).join("; ")}`);
        });
        await check("ACK's disk StorageClasses bind when the pod is scheduled, the VolumeSnapshot CRDs are there, GatewayClass alb is accepted and the shared Gateway public-alb serves on the ALB stand-in's address", async () => {
            for (const c of ["alicloud-disk-topology-alltype", "alicloud-disk-essd", "alicloud-disk-ssd", "alicloud-disk-efficiency"]) {
                const sc = json<{ volumeBindingMode: string }>(["get", "storageclass", c]);
                assert(sc.volumeBindingMode === "WaitForFirstConsumer", `${c}: ${sc.volumeBindingMode}`);
            }
            assert(kubectlResult(["get", "crd", "volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotclasses.snapshot.storage.k8s.io"]).status === 0, "no VolumeSnapshot CRDs");
            await waitUntil("GatewayClass alb Accepted", 60, () => json<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(["get", "gatewayclass", "alb"])
                .status?.conditions?.some(c => c.type === "Accepted" && c.status === "True") === true);
            const gw = json<{ status?: { addresses?: Array<{ value: string }> } }>(["-n", "gateway-system", "get", "gateway", "public-alb"]);
            assert(gw.status?.addresses?.some(a => a.value === prodT.address), `public-alb's addresses: ${JSON.stringify(gw.status?.addresses)}`);
        });
        await check("the images prod runs are in the cluster's registry, by the digests the push reported", async () => {
            const images = registryImages();
            for (const [name, digest] of [["sample-app-api", images.apiImageDigest], ["sample-app-web", images.webImageDigest]]) {
                const out = execFileSync("curl", ["-fsS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", CLUSTER_CA,
                    "-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
                    `https://${images.imageRegistry.split("/")[0]}/v2/sample-app/${name}/manifests/${digest}`], { encoding: "utf8" });
                assert(out === "200", `${name}@${digest}: HTTP ${out}`);
            }
            line(`       ${images.imageRegistry}: sample-app-api@${images.apiImageDigest.slice(0, 19)}…, sample-app-web@${images.webImageDigest.slice(0, 19)}…`);
        });
    });

    await phase("prod as Pulumi.prod.yaml says", async () => {
        await check("pulumi up of prod with only what a user changes for this cluster (registry, digests, host, the ALB range): every pod Ready, Redis in Sentinel mode", async () => {
            line(`       overrides: ${JSON.stringify(stackOverrides("prod"))}`);
            w.prod = await deploy("prod", prodConfig, quiet);
            line(`       up took ${w.prod.readySeconds.toFixed(1)}s: ${JSON.stringify(w.prod.changes)}`);
            const s = await waitUntil("the HPAs' minimum of pods, every one Ready", 180, () => settled(PROD_NS), 2000);
            line(`       every pod Ready, the HPAs' minimum reached, ${s.toFixed(0)}s after the up`);
            assert(pods(PROD_NS, "redis").length === 3, "not three Redis pods");
        });
        if (w.prod === undefined) return;
        await check("frontend, API and the three Redis pods are spread over the three zones, each Redis volume made in its pod's zone", () => {
            for (const wl of ["frontend", "user-api", "redis"]) {
                const z = podZones(PROD_NS, wl);
                assert(new Set(z).size === 3, `${wl} runs in zones ${z.join(", ")}`);
            }
            const nodeZones = zones();
            for (const p of pods(PROD_NS, "redis")) {
                const pvc = json<{ spec: { volumeName: string; storageClassName: string } }>(["-n", PROD_NS, "get", "pvc", `data-${p.metadata.name}`]);
                const pv = json<{ spec: { nodeAffinity?: { required?: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ values: string[] }> }> } } } }>(["get", "pv", pvc.spec.volumeName]);
                const volumeNode = pv.spec.nodeAffinity?.required?.nodeSelectorTerms[0].matchExpressions[0].values[0];
                assert(pvc.spec.storageClassName === "alicloud-disk-topology-alltype", `${p.metadata.name}: class ${pvc.spec.storageClassName}`);
                assert(volumeNode === p.spec.nodeName, `${p.metadata.name} runs on ${p.spec.nodeName}, its volume is on ${volumeNode}`);
                line(`       ${p.metadata.name}: ${nodeZones.get(p.spec.nodeName ?? "")}, volume ${pvc.spec.volumeName} on ${volumeNode}`);
            }
        });
        await check("the HPAs keep 3 to 10 replicas, PDBs guard frontend, API and Redis, the pods run the registry's images by digest, and prod made ACK's VolumeSnapshotClass for its backups", () => {
            assert(json<{ driver: string }>(["get", "volumesnapshotclass", "alicloud-disk-snapshot"]).driver === "diskplugin.csi.alibabacloud.com", "VolumeSnapshotClass alicloud-disk-snapshot");
            for (const h of json<K8sList<{ metadata: Meta; spec: { minReplicas: number; maxReplicas: number } }>>(["-n", PROD_NS, "get", "hpa"]).items) {
                assert(h.spec.minReplicas === 3 && h.spec.maxReplicas === 10, `HPA ${h.metadata.name}: ${h.spec.minReplicas}-${h.spec.maxReplicas}`);
            }
            const pdbs = json<K8sList<{ metadata: Meta }>>(["-n", PROD_NS, "get", "pdb"]).items.map(p => p.metadata.name).sort();
            assert(["frontend", "redis", "user-api"].every(n => pdbs.includes(n)), `PDBs: ${pdbs.join(", ")}`);
            const images = registryImages();
            for (const p of pods(PROD_NS)) {
                for (const c of p.spec.containers) {
                    assert(c.image.startsWith(`${images.imageRegistry}/`) && /@sha256:[0-9a-f]{64}$/.test(c.image), `${p.metadata.name}/${c.name} runs ${c.image}`);
                }
            }
        });
        await check("prod's API is found by PodMonitor, as ACK's Managed Service for Prometheus reads it: one PodMonitor that selects exactly the API's pods, on the port that serves /metrics", () => {
            const monitors = json<K8sList<{ metadata: Meta; spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Array<{ port: string; path: string }> } }>>(["-n", PROD_NS, "get", "podmonitors.monitoring.coreos.com"]).items;
            assert(monitors.length === 1 && monitors[0].metadata.name === "user-api", `PodMonitors: ${monitors.map(m => m.metadata.name).join(", ") || "none"}`);
            const selector = Object.entries(monitors[0].spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",");
            const selected = json<K8sList<{ metadata: Meta }>>(["-n", PROD_NS, "get", "pods", "-l", selector]).items.map(p => p.metadata.name).sort();
            const api = pods(PROD_NS, "user-api").map(p => p.metadata.name).sort();
            assert(selected.length > 0 && JSON.stringify(selected) === JSON.stringify(api), `the PodMonitor selects ${selected.join(", ")}; the API's pods are ${api.join(", ")}`);
            const endpoint = monitors[0].spec.podMetricsEndpoints[0];
            const ports = pods(PROD_NS, "user-api")[0].spec.containers.flatMap(c => c.ports ?? []).map(p => p.name);
            assert(endpoint.path === "/metrics" && ports.includes(endpoint.port), `scrapes ${endpoint.port}${endpoint.path}; the pods' ports: ${ports.join(", ")}`);
        });
        await check("prod's namespace and Redis are protected in the state", async () => {
            const state = await (await localStack("prod", prodConfig)).exportStack();
            const resources = (state.deployment as { resources?: Array<{ protect?: boolean; type: string }> }).resources ?? [];
            const protectedOnes = resources.filter(r => r.protect).map(r => r.type);
            assert(protectedOnes.includes("kubernetes:core/v1:Namespace") && protectedOnes.includes("kubernetes:apps/v1:StatefulSet"), `protected: ${protectedOnes.join(", ")}`);
        });
        await check(`with the TLS Secret the README has the user create, ${stackEndpoint("prod").url}/ serves the UI through the ALB stand-in over HTTPS (and HTTP), the API behind it`, async () => {
            createTlsSecret();
            await waitUntil("HTTPS through public-alb", 60, async () => (await request(prodT, "/healthz")).status === 200, 1000);
            const ui = await request(prodT, "/");
            assert(ui.status === 200 && /<html/i.test(ui.body), `GET / -> ${ui.status}`);
            const api = await request(prodT, "/api/users?limit=1");
            assert(api.status === 200, `GET /api/users -> ${api.status} ${api.body.slice(0, 200)}`);
            const plain = await request({ ...prodT, port: 80, tls: false }, "/healthz");
            assert(plain.status === 200, `HTTP: ${plain.status}`);
            line(`       ${stackEndpoint("prod").howToReach}`);
        });
        await check("a preview and a refresh of prod right after find nothing to change", async () => {
            await preview("prod", prodConfig, { ...quiet, expectNoChanges: true });
            await refresh("prod", prodConfig, { ...quiet, expectNoChanges: true });
        });
    });

    await phase("gray, a release candidate, then prod's share", async () => {
        await check(`the candidate ${CANDIDATE} is built and pushed to the registry under a digest of its own`, () => {
            execFileSync("bash", [path.join(CLUSTER_DIR, "cluster.sh"), "images"], { env: { ...process.env, IMAGE_TAG: CANDIDATE }, stdio: ["ignore", "ignore", "inherit"] });
            assert(candidateImages().apiImageDigest !== registryImages().apiImageDigest, "the candidate has prod's digest");
        });
        await check("pulumi up of gray as written (prodStack organization/sample-app/prod) with the candidate: Ready, on prod's Redis, and every request with X-Canary: always reaches it", async () => {
            w.gray = await deploy("gray", candidateImages(), quiet);
            await waitUntil("the HPAs' minimum of gray's pods, every one Ready", 180, () => settled(GRAY_NS), 2000);
            const header = { "X-Canary": "always" };
            await waitUntil("the ALB stand-in routes the canary header", 60, async () => (await request(prodT, "/healthz", { headers: header })).status === 200);
            const email = `gray-${Date.now()}@example.com`;
            const created = await request(prodT, "/api/users", { method: "POST", body: JSON.stringify({ name: "Gray Writer", email }), headers: header });
            assert(created.status === 201, `POST through gray: ${created.status} ${created.body}`);
            const id = (JSON.parse(created.body) as { id: string }).id;
            assert((await request(prodT, `/api/users/${id}`)).status === 200, "a user written through gray is not in prod's Redis");
        });
        await check("with prod's grayWeight 10, gray gets 10 % of plain requests (within 4 sigma) and every header request, counted in the frontends' logs", async () => {
            prodConfig.grayWeight = "10";
            w.prod = await deploy("prod", prodConfig, quiet);
            const marker = `split-${Date.now()}`;
            const plainN = 400;
            const headerN = 100;
            for (let i = 0; i < plainN; i++) assert((await request(prodT, `/?${marker}-p-${i}`)).status === 200, `plain request ${i} failed`);
            for (let i = 0; i < headerN; i++) assert((await request(prodT, `/?${marker}-h-${i}`, { headers: { "X-Canary": "always" } })).status === 200, `header request ${i} failed`);
            await waitUntil("every request in the frontends' access logs", 30, () => {
                const p = servedBy(marker, "p");
                const h = servedBy(marker, "h");
                return p.prod + p.gray >= plainN && h.prod + h.gray >= headerN;
            }).catch(() => undefined);
            const p = servedBy(marker, "p");
            const h = servedBy(marker, "h");
            line(`       plain: ${p.prod} to prod, ${p.gray} to gray (${((100 * p.gray) / plainN).toFixed(1)} %); header: ${h.gray} to gray, ${h.prod} to prod`);
            assert(p.prod + p.gray === plainN && h.prod + h.gray === headerN, "some requests were not logged by either frontend");
            assert(h.prod === 0, `${h.prod} header requests reached prod`);
            assert(withinTolerance(p.gray, plainN, 0.1), `${p.gray} of ${plainN} plain requests reached gray`);
        });
    });
}

/** Drains the canary (weight 0), removes gray, lifts protect and removes prod: nothing of either is left. */
export async function rehearsalTeardown(w: World): Promise<void> {
    await phase("rehearsal teardown", async () => {
        await check("prod's grayWeight back to 0, then gray destroyed: every request stays on prod", async () => {
            prodConfig.grayWeight = "0";
            w.prod = await deploy("prod", prodConfig, quiet);
            await removeStack("gray", candidateImages());
            w.gray = undefined;
            const t = target("prod");
            for (let i = 0; i < 20; i++) {
                assert((await request(t, "/api/users?limit=1")).status === 200, "a plain request failed after the canary was removed");
                assert((await request(t, "/", { headers: { "X-Canary": "always" } })).status === 200, "a header request failed after the canary was removed");
            }
        });
        await check("with protect lifted, pulumi destroy of prod leaves no object with its labels and no volume", async () => {
            w.prod = await deploy("prod", { ...prodConfig, protect: "false" }, quiet);
            kubectlResult(["-n", PROD_NS, "delete", "secret", "sample-app-tls", "--ignore-not-found"]);
            line(`       ${await removeStack("prod", { ...prodConfig, protect: "false" })} volume(s) reclaimed`);
            w.prod = undefined;
            const left = labelledObjects("prod");
            assert(left.length === 0, `left behind: ${left.join(", ")}`);
        });
    });
}
