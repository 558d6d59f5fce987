/**
 * Every accepted value works where it ends up: the real consumers, started on
 * the edges of what the settings and the components accept.
 *
 *  - the Redis pods' scripts (components/scripts/) with redis-server and its
 *    Sentinel, from the ConfigMap and Secret the Redis component renders, with
 *    passwords holding spaces, quotes, backslashes and every other printable
 *    character, and the longest master name (test/sandbox.ts: loopback only);
 *  - the frontend's rendered nginx.conf with `nginx -t`, its API upstream
 *    resolvable as in the cluster, and without (the check can fail);
 *  - every shell script with shellcheck and `dash -n`;
 *  - label values, DNS names and cron schedules with the functions the API
 *    server validates them with (test/consumers: k8s.io/apimachinery and
 *    robfig/cron), against settings/validate.ts.
 *
 * Needs redis-server, redis-cli, nginx and shellcheck (bash e2e/install-deps.sh),
 * go, and a private mount namespace (root, as CI runs, or user namespaces).
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { REDIS_PATHS } from "../components/redisWorkload";
import { cronProblem, parseSettings, PASSWORD } from "../settings";
import { DNS_LABEL, DNS_SUBDOMAIN, LABEL_VALUE, parseLabel } from "../settings/validate";
import { one, programConfig, reveal, ROOT, runProgram, runStack } from "./harness";
import { freePort, Pod, Sandbox, sandboxProblem, withHosts } from "./sandbox";

/** A Redis password on every edge the settings accept: spaces (leading and trailing too), quotes, backslash, #, $, backtick, %, braces. */
const EDGE_PASSWORD = ` p"a's\\s#w$o\`r%d;{x} `;
/** Every printable ASCII character, the Sentinels' password. */
const ALL_PRINTABLE = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join("");
/** The longest master name the component accepts. */
const LONG_MASTER = `m${"a-Z_9.".repeat(10)}xyz`;

/** The Redis component's ConfigMap and Secret for these args, as it renders them. */
async function renderRedis(args: Partial<c.RedisArgs>): Promise<{ config: Record<string, string>; secret: Record<string, string> }> {
    const run = await runProgram("consumers", {}, () => {
        new c.Redis("cache", { namespace: "team-a", ...args });
        return {};
    });
    return { config: one(run, "ConfigMap", "cache-config").data, secret: reveal(one(run, "Secret", "cache-auth").stringData) };
}

const HEADLESS = "cache-headless.team-a.svc.cluster.local";

describe("the Redis pods' scripts, run with redis-server and Sentinel on the edges of what is accepted", function () {
    this.timeout(180_000);
    let sandbox: Sandbox | undefined;
    before(function () {
        assert.strictEqual(sandboxProblem(), undefined, "this suite runs the real redis-server: install it (bash e2e/install-deps.sh); it needs root or user namespaces");
    });
    afterEach(() => {
        sandbox?.stop();
        sandbox = undefined;
    });

    /** Three pods in Sentinel mode, each with Redis and its Sentinel started, all ready. */
    async function sentinelTrio(): Promise<{ sb: Sandbox; pods: Pod[]; procs: Array<{ redis: ChildProcess; sentinel: ChildProcess }>; port: number; sentinelPort: number }> {
        const addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
        const port = await freePort(addresses);
        const sentinelPort = await freePort(addresses);
        const { config, secret } = await renderRedis({ port, sentinel: {}, password: pulumi.secret(EDGE_PASSWORD), sentinelPassword: pulumi.secret(ALL_PRINTABLE) });
        const sb = sandbox = new Sandbox(config, secret, "cache", HEADLESS,
            (file, text) => (file === "topology.sh" ? text.replace(/^SENTINEL_PORT='\d+'$/m, `SENTINEL_PORT='${sentinelPort}'`) : text));
        const pods = [0, 1, 2].map(i => sb.schedule(i));
        const procs = pods.map(p => ({ redis: sb.start(p, "start-redis.sh"), sentinel: sb.start(p, "start-sentinel.sh") }));
        await sb.until("all three Sentinels and Redis pods are ready", () => [0, 1, 2].every(i => sb.run(pods[i], "sentinel-ready.sh", true).status === 0 && sb.run(pods[i], "ready.sh").status === 0), 60);
        return { sb, pods, procs, port, sentinelPort };
    }

    /** SIGKILL to a started script's whole process group (its redis-server too). */
    const kill = (c: { pid?: number }) => { try { process.kill(-(c.pid ?? 0), "SIGKILL"); } catch { /* gone */ } };

    it("a StatefulSet whose pod 1 starts before pod 0: it waits as an unready replica, then syncs, with a password of quotes, spaces and backslashes", async () => {
        assert.ok(PASSWORD.test(EDGE_PASSWORD) && PASSWORD.test(ALL_PRINTABLE), "both passwords are ones the settings accept");
        const port = await freePort(["127.0.0.1", "127.0.0.2"]);
        const { config, secret } = await renderRedis({ replicas: 2, port, password: pulumi.secret(EDGE_PASSWORD) });
        assert.strictEqual(secret.password, EDGE_PASSWORD);
        const sb = sandbox = new Sandbox(config, secret, "cache", HEADLESS);

        // Pod 1 first, as podManagementPolicy Parallel may have it: pod 0 has no address (no DNS record) yet.
        const p1 = sb.schedule(1);
        sb.start(p1, "start-redis.sh");
        await sb.until("pod 1 answers", () => sb.cli(p1, port, EDGE_PASSWORD, "ping").trim() === "PONG");
        const early = sb.run(p1, "ready.sh");
        assert.strictEqual(early.status, 1);
        assert.match(early.output, /not ready: role:slave master_link_status:down/);

        const p0 = sb.schedule(0);
        sb.start(p0, "start-redis.sh");
        await sb.until("pod 0 is ready as the primary", () => sb.run(p0, "ready.sh").status === 0);
        await sb.until("pod 1 has synced from pod 0 (masterauth works)", () => sb.run(p1, "ready.sh").status === 0);
        for (const p of [p0, p1]) {
            assert.strictEqual(sb.cli(p, port, EDGE_PASSWORD, "config", "get", "requirepass"), `requirepass\n${EDGE_PASSWORD}\n`, `${p.name} took the password whole`);
        }
        sb.cli(p0, port, EDGE_PASSWORD, "set", "k", "written on the primary");
        await sb.until("the write reaches the replica", () => sb.cli(p1, port, EDGE_PASSWORD, "get", "k").trim() === "written on the primary");
        assert.match(sb.cli(p0, port, `${EDGE_PASSWORD}x`, "ping"), /WRONGPASS|NOAUTH/, "a wrong password is refused (the check can fail)");
    });

    it("Sentinel mode, pods 1 and 2 first: their Sentinels wait for pod 0, then all three agree on it, replicate, hand over on preStop", async () => {
        const addresses = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
        const port = await freePort(addresses);
        const sentinelPort = await freePort(addresses);
        const { config, secret } = await renderRedis({
            port, sentinel: { masterName: LONG_MASTER }, password: pulumi.secret(EDGE_PASSWORD), sentinelPassword: pulumi.secret(ALL_PRINTABLE),
        });
        assert.match(config["topology.sh"], new RegExp(`^SENTINEL_MASTER='${LONG_MASTER.replace(/\./g, "\\.")}'$`, "m"));
        // Only the Sentinels' port moves, to one free here (every pod uses the same, on its own address).
        const sb = sandbox = new Sandbox(config, secret, "cache", HEADLESS,
            (file, text) => (file === "topology.sh" ? text.replace(/^SENTINEL_PORT='\d+'$/m, `SENTINEL_PORT='${sentinelPort}'`) : text));
        const pods: Pod[] = [];
        const sentinels = [];
        for (const i of [1, 2]) {
            pods[i] = sb.schedule(i);
            sb.start(pods[i], "start-redis.sh");
            sentinels[i] = sb.start(pods[i], "start-sentinel.sh");
        }
        await sb.until("pods 1 and 2 answer as replicas", () => [1, 2].every(i => /role:slave/.test(sb.cli(pods[i], port, EDGE_PASSWORD, "info", "replication"))));
        await new Promise(r => setTimeout(r, 3000));
        for (const i of [1, 2]) {
            assert.ok(Sandbox.alive(sentinels[i]), `pod ${i}'s Sentinel waits for pod 0, it does not exit`);
            assert.strictEqual(sb.run(pods[i], "sentinel-ready.sh", true).status, 1, `pod ${i}'s Sentinel is not ready yet`);
        }

        pods[0] = sb.schedule(0);
        sb.start(pods[0], "start-redis.sh");
        sb.start(pods[0], "start-sentinel.sh");
        await sb.until("all three Sentinels are ready", () => [0, 1, 2].every(i => sb.run(pods[i], "sentinel-ready.sh", true).status === 0), 60);
        await sb.until("all three Redis pods are ready", () => [0, 1, 2].every(i => sb.run(pods[i], "ready.sh").status === 0), 60);
        const ask = (i: number, ...args: string[]) => sb.cli(pods[i], sentinelPort, ALL_PRINTABLE, "sentinel", ...args);
        assert.strictEqual(ask(1, "get-master-addr-by-name", LONG_MASTER).split("\n")[0], pods[0].host);
        await sb.until("every Sentinel knows both replicas and the two other Sentinels (auth-pass and requirepass work)", () =>
            [0, 1, 2].every(i => (ask(i, "replicas", LONG_MASTER).match(/^name$/gm) ?? []).length === 2 && (ask(i, "sentinels", LONG_MASTER).match(/^name$/gm) ?? []).length === 2), 60);

        // A drain of pod 0: its preStop hands the primary over and returns once it is a replica.
        const handover = sb.run(pods[0], "pre-stop.sh");
        assert.strictEqual(handover.status, 0, handover.output);
        assert.match(sb.cli(pods[0], port, EDGE_PASSWORD, "info", "replication"), /role:slave/);
        const primary = ask(1, "get-master-addr-by-name", LONG_MASTER).split("\n")[0];
        assert.ok([pods[1].host, pods[2].host].includes(primary), `a replica took over: ${primary}`);
    });
    it("a Sentinel whose primary is stale (it names a replica, another Sentinel names the primary) fails its liveness probe and, restarted, names the primary; one that only sees the primary down stays alive", async () => {
        const { sb, pods, procs, port, sentinelPort } = await sentinelTrio();
        const ask = (i: number, ...args: string[]) => sb.cli(pods[i], sentinelPort, ALL_PRINTABLE, "sentinel", ...args);
        const named = (i: number) => ask(i, "get-master-addr-by-name", "mymaster").split("\n")[0];
        const alive = (i: number) => sb.run(pods[i], "sentinel-alive.sh", true);
        assert.deepStrictEqual([0, 1, 2].map(named), [pods[0].host, pods[0].host, pods[0].host]);
        assert.deepStrictEqual([0, 1, 2].map(i => alive(i).status), [0, 0, 0], "every Sentinel is alive while they agree");

        // Pod 2's Sentinel watches pod 1, a replica, as a failed switch of its primary leaves it (Sentinel 7.0).
        assert.strictEqual(ask(2, "remove", "mymaster").trim(), "OK");
        assert.strictEqual(ask(2, "monitor", "mymaster", pods[1].host, String(port), "2").trim(), "OK");
        assert.strictEqual(ask(2, "set", "mymaster", "auth-pass", EDGE_PASSWORD).trim(), "OK");
        assert.strictEqual(named(2), pods[1].host);
        const stale = alive(2);
        assert.strictEqual(stale.status, 1, stale.output);
        assert.match(stale.output, new RegExp(`not alive: stale: this Sentinel names ${pods[1].host.replace(/\./g, "\\.")}, which is not a primary; the Sentinel of \\S+ names ${pods[0].host.replace(/\./g, "\\.")}, which is`));
        assert.deepStrictEqual([0, 1].map(i => alive(i).status), [0, 0], "the others stay alive");
        // The kubelet restarts the container: its start asks the other Sentinels.
        kill(procs[2].sentinel);
        sb.start(pods[2], "start-sentinel.sh");
        await sb.until("pod 2's restarted Sentinel names pod 0, the primary, and is alive", () => named(2) === pods[0].host && alive(2).status === 0, 60);

        // The primary's Redis gone: every Sentinel names it, none is stale, none is restarted (they must fail it over).
        kill(procs[0].redis);
        await sb.until("pod 0's Redis no longer answers", () => !/PONG/.test(sb.cli(pods[0], port, EDGE_PASSWORD, "ping")));
        assert.deepStrictEqual([1, 2].map(i => alive(i).status), [0, 0], [1, 2].map(i => alive(i).output).join("\n"));
    });

    it("a pod that restarts with data while no Sentinel answers follows the Redis that is primary; with no peer answering it waits, and never starts as a second primary; the backup Job names that primary, or fails saying none answers", async () => {
        const { sb, pods, procs, port, sentinelPort } = await sentinelTrio();
        const role = (i: number) => sb.cli(pods[i], port, EDGE_PASSWORD, "info", "replication");

        const ask = (i: number, ...args: string[]) => sb.cli(pods[i], sentinelPort, ALL_PRINTABLE, "sentinel", ...args);
        // The backup's prepare.sh asks `named_primary` of common.sh, with an empty data directory of its own.
        const backupJob = (pod: Pod) => (waitSeconds: string) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-job-"));
            fs.writeFileSync(path.join(String(pod.env.REDIS_CONFIG_DIR), "named-primary.sh"), '. "$REDIS_CONFIG_DIR/common.sh"\nnamed_primary\n');
            try {
                return sb.run({ ...pod, env: { ...pod.env, REDIS_DATA_DIR: dir, PRIMARY_WAIT_SECONDS: waitSeconds } }, "named-primary.sh");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        };
        await sb.until("every Sentinel knows both replicas", () => [0, 1, 2].every(i => (ask(i, "replicas", "mymaster").match(/^name$/gm) ?? []).length === 2), 60);
        // A drain of pod 0: it hands over, is written to as a replica, and goes; every Sentinel goes too (restarting).
        assert.strictEqual(sb.run(pods[0], "pre-stop.sh").status, 0);
        assert.match(role(0), /role:slave/, "pod 0 handed over");
        const primary = [1, 2].find(i => /role:master/.test(role(i)));
        assert.ok(primary !== undefined, `pod 1 or pod 2 is the primary after the handover: ${[1, 2].map(i => role(i)).join(" | ")}`);
        assert.strictEqual(sb.cli(pods[primary], port, EDGE_PASSWORD, "set", "k", "v").trim(), "OK");
        await sb.until("pod 0 has data on its volume", () => fs.existsSync(path.join(String(pods[0].env.REDIS_DATA_DIR), "appendonlydir")));
        kill(procs[0].redis);
        kill(procs[0].sentinel);
        procs.forEach(p => kill(p.sentinel));

        // Pod 0 comes back: no Sentinel answers, the primary's Redis does.
        const back = sb.start({ ...pods[0], env: { ...pods[0].env, PRIMARY_WAIT_SECONDS: "600" } }, "start-redis.sh");
        await sb.until("pod 0 answers again", () => role(0).includes("role:"), 60);
        assert.match(role(0), new RegExp(`role:slave[\\s\\S]*master_host:${pods[primary].host.replace(/\./g, "\\.")}`), "pod 0 replicates the primary");
        await sb.until("pod 0 has synced the primary's data", () => sb.cli(pods[0], port, EDGE_PASSWORD, "get", "k").trim() === "v");
        // The backup Job, no pod of the StatefulSet (an empty /data in its image), asks the same way: the primary's Redis answers.
        const job = backupJob(pods[0]);
        const named = job("30");
        assert.deepStrictEqual([named.status, named.output.split("\n").pop()], [0, pods[primary].host], named.output);
        // Stopped as the kubelet stops it (SIGTERM: Redis writes its data down first).
        process.kill(-(back.pid ?? 0), "SIGTERM");
        await sb.until("pod 0's Redis has stopped", () => !Sandbox.alive(back));

        // No peer answers at all (every Redis gone): pod 0, with data, waits instead of starting as a primary...
        [1, 2].forEach(i => kill(procs[i].redis));
        // The backup Job then names no primary, and says so, rather than snapshot pod 0's copy.
        const none = job("2");
        assert.notStrictEqual(none.status, 0, none.output);
        assert.match(none.output, /no Sentinel and no Redis of the StatefulSet named a primary within 2 s$/);
        const waiting = sb.start({ ...pods[0], env: { ...pods[0].env, PRIMARY_WAIT_SECONDS: "600" } }, "start-redis.sh");
        await new Promise(r => setTimeout(r, 6000));
        assert.ok(Sandbox.alive(waiting) && !role(0).includes("role:"), "pod 0 started Redis with no primary to follow");
        kill(waiting);
        // ...until the wait is over (every pod restarted at once): then pod 0 is the primary again.
        sb.start({ ...pods[0], env: { ...pods[0].env, PRIMARY_WAIT_SECONDS: "2" } }, "start-redis.sh");
        await sb.until("pod 0 starts as the primary once no peer answered for PRIMARY_WAIT_SECONDS", () => /role:master/.test(role(0)), 60);
        assert.strictEqual(sb.cli(pods[0], port, EDGE_PASSWORD, "get", "k").trim(), "v", "with the data it had");
    });

    it("a drain of the primary holds a write only until the primary is a replica, not until every Sentinel has moved: a Sentinel that does not answer keeps the hook 2 s longer, not the writes; no acknowledged write is lost", async () => {
        const { sb, pods, procs, port, sentinelPort } = await sentinelTrio();
        const ask = (i: number, ...args: string[]) => sb.cli(pods[i], sentinelPort, ALL_PRINTABLE, "sentinel", ...args);
        await sb.until("every Sentinel knows both replicas", () => [0, 1, 2].every(i => (ask(i, "replicas", "mymaster").match(/^name$/gm) ?? []).length === 2), 60);
        // Pod 2's Sentinel hangs (a node under load): the hook's question to it runs into its 2 s timeout.
        process.kill(-(procs[2].sentinel.pid ?? 0), "SIGSTOP");

        // A client writing to pod 0 all along, one write at a time, as the API's connections do.
        const writes: Array<{ key: string; sent: number; answered: number; reply: string }> = [];
        let writing = true;
        const writer = (async () => {
            for (let n = 0; writing; n++) {
                const sent = Date.now();
                const reply = await sb.cliAsync(pods[0], port, EDGE_PASSWORD, "set", `w:${n}`, "v");
                writes.push({ key: `w:${n}`, sent, answered: Date.now(), reply });
            }
        })();
        await sb.until("the client's writes are acknowledged", () => writes.some(w => w.reply === "OK"));
        const hook = await sb.runAsync(pods[0], "pre-stop.sh");
        const hookEnded = Date.now();
        writing = false;
        await writer;
        process.kill(-(procs[2].sentinel.pid ?? 0), "SIGCONT");

        assert.strictEqual(hook.status, 0, hook.output);
        const primary = [1, 2].find(i => /role:master/.test(sb.cli(pods[i], port, EDGE_PASSWORD, "info", "replication")));
        assert.ok(primary !== undefined, "pod 1 or pod 2 took over");
        const odd = writes.filter(w => w.reply !== "OK" && !w.reply.startsWith("READONLY"));
        assert.deepStrictEqual(odd, [], "every write is acknowledged or refused as not run (READONLY): none timed out");
        const refused = writes.find(w => w.reply.startsWith("READONLY"));
        assert.ok(refused, `the old primary refused writes once a replica: ${JSON.stringify(writes.slice(-3))}`);
        const held = Math.max(...writes.map(w => w.answered - w.sent));
        assert.ok(hookEnded - refused.answered >= 1500,
            `writes were answered ${hookEnded - refused.answered} ms before the hook ended (the longest held ${held} ms): they waited for the Sentinels, the hung one's 2 s included`);
        const lost = writes.filter(w => w.reply === "OK" && sb.cli(pods[primary], port, EDGE_PASSWORD, "exists", w.key).trim() !== "1");
        assert.deepStrictEqual(lost.map(w => w.key), [], "no write the old primary acknowledged is missing on the new one");
    });
});

describe("the frontend's nginx.conf, as rendered, by nginx -t", () => {
    const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find(p => fs.existsSync(p));

    /** `nginx -t` of the conf in a scratch prefix (its /tmp/ paths moved there), with `hosts` as /etc/hosts. */
    function nginxTest(conf: string, hosts: string): { status: number | null; output: string } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-nginx-"));
        try {
            fs.writeFileSync(path.join(dir, "nginx.conf"), conf.replace(/(\s)\/tmp\//g, `$1${dir}/`));
            fs.copyFileSync("/etc/nginx/mime.types", path.join(dir, "mime.types"));
            fs.writeFileSync(path.join(dir, "hosts"), hosts);
            // nginx opens /dev/stdout (access_log), which it cannot when that is a socket, as Node's pipes are: a file instead.
            const out = fs.openSync(path.join(dir, "out"), "w");
            const [cmd, ...args] = withHosts(path.join(dir, "hosts"), [String(nginx), "-t", "-p", `${dir}/`, "-c", path.join(dir, "nginx.conf"), "-e", "stderr"]);
            const r = spawnSync(cmd, args, { stdio: ["ignore", out, out] });
            fs.closeSync(out);
            return { status: r.status, output: fs.readFileSync(path.join(dir, "out"), "utf8") };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("accepts the conf of the longest namespace a stack may have, its upstream resolving as in the cluster; refuses it when the upstream does not resolve", async () => {
        assert.ok(nginx, "nginx is not installed (bash e2e/install-deps.sh)");
        const namespace = `n${"a".repeat(61)}9`;
        assert.ok(DNS_LABEL.test(namespace) && namespace.length === 63);
        const run = await runStack("dev", { namespace });
        const conf = one(run, "ConfigMap", "frontend-nginx").data["nginx.conf"] as string;
        const upstream = `user-api.${namespace}.svc.cluster.local`;
        assert.ok(conf.includes(`server ${upstream}:8080 max_fails=0;`));
        const ok = nginxTest(conf, `127.0.0.1 localhost\n10.96.0.10 ${upstream}\n`);
        assert.strictEqual(ok.status, 0, ok.output);
        assert.match(ok.output, /test is successful/);
        const twin = nginxTest(conf, "127.0.0.1 localhost\n");
        assert.notStrictEqual(twin.status, 0);
        assert.match(twin.output, /host not found in upstream/);
    });
});

describe("the frontend's nginx.conf in front of an API Service with a lost pod behind it", () => {
    const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find(p => fs.existsSync(p));
    const ENTRIES = 10;

    /**
     * A stand-in for the API's Service: every new connection is one the Service sent to some pod; the
     * first `bad` of them reach a pod that takes the request and dies before it answers (nginx sees
     * the connection close while it reads the header: an `error`, as a reset or refused connect is),
     * the rest reach a healthy pod that answers 200.
     */
    async function service(bad: number): Promise<{ port: number; requests: string[]; close: () => Promise<void> }> {
        const requests: string[] = [];
        const sockets = new Set<net.Socket>();
        const server = net.createServer(sock => {
            sockets.add(sock);
            sock.on("close", () => sockets.delete(sock));
            sock.on("error", () => undefined);
            let head = "";
            sock.on("data", d => {
                head += d.toString("latin1");
                if (!head.includes("\r\n\r\n")) {
                    return;
                }
                requests.push(head.split(" ", 2).join(" "));
                if (requests.length <= bad) {
                    sock.destroy();
                } else {
                    sock.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"items\":[]}");
                }
                head = "";
            });
        });
        const port = await freePort(["127.0.0.1"]);
        await new Promise<void>(r => server.listen(port, "127.0.0.1", r));
        return {
            port, requests, close: () => new Promise<void>(r => {
                sockets.forEach(x => x.destroy());
                server.close(() => r());
            }),
        };
    }

    /** The repository's nginx.conf, rendered as the Frontend renders it, run on 127.0.0.1 in a scratch prefix. */
    async function withNginx<T>(upstream: string, fn: (url: string) => Promise<T>): Promise<T> {
        assert.ok(nginx, "nginx is not installed (bash e2e/install-deps.sh)");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-nginx-"));
        // nginx's workers run as nobody when the master is root: they must reach the temp paths.
        fs.chmodSync(dir, 0o755);
        const port = await freePort(["127.0.0.1"]);
        const template = fs.readFileSync(path.join(ROOT, "app", "web", "nginx.conf"), "utf8");
        const listen = /^(\s*)listen\s+8080\s*;/m;
        assert.match(template, listen);
        const conf = c.renderNginxConf(template, upstream).replace(listen, `$1listen 127.0.0.1:${port};`).replace(/(\s)\/tmp\//g, `$1${dir}/`);
        fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
        fs.copyFileSync("/etc/nginx/mime.types", path.join(dir, "mime.types"));
        const out = fs.openSync(path.join(dir, "out"), "w");
        const child = spawn(nginx, ["-p", `${dir}/`, "-c", path.join(dir, "nginx.conf"), "-e", "stderr", "-g", "daemon off;"], { stdio: ["ignore", out, out], detached: true });
        try {
            const url = `http://127.0.0.1:${port}`;
            const t0 = Date.now();
            for (;;) {
                const up = await fetch(`${url}/healthz`).then(r => r.ok, () => false);
                if (up) {
                    break;
                }
                assert.ok(child.exitCode === null && Date.now() - t0 < 15000, `nginx did not start:\n${fs.readFileSync(path.join(dir, "out"), "utf8")}`);
                await new Promise(r => setTimeout(r, 100));
            }
            return await fn(url);
        } finally {
            if (child.pid !== undefined && child.exitCode === null) {
                const exited = new Promise(r => child.once("exit", r));
                process.kill(-child.pid, "SIGTERM");
                await exited;
            }
            fs.closeSync(out);
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it(`lists the API's Service ${ENTRIES} times and tries it ${ENTRIES} times`, () => {
        const conf = c.renderNginxConf(fs.readFileSync(path.join(ROOT, "app", "web", "nginx.conf"), "utf8"), "user-api.dev.svc.cluster.local:8080");
        assert.strictEqual(conf.match(/^\s*server user-api\.dev\.svc\.cluster\.local:8080 max_fails=0;$/gm)?.length, ENTRIES);
        assert.match(conf, new RegExp(`proxy_next_upstream_tries ${ENTRIES};`));
    });

    it(`answers a read that ${ENTRIES - 1} connections in a row lost, from the pod the next connection reached`, async () => {
        const svc = await service(ENTRIES - 1);
        try {
            await withNginx(`127.0.0.1:${svc.port}`, async url => {
                const r = await fetch(`${url}/api/users?limit=5`);
                const body = await r.text();
                assert.strictEqual(r.status, 200, body);
                assert.deepStrictEqual(JSON.parse(body), { items: [] });
            });
            assert.deepStrictEqual(svc.requests, Array(ENTRIES).fill("GET /api/users?limit=5"));
        } finally {
            await svc.close();
        }
    });

    it(`gives up on a read after ${ENTRIES} lost connections with the API's JSON 503, not an nginx page`, async () => {
        const svc = await service(ENTRIES + 10);
        try {
            await withNginx(`127.0.0.1:${svc.port}`, async url => {
                const r = await fetch(`${url}/api/users`);
                assert.strictEqual(r.status, 503);
                assert.deepStrictEqual(await r.json(), { error: "api unavailable" });
            });
            assert.strictEqual(svc.requests.length, ENTRIES);
        } finally {
            await svc.close();
        }
    });

    it("never sends a write twice: a POST whose pod died after taking it is answered 503, and reached the Service once", async () => {
        const svc = await service(1);
        try {
            await withNginx(`127.0.0.1:${svc.port}`, async url => {
                const r = await fetch(`${url}/api/users`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: "a", email: "a@example.com" }) });
                assert.strictEqual(r.status, 503);
            });
            assert.deepStrictEqual(svc.requests, ["POST /api/users"]);
        } finally {
            await svc.close();
        }
    });
});

describe("the shell scripts, by shellcheck and dash", () => {
    const scripts = fs.readdirSync(path.join(ROOT, "components", "scripts")).filter(f => f.endsWith(".sh")).map(f => path.join(ROOT, "components", "scripts", f));

    it("finds nothing in the Redis pods' scripts, nor in what the components render (topology.sh, the backup's prepare.sh)", async () => {
        const run = await runStack("prod");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-sh-"));
        try {
            const rendered = {
                "topology.sh": one(run, "ConfigMap", "redis-config").data["topology.sh"],
                "prepare.sh": one(run, "ConfigMap", "redis-backup").data["prepare.sh"],
            };
            // prepare.sh sources the Redis pods' common.sh: beside it, as in the Job's mounts.
            fs.copyFileSync(path.join(ROOT, "components", "scripts", "common.sh"), path.join(dir, "common.sh"));
            const files = [...scripts, ...Object.entries(rendered).map(([f, text]) => {
                fs.writeFileSync(path.join(dir, f), text);
                return path.join(dir, f);
            })];
            const check = spawnSync("shellcheck", ["--shell=sh", "-x", "-P", "SCRIPTDIR", ...files], { encoding: "utf8" });
            assert.ok(!check.error, "shellcheck is not installed (apt-get install shellcheck)");
            assert.strictEqual(check.status, 0, check.stdout);
            for (const f of files) {
                const parse = spawnSync("dash", ["-n", f], { encoding: "utf8" });
                assert.strictEqual(parse.status, 0, `${f}: ${parse.stderr}`);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reads the directories from the same place the pod mounts them", () => {
        const common = fs.readFileSync(path.join(ROOT, "components", "scripts", "common.sh"), "utf8");
        for (const [variable, key] of [["REDIS_CONFIG_DIR", "config"], ["REDIS_AUTH_DIR", "auth"], ["REDIS_RUN_DIR", "run"], ["REDIS_DATA_DIR", "data"]] as const) {
            assert.ok(common.includes(`"\${${variable}:-${REDIS_PATHS[key]}}"`), `${variable} defaults to ${REDIS_PATHS[key]}`);
        }
    });
});

describe("label values, DNS names and cron schedules, by the functions the API server validates them with", function () {
    this.timeout(120_000);
    let answers: (queries: { kind: string; value: string }[]) => { ok: boolean; why?: string }[];

    before(() => {
        const bin = path.join(os.tmpdir(), `sample-app-k8s-validate-${process.getuid?.() ?? 0}`);
        const build = spawnSync("go", ["build", "-o", bin, "."], { cwd: path.join(ROOT, "test", "consumers"), encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
        assert.strictEqual(build.status, 0, `go build of test/consumers: ${build.stderr}`);
        answers = queries => JSON.parse(spawnSync(bin, { input: JSON.stringify(queries), encoding: "utf8" }).stdout);
    });

    /** Edge values of a kind: the class boundaries, each side. */
    const sameVerdicts = (kind: string, values: string[], ours: (v: string) => boolean) => {
        const theirs = answers(values.map(value => ({ kind, value })));
        const differ = values.map((v, i) => ({ v, theirs: theirs[i] })).filter(x => ours(x.v) !== x.theirs.ok)
            .map(x => `${JSON.stringify(x.v)}: ours ${ours(x.v)}, API server ${x.theirs.ok} ${x.theirs.why ?? ""}`);
        assert.deepStrictEqual(differ, []);
    };

    it("takes exactly the label values, label keys, DNS labels and subdomains the API server takes, on their edges", () => {
        const a = (n: number) => "a".repeat(n);
        sameVerdicts("label-value", ["", "a", "A", "9", "a.b", "a_b", "a-b", "-a", "a-", "_a", "a_", ".a", "a.", "a b", "ä", a(63), a(64), "prod", "my_stack.v2"], v => LABEL_VALUE.test(v));
        sameVerdicts("dns-label", ["a", "0", "a-b", "-a", "a-", "A", "a_b", "a.b", a(63), a(64), ""], v => DNS_LABEL.test(v));
        sameVerdicts("dns-subdomain", ["a", "a.b", "a..b", ".a", "a.", "a-b.c-d", "A.b", `${a(63)}.${a(63)}.${a(63)}.${a(61)}`, `${a(63)}.${a(63)}.${a(63)}.${a(62)}`, a(64), ""], v => DNS_SUBDOMAIN.test(v));
        sameVerdicts("label-key", ["app", "app.kubernetes.io/name", "a/b", "/b", "a/", "A.b/c", `${a(63)}`, `${a(64)}`, "k8s-app", "-a", "a_b",
            "a..b/c", "a.-b/c", "a-.b/c", `${a(253)}/b`, `${a(254)}/b`, `${a(63)}.${a(63)}.${a(63)}.${a(61)}/b`, "a/b/c", "a_b/c"], v => parseLabel(`${v}=x`) !== undefined);
    });

    it("takes exactly the cron schedules robfig/cron's ParseStandard takes, for every schedule of its characters tried", () => {
        const fields = ["*", "0", "59", "60", "*/5", "*/0", "5/10", "1-5", "5-1", "1-2-3", "1,,2", ",", "1/2/3", "-", "7", "0-6", "31", "32", "12", "13", "00", "99999999999999999999", "*-5", "*/99999999999"];
        const schedules = ["", "0 3 * * *", "0 3 * *", "0 3 * * * *", "0\t3 * * *", "  0 3 * * *  "];
        for (let i = 0; i < 600; i++) {
            schedules.push(Array.from({ length: 5 }, (_, k) => fields[(i * 7 + k * 13 + Math.floor(i / 5) * k) % fields.length]).join(" "));
        }
        sameVerdicts("cron", schedules, v => v.trim() !== "" && cronProblem(v.trim()) === undefined);
    });

    it("refuses, before anything is registered, a schedule the API server would refuse only at pulumi up", () => {
        const raw = programConfig("prod", { redisSnapshotSchedule: "0 3 * * 7" });
        assert.throws(() => parseSettings(raw, "prod"), /sample-app:redisSnapshotSchedule = "0 3 \* \* 7": .*day of week "7": above the maximum 6/);
    });
});
