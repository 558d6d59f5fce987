/**
 * Releases through gray on the production rehearsal (`npm run cluster -- release` on `up --like ack`):
 * prod and gray as their stack files say, under continuous load through the ALB stand-in, judged on the
 * Prometheus in `arms-prom`, which finds both APIs through their PodMonitors as ACK's Managed Service for
 * Prometheus does. It follows rehearsal.ts: gray runs the candidate 0.1.1 and prod sends it 10 %.
 *
 * - a bad candidate, built here from a patched copy of app/api whose GET /api/users fails one request
 *   in three (nothing in the product carries a fault switch) and pushed to the registry, is rolled
 *   back at its first judgement: users see errors only in gray's share and only until then, and the
 *   count is printed against the bound the schedule sets;
 * - the good candidate's release, killed in the middle of a step, is taken up by the next start, which
 *   judges it where it stopped and promotes it: no failed request and no lost write through both runs.
 */
import { ChildProcess, execFile, spawn } from "child_process";
import { promisify } from "util";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeVerdict } from "../../../../release/judge";
import { ReleaseResult } from "../../../../release/stepper";
import { registryImages } from "../../deploy";
import { CLUSTER_DIR, CLUSTER_CA, REPO_ROOT, STATE } from "../../env";
import { syncPodMonitorScrapes } from "../../prometheus";
import { localPair, localRelease, localReleaseSettings } from "../../release";
import { describeLoad, load, LoadReport, lostWrites, target, writers } from "../http";
import { json, pods } from "../kube";
import { waitForScrapes } from "../prometheus";
import { assert, check, line, phase, waitUntil } from "../runner";
import { GRAY_NS, PROD_NS } from "../world";
import { CANDIDATE, candidateImages, prodConfig } from "./rehearsal";

const run = promisify(execFile);
const bud = (...args: string[]) => run("buildah", ["--storage-driver", "vfs", ...args], { maxBuffer: 16 << 20 });

/** The bad candidate's tag. */
export const BAD_CANDIDATE = "0.1.2-bad";

/** Pushes `image` from the build store to the cluster's registry as NAME:TAG; returns its digest. */
async function pushToRegistry(image: string, nameAndTag: string): Promise<string> {
    const certs = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-push-"));
    try {
        fs.copyFileSync(CLUSTER_CA, path.join(certs, "ca.crt"));
        await bud("push", "--quiet", "--cert-dir", certs, "--digestfile", path.join(certs, "digest"), image, `docker://${registryImages().imageRegistry}/${nameAndTag}`);
        return fs.readFileSync(path.join(certs, "digest"), "utf8").trim();
    } finally {
        fs.rmSync(certs, { recursive: true, force: true });
    }
}

/**
 * sample-app-api:TAG built from a copy of app/api whose GET /api/users answers 500 to one request in
 * three (inside the API's instrumentation, so its metrics count them), and sample-app-web:TAG as
 * 0.1.0's, pushed to the cluster's registry, their digests written where registryImages(TAG) reads
 * them, as `IMAGE_TAG=TAG npm run cluster -- images` does for a good build.
 */
export async function pushFaultyCandidate(tag: string): Promise<void> {
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
        const api = await pushToRegistry(image, `sample-app-api:${tag}`);
        const web = await pushToRegistry("docker.io/sample-app/web:0.1.0", `sample-app-web:${tag}`);
        const base = registryImages();
        fs.writeFileSync(path.join(STATE, "registry", `digests-${tag}.env`),
            Object.entries({ ...base, imageTag: tag, apiImageDigest: api, webImageDigest: web }).map(([k, v]) => `${k}=${v}\n`).join(""));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The API digest every API pod of prod runs (by its Deployment's template). */
function prodApiDigests(): string[] {
    const d = json<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>(["-n", PROD_NS, "get", "deployment", "user-api"]);
    return d.spec.template.spec.containers.map(c => c.image.split("@").pop() ?? "");
}

/** The weights prod's HTTPRoute gives its backends, by namespace. */
function routeWeights(): string {
    const r = json<{ spec: { rules: Array<{ backendRefs?: Array<{ namespace?: string; weight?: number }> }> } }>(["-n", PROD_NS, "get", "httproute", "sample-app"]);
    return [...new Set(r.spec.rules.flatMap(x => x.backendRefs ?? []).map(b => `${b.namespace ?? PROD_NS} ${b.weight ?? 1}`))].join(", ");
}

/** Runs a release under plain load through prod's route; prints each step, the judgements and the load. */
async function releaseUnderLoad(tag: string): Promise<{ result: ReleaseResult; load: LoadReport; startedAt: number; firstWeightAt: number; endedAt: number }> {
    const users = load(target("prod"), ["/api/users?limit=1"], { workers: 3 });
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

export async function releases(): Promise<void> {
    await phase("releases through gray under load, judged on the ARMS stand-in's Prometheus through the PodMonitors (npm run cluster -- release)", async () => {
        const pair = localPair();
        assert(pair.prod === "prod" && pair.gray === "gray", `the cluster pairs ${pair.prod} and ${pair.gray}, not prod and gray`);
        const settings = localReleaseSettings(pair);
        // The bad candidate's image builds meanwhile (a minute of compiling).
        const faulty = pushFaultyCandidate(BAD_CANDIDATE);
        faulty.catch(() => undefined);
        await check("the Prometheus in arms-prom (prod's and gray's metricsNamespace) is given a job for each PodMonitor, as ARMS reads them, and scrapes every API pod of prod and gray through their NetworkPolicies", async () => {
            const jobs = syncPodMonitorScrapes();
            line(`       jobs: ${jobs.join(", ")}`);
            assert(jobs.includes(`podMonitor/${PROD_NS}/user-api/0`) && jobs.includes(`podMonitor/${GRAY_NS}/user-api/0`), "no job for prod's or gray's PodMonitor");
            for (const ns of [PROD_NS, GRAY_NS]) {
                const s = await waitForScrapes(ns, "user-api", pods(ns, "user-api").map(p => p.metadata.name), 1, 90);
                line(`       ${ns}: every API pod scraped, ${s.toFixed(0)} s`);
            }
        });
        await check(`a bad candidate (a patched API failing one read in three) is rolled back at its first judgement: errors only in gray's share, only until then, within the schedule's bound; prod keeps what it ran`, async () => {
            await faulty;
            const before = prodApiDigests();
            const r = await releaseUnderLoad(BAD_CANDIDATE);
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
            assert(JSON.stringify(prodApiDigests()) === JSON.stringify(before), `prod's API runs ${prodApiDigests().join(", ")}, not what it ran`);
            assert(!routeWeights().includes(GRAY_NS), `prod's route still sends gray a share: ${routeWeights()}`);
        });
        await check(`the release of the good candidate ${CANDIDATE}, killed in the middle of a step, is taken up by the next start: judged where it stopped, promoted, the weight back to 0, with no failed request and no lost write through both runs`, async () => {
            const t = target("prod");
            const readers = load(t, ["/api/users?limit=1", "/"], { workers: 3 });
            const writes = writers(t, { workers: 1, tag: "release" });
            let child: ChildProcess | undefined;
            try {
                child = spawn(path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", path.join(CLUSTER_DIR, "release.ts"), "--candidate", CANDIDATE],
                    { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
                child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
                const second = settings.schedule.weights[1] ?? settings.schedule.weights[0];
                await waitUntil(`the first run reaches weight ${second}`, 300, () => out.includes(`weight ${second}: pulumi up of prod`), 200);
                process.kill(-(child.pid ?? 0), "SIGKILL");
                line(`       the first run:\n         ${out.trim().split("\n").join("\n         ")}\n       killed there; prod's route: ${routeWeights()}`);
                const steps: string[] = [];
                const r = await localRelease({ imageTag: CANDIDATE }, l => { steps.push(l); line(`       ${l.replace(/\n/g, "\n       ")}`); });
                assert(r.outcome === "promoted", `the next start ${r.outcome}`);
                assert(steps.some(l => l.startsWith("resuming:")), "the next start did not take up the stopped release where it was");
            } finally {
                // A run that failed before it was killed: stop its process group (gone already once killed).
                if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
                    try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
                }
                const rd = await readers.stop();
                const wr = await writes.stop();
                const lost = await lostWrites(t, wr.acknowledged);
                line(`       reads: ${describeLoad(rd)}; writes: ${describeLoad(wr)}, ${wr.acknowledged.size} acknowledged, ${lost.length} lost`);
                assert(rd.failed === 0 && wr.failed === 0, [...rd.errors, ...wr.errors].join("\n"));
                assert(lost.length === 0, `lost: ${lost.slice(0, 5).join(", ")}`);
            }
            const want = candidateImages().apiImageDigest;
            assert(prodApiDigests().every(d => d === want), `prod's API runs ${prodApiDigests().join(", ")}, not the candidate's ${want}`);
            assert(!routeWeights().includes(GRAY_NS), `prod's route still sends gray a share: ${routeWeights()}`);
            // What prod runs now, for the rest of the rehearsal's ups.
            Object.assign(prodConfig, candidateImages(), { grayWeight: "0" });
        });
    });
}
