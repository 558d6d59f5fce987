import * as assert from "assert";
import * as path from "path";

// bench/ is ES modules; this suite is compiled to CommonJS, whose import() would become require().
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- the modules are untyped JavaScript
type Fn = Function;
const importESM = new Function("p", "return import(p)") as (p: string) => Promise<Record<string, Fn & string>>;
const bench = (file: string) => importESM(path.join(__dirname, "..", "bench", file));

describe("bench helpers", () => {
    it("open-loop latencies count from the intended send time, so a stall that delays sends counts in full", async () => {
        const { openLoopStats } = await bench("lib.mjs");
        // 1000/s for 1 s: every request takes 1 ms, but requests 500..599 went out 50 ms late.
        const lines = Array.from({ length: 1000 }, (_, seq) => {
            const sentUs = seq * 1000 + (seq >= 500 && seq < 600 ? 50_000 : 0);
            const s = Math.floor(sentUs / 1e6);
            const frac = String((sentUs % 1e6) * 1000).padStart(9, "0");
            return JSON.stringify({ seq, code: 200, error: "", latency: 1_000_000, timestamp: `2026-12-02T17:00:0${s}.${frac}Z` });
        });
        const r = openLoopStats(lines, 1000, 1);
        assert.strictEqual(r.sent, 1000);
        assert.strictEqual(r.errors, 0);
        assert.ok(Math.abs(r.p50 - 1) < 1e-6, `p50 ${r.p50}`);
        assert.ok(Math.abs(r.p99 - 51) < 1e-6, `p99 ${r.p99}: the late sends must count 50 ms`);
    });

    it("a profile sample counts for the innermost frame that has a category", async () => {
        const { categorize, RUNTIME } = await bench("profile.mjs");
        const http = ["net/http.(*conn).serve"];
        const handler = ["github.com/sample-app/sample-app/app/api/internal/httpapi.(*api).getUser", "net/http.(*ServeMux).ServeHTTP", ...http];
        assert.strictEqual(categorize(["internal/runtime/syscall/linux.Syscall6", "internal/poll.(*FD).Read",
            "github.com/redis/go-redis/v9/internal/proto.(*Reader).ReadReply", ...handler]), "Redis client (go-redis, its socket I/O)");
        assert.strictEqual(categorize(["runtime.mallocgc", "encoding/json.Marshal", ...handler]), "JSON");
        assert.strictEqual(categorize(["runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"]), "GC");
        assert.strictEqual(categorize(["internal/poll.(*FD).Read", "net/http.(*connReader).Read", "net/http.(*conn).readRequest", ...http]),
            "HTTP: read and parse requests");
        assert.strictEqual(categorize(["runtime.futex", "runtime.findRunnable", "runtime.schedule"]), RUNTIME);
    });
});
