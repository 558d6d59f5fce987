/**
 * test as Pulumi.test.yaml says, with Redis in Sentinel mode as prod runs it (three pods, a Sentinel
 * in each): its flows under the enforcer, the API's HPA scaling out under load and back in, the
 * primary deleted under write load (a drain and a crash) with no acknowledged write lost, and the
 * PodDisruptionBudget that keeps the Sentinel quorum through a drain.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deploy } from "../../deploy";
import { kubectlResult, REPO_ROOT } from "../../env";
import { checkFlows } from "../flows";
import { describeLoad, load, target } from "../http";
import { allReady, json, K8sList, KUBECTL_ARGS, Meta, pods } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { quiet, READY_BOUND_S, TEST_NS, World } from "../world";

export async function sentinelTest(w: World): Promise<void> {
    await phase("deploy test with Redis in Sentinel mode", async () => {
        await check(`test (Redis in Sentinel mode) deploys and every pod is Ready within ${READY_BOUND_S}s of the apply`, async () => {
            w.test = await deploy("test", { redisMode: "sentinel" }, quiet);
            line(`       up took ${w.test.readySeconds.toFixed(1)}s: ${JSON.stringify(w.test.changes)}`);
            assert(w.test.readySeconds <= READY_BOUND_S, `took ${w.test.readySeconds.toFixed(1)}s`);
        });
    });
    if (w.test === undefined) {
        return;
    }
    await phase("test: network flows under kube-router", async () => {
        await checkFlows("test with Redis in Sentinel mode (three pods, a Sentinel in each)");
    });
    await phase("test: autoscaling", async () => {
        await check("test's API HPA scales out under load and back in when it stops", async () => {
            const hpa = () => json<{ spec: { minReplicas: number; maxReplicas: number }; status: { desiredReplicas?: number; currentMetrics?: unknown[] } }>(["-n", TEST_NS, "get", "hpa", "user-api"]);
            await waitUntil("the HPA reads CPU metrics", 120, () => (hpa().status.currentMetrics ?? []).length > 0, 2000);
            const min = hpa().spec.minReplicas;
            const traffic = load(target("test"), ["/api/users?limit=100"], { workers: 24 });
            let out: number;
            try {
                out = await waitUntil(`more than ${min} API replicas`, 240, () => (hpa().status.desiredReplicas ?? 0) > min, 2000);
            } finally {
                line(`       load: ${describeLoad(await traffic.stop())}`);
            }
            line(`       scaled out to ${hpa().status.desiredReplicas} after ${out.toFixed(0)}s of load`);
            const back = await waitUntil(`back to ${min} replicas`, 300, () => hpa().status.desiredReplicas === min, 3000);
            line(`       back to ${min} ${back.toFixed(0)}s after the load stopped`);
        });
    });
    await phase("test: Redis Sentinel failover", async () => {
        // kubectl of this cluster's version first on PATH, for the script.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-kubectl-"));
        fs.symlinkSync(KUBECTL_ARGS[0], path.join(bin, "kubectl"));
        try {
            for (const mode of ["drain", "crash"]) {
                await check(`deleting the Redis primary under write load (${mode}): the API writes again within 30s and no acknowledged write is lost`, () => {
                    const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts", "redis-failover-check.sh"), TEST_NS, mode, "--", "--kubeconfig", KUBECTL_ARGS[2]], {
                        encoding: "utf8", timeout: 240_000,
                        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOUND_S: "30", PORT: "18190" },
                    });
                    for (const l of `${r.stdout}`.trim().split("\n").filter(Boolean)) line(`       ${l}`);
                    assert(r.status === 0, `failover check failed (exit ${r.status}):\n${r.stderr.trim().split("\n").slice(-15).join("\n")}`);
                });
                await waitUntil("every test pod Ready again", 120, () => allReady(TEST_NS), 2000);
            }
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
        await check("a drain cannot take a second Redis pod while one is away: the PodDisruptionBudget keeps the Sentinel quorum", async () => {
            await waitUntil("every test pod Ready", 120, () => allReady(TEST_NS), 2000);
            const pdb = () => json<K8sList<{ metadata: Meta; status: { disruptionsAllowed?: number } }>>(["-n", TEST_NS, "get", "pdb", "-l", "app.kubernetes.io/name=redis"]).items;
            assert(pdb().length === 1, "no PodDisruptionBudget for Redis");
            await waitUntil("the Redis PDB allows one disruption", 60, () => (pdb()[0].status.disruptionsAllowed ?? 0) >= 1, 1000);
            // What `kubectl drain` does to each pod: the Eviction API, which honours PDBs.
            const evict = (pod: string) => kubectlResult(["create", "--raw", `/api/v1/namespaces/${TEST_NS}/pods/${pod}/eviction`, "-f", "-"],
                JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: TEST_NS } }));
            const first = evict("redis-0");
            assert(first.status === 0, `evicting the first pod was refused: ${first.stderr}`);
            const second = evict("redis-1");
            assert(second.status !== 0 && /disruption budget|TooManyRequests|429/i.test(second.stderr), `a second eviction was not refused: ${second.stderr || "allowed"}`);
            line(`       first eviction allowed, second refused: ${second.stderr.trim().split("\n")[0].slice(0, 140)}`);
            await waitUntil("every test pod Ready again", 180, () => allReady(TEST_NS) && pods(TEST_NS, "redis").length === 3, 2000);
        });
    });
}
