/**
 * Releases through gray (`npm run cluster -- release`: dev as prod, test as its canary), each under
 * continuous load through dev's route, judged on the cluster's Prometheus:
 *
 * - a good candidate (the same build under a new tag) is stepped 5, 25, 50 %, promoted and the weight
 *   set back to 0, with no failed request;
 * - a bad candidate, built here from a patched copy of app/api whose GET /api/users fails one request
 *   in three (nothing in the product carries a fault switch), is rolled back at its first judgement:
 *   users see errors only in gray's share and only until then, and the count is printed against the
 *   bound the schedule sets;
 * - a release killed in the middle of a step is taken up by the next start, which promotes the
 *   candidate with no failed request.
 */
import { ChildProcess, execFile, spawn } from "child_process";
import { promisify } from "util";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeVerdict } from "../../../../release/judge";
import { ReleaseResult } from "../../../../release/stepper";
import { deploy } from "../../deploy";
import { clusterShape, CLUSTER_DIR, kubectl, nodeName, REPO_ROOT, RUN_DIR } from "../../env";
import { localRelease, localReleaseSettings, RELEASE_PROD_CONFIG, RELEASE_GRAY_CONFIG } from "../../release";
import { describeLoad, load, LoadReport, target } from "../http";
import { json } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { removeStack } from "./canary";
import { tagAppImages } from "./updates";
import { DEV_NS, quiet, World } from "../world";

const run = promisify(execFile);
const bud = (...args: string[]) => run("buildah", ["--storage-driver", "vfs", ...args], { maxBuffer: 16 << 20 });

/** The socket of each node's containerd. */
function nodeSockets(): string[] {
    const shape = clusterShape();
    return Array.from({ length: shape.nodes }, (_, i) => path.join(RUN_DIR, "nodes", nodeName(i + 1, shape.nodes), "containerd.sock"));
}

/**
 * docker.io/sample-app/api:TAG built from a copy of app/api whose GET /api/users answers 500 to one
 * request in three (inside the API's instrumentation, so its metrics count them), and web:TAG as
 * 0.1.0's, in every node's containerd.
 */
export async function buildFaultyCandidate(tag: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-faulty-api-"));
    try {
        fs.cpSync(path.join(REPO_ROOT, "app", "api"), dir, { recursive: true });
        const users = path.join(dir, "internal", "httpapi", "users.go");
        const anchor = "func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {\n";
        const src = fs.readFileSync(users, "utf8");
        assert(src.includes(anchor), "app/api's listUsers is not where the patch expects it");
        fs.writeFileSync(users, src.replace(anchor, `${anchor}\tif injectedFault(w) {\n\t\treturn nil\n\t}\n`));
        fs.writeFileSync(path.join(dir, "internal", "httpapi", "zz_fault.go"), [
            "package httpapi", "", 'import (\n\t"net/http"\n\t"sync/atomic"\n)', "",
            "var injected atomic.Int64", "",
            "// injectedFault answers 500 to every third call: the release test's bad candidate.",
            "func injectedFault(w http.ResponseWriter) bool {",
            "\tif injected.Add(1)%3 != 0 {\n\t\treturn false\n\t}",
            '\twriteJSON(w, http.StatusInternalServerError, &apiError{Message: "injected fault"})',
            "\treturn true", "}", "",
        ].join("\n"));
        const image = `docker.io/sample-app/api:${tag}`;
        await bud("bud", "--quiet", "--pull=never", "--isolation", "chroot", "--network", "host", "--layers", "-t", image, dir);
        const tar = path.join(dir, "image.tar");
        await bud("push", "--quiet", image, `docker-archive:${tar}:${image}`);
        for (const sock of nodeSockets()) {
            await run("ctr", ["--address", sock, "-n", "k8s.io", "images", "import", tar]);
            await run("ctr", ["--address", sock, "-n", "k8s.io", "images", "tag", "--force", "docker.io/sample-app/web:0.1.0", `docker.io/sample-app/web:${tag}`]);
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The image tag every API pod of dev runs. */
function devApiTags(): string[] {
    const d = json<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(["-n", DEV_NS, "get", "deployment", "user-api"]);
    return d.spec.template.spec.containers.map(c => c.image.split(":").pop() ?? "");
}

/** The weights dev's HTTPRoute gives its backends, by namespace. */
function routeWeights(): string {
    const r = json<{ spec: { rules: Array<{ backendRefs?: Array<{ namespace?: string; weight?: number }> }> } }>(["-n", DEV_NS, "get", "httproute", "sample-app"]);
    return [...new Set(r.spec.rules.flatMap(x => x.backendRefs ?? []).map(b => `${b.namespace ?? DEV_NS} ${b.weight ?? 1}`))].join(", ");
}

/** Runs a release under plain load through dev's route; prints each step, the judgements and the load. */
async function releaseUnderLoad(tag: string): Promise<{ result: ReleaseResult; load: LoadReport; startedAt: number; firstWeightAt: number; endedAt: number }> {
    const users = load(target("dev"), ["/api/users?limit=1"], { workers: 3 });
    const startedAt = Date.now();
    let firstWeightAt = 0;
    let report: LoadReport | undefined;
    try {
        const result = await localRelease({ imageTag: tag }, l => {
            line(`       ${l.replace(/\n/g, "\n       ")}`);
            if (firstWeightAt === 0 && /^weight [1-9]/.test(l)) firstWeightAt = Date.now();
        });
        const endedAt = Date.now();
        report = await users.stop();
        return { result, load: report, startedAt, firstWeightAt, endedAt };
    } finally {
        report ??= await users.stop();
        line(`       users: ${describeLoad(report)}`);
    }
}

export async function releases(w: World): Promise<void> {
    await phase("releases through gray under load, judged on the cluster's Prometheus (npm run cluster -- release)", async () => {
        const settings = localReleaseSettings();
        await check(`dev runs as prod of a release: its route may send test a share, scraped from ${RELEASE_PROD_CONFIG.metricsNamespace}`, async () => {
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout", ...RELEASE_PROD_CONFIG }, quiet);
        });
        // The bad candidate's image builds meanwhile (a minute of compiling, mostly while the good release waits).
        const faulty = buildFaultyCandidate("0.2.0-bad");
        faulty.catch(() => undefined);
        await check(`a good candidate is stepped through ${settings.schedule.weights.join(", ")} %, judged at each step, promoted, and the weight goes back to 0, with no failed request`, async () => {
            tagAppImages("0.2.0-good");
            const r = await releaseUnderLoad("0.2.0-good");
            assert(r.result.outcome === "promoted", `the good candidate was ${r.result.outcome}`);
            assert(r.result.verdicts.filter(v => v.outcome === "pass").length >= settings.schedule.weights.length, "fewer passing judgements than steps");
            assert(r.load.failed === 0, `users saw failures: ${r.load.errors.join("; ")}`);
            assert(devApiTags().every(t => t === "0.2.0-good"), `dev's API runs ${devApiTags().join(", ")}`);
            assert(!routeWeights().includes("sample-app-test"), `dev's route still sends test a share: ${routeWeights()}`);
        });
        await check("a bad candidate (a patched API failing one read in three) is rolled back at its first judgement: errors only in gray's share, only until then, within the schedule's bound", async () => {
            await faulty;
            const r = await releaseUnderLoad("0.2.0-bad");
            assert(r.result.outcome === "rolled back", `the bad candidate was ${r.result.outcome}`);
            const verdict = r.result.outcome === "rolled back" ? r.result.verdict : undefined;
            assert(r.result.outcome === "rolled back" && r.result.weight === settings.schedule.weights[0], `rolled back at ${r.result.outcome === "rolled back" ? r.result.weight : "-"} %, not at the first step`);
            // The bound the schedule sets: the requests sent while gray had the first step's share (from that up to
            // the end of the rollback's up), times that share, times the fault's one in three; twice that for chance.
            const w0 = settings.schedule.weights[0];
            const seconds = (r.endedAt - r.firstWeightAt) / 1000;
            const expected = (r.load.sent / ((r.endedAt - r.startedAt) / 1000)) * seconds * (w0 / 100) / 3;
            const bound = Math.ceil(2 * expected);
            line(`       users saw ${r.load.failed} failed requests (the schedule's bound ${bound}: twice ${expected.toFixed(0)}, a third of ${w0} % of what was sent during the ${seconds.toFixed(0)} s gray had a share); statuses ${[...r.load.failedStatuses].join(", ") || "none"}`);
            if (verdict) line(`       ${describeVerdict(verdict).replace(/\n/g, "\n       ")}`);
            assert(r.load.failed <= bound, `${r.load.failed} failed requests, more than ${bound}`);
            assert([...r.load.failedStatuses].every(x => x === 500), `failures other than the fault's 500: ${r.load.errors.join("; ")}`);
            assert(r.load.failed === 0 || r.load.firstFailedAt >= r.firstWeightAt, "requests failed before gray had a share");
            assert(devApiTags().every(t => t === "0.2.0-good"), `dev's API runs ${devApiTags().join(", ")}, not the promoted 0.2.0-good`);
            assert(!routeWeights().includes("sample-app-test"), `dev's route still sends test a share: ${routeWeights()}`);
        });
        await check("a release killed in the middle of a step is taken up by the next start: the candidate is judged where it stopped and promoted, with no failed request", async () => {
            tagAppImages("0.2.1-good");
            const users = load(target("dev"), ["/api/users?limit=1"], { workers: 3 });
            let child: ChildProcess | undefined;
            try {
                child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", path.join(CLUSTER_DIR, "release.ts"), "--candidate", "0.2.1-good"],
                    { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
                child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
                const second = settings.schedule.weights[1] ?? settings.schedule.weights[0];
                await waitUntil(`the first run reaches weight ${second}`, 300, () => out.includes(`weight ${second}: pulumi up of prod`), 200);
                process.kill(-(child.pid ?? 0), "SIGKILL");
                line(`       killed the first run at: ${out.trim().split("\n").slice(-1)[0]}; dev's route: ${routeWeights()}`);
                const steps: string[] = [];
                const r = await localRelease({ imageTag: "0.2.1-good" }, l => { steps.push(l); line(`       ${l.replace(/\n/g, "\n       ")}`); });
                assert(r.outcome === "promoted", `the next start ${r.outcome}`);
                assert(steps.some(l => l.startsWith("resuming:") || l.startsWith("weight 0: prod sends")), "the next start did not take up the stopped release");
                assert(devApiTags().every(t => t === "0.2.1-good"), `dev's API runs ${devApiTags().join(", ")}`);
            } finally {
                // A run that failed before it was killed: stop its process group (gone already once killed).
                if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
                    try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
                }
                const report = await users.stop();
                line(`       users: ${describeLoad(report)}`);
                assert(report.failed === 0, `users saw failures: ${report.errors.join("; ")}`);
            }
        });
        await check("test is removed and dev goes back to what the rest of the suite expects", async () => {
            await removeStack("test", RELEASE_GRAY_CONFIG);
            w.test = undefined;
            w.dev = await deploy("dev", { imageTag: "0.1.0-rollout" }, quiet);
            kubectl(["-n", DEV_NS, "rollout", "status", "deployment/user-api", "--timeout=120s"]);
        });
    });
}
