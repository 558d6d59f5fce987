import * as assert from "assert";
import * as path from "path";

// bench/ is ES modules; this suite is compiled to CommonJS, whose import() would become require().
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the modules are untyped JavaScript
type Fn = Function;
const importESM = new Function("p", "return import(p)") as (p: string) => Promise<Record<string, Fn & string>>;
const bench = (file: string) => importESM(path.join(__dirname, "..", "bench", file));

describe("bench helpers", () => {
    it("an open-loop run reads as its answered requests, errors and latencies, and one that printed nothing usable fails", async () => {
        // bench/openloop's own tests (go test) show that latencies count from each request's due time.
        const { parseOpenLoop } = await bench("lib.mjs");
        const r = parseOpenLoop(JSON.stringify({ due: 1000, ok: 990, errors: 10, achieved: 1000, p50: 0.4, p99: 3.2, p999: 9.1, max: 12, firstError: "HTTP 503" }), 1000.4);
        assert.deepStrictEqual(r, { rate: 1000, sent: 1000, achieved: 1000, p50: 0.4, p99: 3.2, p999: 9.1, errors: 10, firstError: "HTTP 503" });
        assert.throws(() => parseOpenLoop("", 10), /printed no summary/);
        assert.throws(() => parseOpenLoop(JSON.stringify({ due: 0, ok: 0, errors: 0 }), 10), /made no request/);
    });

    it("a profile sample counts for the innermost frame that has a category", async () => {
        const { categorize, RUNTIME } = await bench("profile.mjs");
        const http = ["net/http.(*conn).serve"];
        const handler = ["github.com/sample-app/sample-app/app/api/internal/httpapi.(*api).getUser", "net/http.(*ServeMux).ServeHTTP", ...http];
        assert.strictEqual(categorize(["internal/runtime/syscall/linux.Syscall6", "internal/poll.(*FD).Read",
            "github.com/redis/go-redis/v9/internal/proto.(*Reader).ReadReply", ...handler]), "Redis client (go-redis, its socket I/O, the batcher)");
        assert.strictEqual(categorize(["sync.(*Mutex).Lock", "github.com/sample-app/sample-app/app/api/internal/users.(*batcher).do",
            "github.com/sample-app/sample-app/app/api/internal/users.(*Store).Get", ...handler]), "Redis client (go-redis, its socket I/O, the batcher)");
        assert.strictEqual(categorize(["internal/poll.(*FD).Write", "github.com/sample-app/sample-app/app/api/internal/redisha.(*guardedConn).Write",
            "github.com/sample-app/sample-app/app/api/internal/users.(*Store).Get", ...handler]), "Redis client (go-redis, its socket I/O, the batcher)");
        assert.strictEqual(categorize(["runtime.mallocgc", "encoding/json.Marshal", ...handler]), "JSON");
        assert.strictEqual(categorize(["runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"]), "GC");
        assert.strictEqual(categorize(["internal/poll.(*FD).Read", "net/http.(*connReader).Read", "net/http.(*conn).readRequest", ...http]),
            "HTTP: read and parse requests");
        assert.strictEqual(categorize(["runtime.futex", "runtime.findRunnable", "runtime.schedule"]), RUNTIME);
    });
});

describe("bench --cluster: per-pod figures from the host's cgroups", () => {
    // Fixture trees: path -> file text, as /sys/fs/cgroup would hold them.
    const fsOf = (files: Record<string, string>) => ({
        exists: (p: string) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)),
        read: (p: string) => {
            if (!(p in files)) throw new Error(`ENOENT ${p}`);
            return files[p];
        },
    });
    const UID = "e692d876-abe4-44d5-a597-691007b2f4fe";
    const CID = "681e662e6539ae99d2540b09c3f0f3069d56076ea70905e8335db00d94b1cf24";
    const v1Pod = (usageNs: number, periods: number, throttled: number, throttledNs: number) => ({
        [`/sys/fs/cgroup/cpuacct/kubepods/burstable/pod${UID}/${CID}/cpuacct.usage`]: `${usageNs}\n`,
        [`/sys/fs/cgroup/cpu/kubepods/burstable/pod${UID}/${CID}/cpu.stat`]:
            `nr_periods ${periods}\nnr_throttled ${throttled}\nthrottled_time ${throttledNs}\nnr_bursts 0\nburst_time 0\n`,
    });
    const dirs = (version: string, rel: string) => (version === "v2"
        ? { cpuacct: `/sys/fs/cgroup/${rel}`, cpu: `/sys/fs/cgroup/${rel}`, memory: `/sys/fs/cgroup/${rel}` }
        : { cpuacct: `/sys/fs/cgroup/cpuacct/${rel}`, cpu: `/sys/fs/cgroup/cpu/${rel}`, memory: `/sys/fs/cgroup/memory/${rel}` });

    it("a pod's cgroup is found by its QoS class and UID under either driver, its container's by containerID; none on another host", async () => {
        const { locatePod, cgroupVersion } = await bench("cgroup.mjs");
        const statuses = [{ name: "api", containerID: `containerd://${CID}` }];
        const v1 = fsOf({
            "/sys/fs/cgroup/cpuacct/cgroup.procs": "",
            [`/sys/fs/cgroup/cpuacct/kubepods/burstable/pod${UID}/cpuacct.usage`]: "1\n",
            ...v1Pod(1, 0, 0, 0),
        });
        assert.strictEqual(cgroupVersion(v1.exists), "v1");
        assert.deepStrictEqual(locatePod("v1", UID, "Burstable", statuses, v1.exists),
            { pod: dirs("v1", `kubepods/burstable/pod${UID}`), containers: { api: dirs("v1", `kubepods/burstable/pod${UID}/${CID}`) } });

        // cgroup v2, systemd driver: the UID with _ for -, a Guaranteed pod right under kubepods.slice.
        const rel = `kubepods.slice/kubepods-pod${UID.replaceAll("-", "_")}.slice`;
        const v2 = fsOf({
            "/sys/fs/cgroup/cgroup.controllers": "cpu memory",
            [`/sys/fs/cgroup/${rel}/cpu.stat`]: "usage_usec 1\n",
            [`/sys/fs/cgroup/${rel}/cri-containerd-${CID}.scope/cpu.stat`]: "usage_usec 1\n",
        });
        assert.strictEqual(cgroupVersion(v2.exists), "v2");
        assert.deepStrictEqual(locatePod("v2", UID, "Guaranteed", statuses, v2.exists),
            { pod: dirs("v2", rel), containers: { api: dirs("v2", `${rel}/cri-containerd-${CID}.scope`) } });

        // A pod of a cluster on another machine: no such cgroup here, so the bench falls back to the metrics API.
        assert.strictEqual(locatePod("v1", "00000000-0000-0000-0000-000000000000", "Burstable", statuses, v1.exists), null);
        // Below a kubelet's cgroupRoot (a node of the local cluster), tried before the hierarchy's root.
        const under = (p: string) => v1.exists(p.replace("/sample-app-cluster/node-2", ""));
        assert.deepStrictEqual(locatePod("v1", UID, "Burstable", statuses, under, undefined, ["sample-app-cluster/node-2", ""])?.pod.cpu,
            `/sys/fs/cgroup/cpu/sample-app-cluster/node-2/kubepods/burstable/pod${UID}`);
        assert.strictEqual(locatePod("v2", UID, "Burstable", statuses, v2.exists), null, "Burstable is not where a Guaranteed pod is");
    });

    it("a throttled pod's share is nr_throttled/nr_periods over the run, and its throttled ms the throttled_time delta (v1)", async () => {
        const { readCpu, runFigures } = await bench("cgroup.mjs");
        const d = dirs("v1", `kubepods/burstable/pod${UID}/${CID}`);
        // Before: the pod's life so far had 1000 periods, 10 throttled. The run adds 100 periods, 40 throttled, 250 ms.
        const before = readCpu("v1", d, fsOf(v1Pod(20_000_000_000, 1000, 10, 500_000_000)).read);
        const after = readCpu("v1", d, fsOf(v1Pod(21_000_000_000, 1100, 50, 750_000_000)).read);
        const f = runFigures(before, after, 5000);
        assert.strictEqual(f.periods, 100);
        assert.strictEqual(f.throttledShare, 0.4, "40 of the run's 100 periods, not 50 of 1100 over the pod's life");
        assert.strictEqual(f.throttledMs, 250);
        assert.strictEqual(f.cpuUsPerReq, 200, "1 s of CPU (cpuacct.usage, ns) over 5000 requests");
    });

    it("CPU µs per request is the CPU delta over requests completed on cgroup v2 too (cpu.stat usage_usec, throttled_usec)", async () => {
        const { readCpu, runFigures } = await bench("cgroup.mjs");
        const d = dirs("v2", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod_x.slice");
        const stat = (usage: number, periods: number, throttled: number, tUs: number) => fsOf({
            [`${d.cpu}/cpu.stat`]: `usage_usec ${usage}\nuser_usec 1\nsystem_usec 1\nnr_periods ${periods}\nnr_throttled ${throttled}\nthrottled_usec ${tUs}\n`,
        }).read;
        const f = runFigures(readCpu("v2", d, stat(1_000_000, 0, 0, 0)), readCpu("v2", d, stat(1_300_000, 200, 20, 80_000)), 1000);
        assert.strictEqual(f.cpuUsPerReq, 300);
        assert.strictEqual(f.throttledShare, 0.1);
        assert.strictEqual(f.throttledMs, 80);
    });

    it("a container without a CPU limit has no CFS periods: its throttled share is none ('-'), not 0 %", async () => {
        const { runFigures, podTable } = await bench("cgroup.mjs");
        const c = (cpuNs: number) => ({ cpuNs, periods: 0, throttled: 0, throttledNs: 0 });
        const f = runFigures(c(0), c(2_000_000), 10);
        assert.ok(Number.isNaN(f.throttledShare));
        const [, , row] = podTable([{ label: "traefik/t-1/traefik", cpuLimit: "none", memLimit: "256Mi", memPeak: 50 * 1024 ** 2, byCase: { byId: f } }],
            [{ key: "byId", short: "by id" }]);
        assert.strictEqual(row, "| traefik/t-1/traefik | none | 50.0 | 256Mi | 200.0 | - |");
    });

    it("memory under load is the working set: usage less inactive file cache (v1 total_inactive_file, v2 inactive_file)", async () => {
        const { readMemory } = await bench("cgroup.mjs");
        const d1 = dirs("v1", "p");
        const v1 = fsOf({
            [`${d1.memory}/memory.usage_in_bytes`]: "13410304\n",
            // a pod's own counters are 0 on v1; its containers' are in the total_* lines
            [`${d1.memory}/memory.stat`]: "cache 0\ninactive_file 0\ntotal_cache 1241088\ntotal_inactive_file 4096\n",
        });
        assert.strictEqual(readMemory("v1", d1, v1.read), 13410304 - 4096);
        const d2 = dirs("v2", "p");
        const v2 = fsOf({ [`${d2.memory}/memory.current`]: "8000000\n", [`${d2.memory}/memory.stat`]: "anon 5000000\nfile 3000000\ninactive_file 1000000\n" });
        assert.strictEqual(readMemory("v2", d2, v2.read), 7000000);
    });

    it("the pod table has a row per container and, per case, CPU µs/req and throttled % (ms); the total line sums by component", async () => {
        const { podTable, cpuTotalLine } = await bench("cgroup.mjs");
        const fig = (us: number, share = NaN, ms = 0) => ({ cpuUsPerReq: us, throttledShare: share, throttledMs: ms, periods: 0 });
        const rows = [
            { label: "traefik/t/traefik", component: "Traefik", cpuLimit: "none", memLimit: "256Mi", memPeak: 60 * 1024 ** 2, byCase: { byId: fig(150), open: fig(240) } },
            { label: "ns/fe-1/nginx", component: "nginx", cpuLimit: "250m", memLimit: "64Mi", memPeak: 7 * 1024 ** 2, byCase: { byId: fig(30, 0.5, 131), open: fig(45, 0) } },
            { label: "ns/fe-2/nginx", component: "nginx", cpuLimit: "250m", memLimit: "64Mi", memPeak: 7 * 1024 ** 2, byCase: { byId: fig(30, 0.25, 60), open: fig(45, 0) } },
            { label: "ns/api-1/api", component: "API", cpuLimit: "500m", memLimit: "128Mi", memPeak: NaN, byCase: { byId: fig(110, 0.355, 95) } },
            { label: "host: load generator", component: "load generator", cpuLimit: "-", memLimit: "-", memPeak: NaN, byCase: { byId: fig(40), open: fig(170) } },
        ];
        const lines = podTable(rows, [{ key: "byId", short: "by id" }, { key: "open", short: "open loop" }]);
        assert.strictEqual(lines[0], "| pod / container | CPU limit | memory peak (MiB) | memory limit | by id CPU µs/req | by id throttled | open loop CPU µs/req | open loop throttled |");
        assert.strictEqual(lines.length, 2 + rows.length);
        assert.strictEqual(lines[3], "| ns/fe-1/nginx | 250m | 7.0 | 64Mi | 30.0 | 50.0 % (131 ms) | 45.0 | 0.0 % (0 ms) |");
        assert.strictEqual(lines[5], "| ns/api-1/api | 500m | - | 128Mi | 110.0 | 35.5 % (95 ms) | - | - |", "no figure for a case it was not measured in");

        assert.strictEqual(cpuTotalLine("GET by id", rows, "byId", 25),
            "- GET by id: 360.0 µs of CPU per request = Traefik 150.0 + nginx 60.0 + API 110.0 + load generator 40.0; " +
            "the rest of the machine (kubelet, containerd, the API server, …) another 25.0");
        assert.match(cpuTotalLine("GET by id", rows, "byId", -6), /under the skew of \/proc\/stat against the cgroups \(-6\.0\)$/,
            "a rest below zero is counting skew, not negative work");
        assert.strictEqual(cpuTotalLine("open", rows, "open"),
            "- open: - µs of CPU per request = Traefik 240.0 + nginx 90.0 + API - + load generator 170.0", "a pod without a figure makes the total unknown");
    });

    it("the load generator's CPU is this process' reaped children's cutime + cstime in /proc/<pid>/stat", async () => {
        const { childTicks } = await bench("lib.mjs");
        // comm may hold spaces and parentheses; fields count from the last ')'.
        const stat = "4242 (node (bench) x) S 4200 4242 4200 0 -1 4194304 100 200 0 0 " +
            "350 120 1234 567 20 0 11 0 5000 1000000 2000 18446744073709551615";
        assert.strictEqual(childTicks(stat), 1234 + 567);
    });
});
