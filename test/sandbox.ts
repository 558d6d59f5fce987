/**
 * Runs the Redis pods' real scripts (components/scripts/, as the Redis
 * component renders them into its ConfigMap) on this machine, the way their
 * containers do, with redis-server and redis-cli from Debian:
 *
 *  - each "pod" gets the ConfigMap's files, the Secret's files, a run and a
 *    data directory, and its own loopback address (127.0.0.1, .2, .3), on
 *    which shims of redis-server and redis-cli bind and connect (in a
 *    container, 127.0.0.1 is the pod itself), so nothing listens anywhere else;
 *  - pod names resolve through a hosts file of the test's own, bind-mounted
 *    over /etc/hosts in a private mount namespace (`unshare -m`): a name is
 *    added when the test "schedules" that pod, as a pod's DNS record appears
 *    when it gets an address.
 *
 * Every process started is killed when the sandbox stops, on failure too.
 */
import * as assert from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

/**
 * `unshare` into a private mount namespace: as root directly, otherwise inside a user namespace of
 * its own (where the user is root, so it may bind-mount over /etc/hosts), if the kernel allows them.
 */
export const UNSHARE: readonly string[] = process.getuid?.() === 0
    ? ["unshare", "-m", "--propagation", "private"]
    : ["unshare", "-r", "-m", "--propagation", "private"];

/** argv that runs `argv` with `hostsFile` as /etc/hosts. */
export function withHosts(hostsFile: string, argv: readonly string[]): string[] {
    return [...UNSHARE, "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, ...argv];
}

/** redis-cli's arguments against a pod's Redis (or its Sentinel on `port`), its output raw. */
function cliArgs(pod: Pod, port: number, args: readonly string[]): string[] {
    return ["-h", pod.address, "-p", String(port), "--raw", ...args];
}

/** redis-cli's environment: the password by REDISCLI_AUTH, never in its arguments. */
function cliEnv(password: string): NodeJS.ProcessEnv {
    return { ...process.env, REDISCLI_AUTH: password };
}

/** A child's exit status and everything it printed, once it exits. */
function collect(child: ChildProcess): Promise<{ status: number | null; output: string }> {
    let output = "";
    child.stdout?.on("data", d => { output += String(d); });
    child.stderr?.on("data", d => { output += String(d); });
    return new Promise(resolve => child.on("close", status => resolve({ status, output: output.trim() })));
}

/** Whether this machine can run the sandbox: redis-server, redis-cli and a private mount namespace. */
export function sandboxProblem(): string | undefined {
    for (const tool of ["redis-server", "redis-cli", "unshare", "getent", "timeout"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
            return `${tool} is not installed (bash e2e/install-deps.sh installs redis-server and redis-tools)`;
        }
    }
    const probe = spawnSync(UNSHARE[0], [...UNSHARE.slice(1), "true"]);
    return probe.status === 0 ? undefined : `${UNSHARE.join(" ")} fails here (${probe.stderr.toString().trim()}): the sandbox needs root or unprivileged user namespaces`;
}

/** A TCP port free on each of the addresses. */
export async function freePort(addresses: readonly string[]): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
        const port = 20000 + Math.floor(Math.random() * 30000);
        const ok = await Promise.all(addresses.map(a => new Promise<boolean>(resolve => {
            const server = net.createServer();
            server.once("error", () => resolve(false));
            server.listen(port, a, () => server.close(() => resolve(true)));
        })));
        if (ok.every(Boolean)) {
            return port;
        }
    }
    throw new Error("no free port");
}

/** Where a tool is on this machine. */
function which(tool: string): string {
    return spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
}

/** redis-server binds the pod's address; redis-cli without -h talks to the pod itself (in a container, 127.0.0.1 is the pod). */
function shims(): Record<string, string> {
    return {
        "redis-server": `#!/bin/sh\nexec ${which("redis-server")} "$@" --bind "$BIND_ADDR" --bind-source-addr "$BIND_ADDR"\n`,
        "redis-cli": `#!/bin/sh\ncase " $* " in *" -h "*) exec ${which("redis-cli")} "$@" ;; esac\nexec ${which("redis-cli")} -h "$BIND_ADDR" "$@"\n`,
    };
}

/** One pod of the StatefulSet: its directories, its address, its name. */
export interface Pod {
    readonly index: number;
    readonly name: string;
    readonly host: string;
    readonly address: string;
    readonly env: NodeJS.ProcessEnv;
}

/** A sandbox for one Redis StatefulSet's pods. */
export class Sandbox {
    readonly dir: string;
    readonly hostsFile: string;
    private readonly children: ChildProcess[] = [];
    private readonly logs: string[] = [];
    private readonly resolvable = new Map<string, string>();

    /**
     * `config`: the ConfigMap's data; `secret`: the Secret's files; `statefulset`, `headless`: the names
     * the pods carry; `edit`: a change to a pod's copy of a file (a port the test picked).
     */
    constructor(
        private readonly config: Readonly<Record<string, string>>,
        private readonly secret: Readonly<Record<string, string>>,
        private readonly statefulset: string,
        readonly headless: string,
        private readonly edit: (file: string, text: string) => string = (_, t) => t,
    ) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-redis-"));
        this.hostsFile = path.join(this.dir, "hosts");
        fs.mkdirSync(path.join(this.dir, "shims"));
        for (const [name, text] of Object.entries(shims())) {
            fs.writeFileSync(path.join(this.dir, "shims", name), text, { mode: 0o755 });
        }
        this.writeHosts();
    }

    /** Pod `i`, its directories made the first time. */
    pod(i: number): Pod {
        const name = `${this.statefulset}-${i}`;
        const root = path.join(this.dir, name);
        const dirs = { conf: path.join(root, "conf"), auth: path.join(root, "auth"), run: path.join(root, "run"), sentinelRun: path.join(root, "sentinel-run"), data: path.join(root, "data") };
        if (!fs.existsSync(root)) {
            Object.values(dirs).forEach(d => fs.mkdirSync(d, { recursive: true }));
            for (const [file, text] of Object.entries(this.config)) {
                fs.writeFileSync(path.join(dirs.conf, file), this.edit(file, text));
            }
            for (const [file, text] of Object.entries(this.secret)) {
                fs.writeFileSync(path.join(dirs.auth, file), text);
            }
        }
        const address = `127.0.0.${i + 1}`;
        return {
            index: i, name, host: `${name}.${this.headless}`, address,
            env: {
                PATH: `${path.join(this.dir, "shims")}:${process.env.PATH}`, BIND_ADDR: address,
                POD_NAME: name, HEADLESS: this.headless,
                REDIS_CONFIG_DIR: dirs.conf, REDIS_AUTH_DIR: dirs.auth, REDIS_RUN_DIR: dirs.run, REDIS_DATA_DIR: dirs.data,
                SENTINEL_RUN_DIR: dirs.sentinelRun,
            },
        };
    }

    /** Pod `i` gets its address: its DNS name resolves from now on. */
    schedule(i: number): Pod {
        const pod = this.pod(i);
        this.resolvable.set(pod.host, pod.address);
        this.writeHosts();
        return pod;
    }

    /** The hosts file, rewritten in place (the bind mounts keep seeing the same inode). */
    private writeHosts(): void {
        const lines = ["127.0.0.1 localhost", ...[...this.resolvable].map(([h, a]) => `${a} ${h}`)];
        fs.writeFileSync(this.hostsFile, `${lines.join("\n")}\n`);
    }

    /** argv run in the private mount namespace that sees the sandbox's hosts file. */
    private inNamespace(argv: readonly string[]): string[] {
        return withHosts(this.hostsFile, argv);
    }

    /** argv that runs one of the pod's scripts (from its ConfigMap directory) in the namespace. */
    private scriptArgv(pod: Pod, script: string): string[] {
        return this.inNamespace(["sh", path.join(String(pod.env.REDIS_CONFIG_DIR), script)]);
    }

    /** Starts a container's entry script (`start-redis.sh`, or `start-sentinel.sh` with its own run dir). */
    start(pod: Pod, script: "start-redis.sh" | "start-sentinel.sh"): ChildProcess {
        const env = { ...pod.env, ...(script === "start-sentinel.sh" ? { REDIS_RUN_DIR: pod.env.SENTINEL_RUN_DIR } : {}) };
        const [cmd, ...args] = this.scriptArgv(pod, script);
        const child = spawn(cmd, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
        const tag = `${pod.name} ${script}`;
        child.stdout?.on("data", d => this.logs.push(`${tag}: ${String(d).trimEnd()}`));
        child.stderr?.on("data", d => this.logs.push(`${tag}: ${String(d).trimEnd()}`));
        this.children.push(child);
        return child;
    }

    /** Runs a probe or hook script (ready.sh, sentinel-ready.sh, pre-stop.sh) as the kubelet would, in the container. */
    run(pod: Pod, script: string, sentinel = false): { status: number | null; output: string } {
        const env = { ...pod.env, ...(sentinel ? { REDIS_RUN_DIR: pod.env.SENTINEL_RUN_DIR } : {}) };
        const [cmd, ...args] = this.scriptArgv(pod, script);
        const r = spawnSync(cmd, args, { env, encoding: "utf8", timeout: 60_000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
    }

    /** `run`, without blocking the test: resolves when the script exits (killed after 60 s). */
    runAsync(pod: Pod, script: string): Promise<{ status: number | null; output: string }> {
        const [cmd, ...args] = this.scriptArgv(pod, script);
        return collect(spawn(cmd, args, { env: pod.env, stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 }));
    }

    /** What redis-cli prints (--raw, untrimmed) against a pod's Redis (or its Sentinel on `port`), authenticated with `password`. */
    cli(pod: Pod, port: number, password: string, ...args: string[]): string {
        const r = spawnSync("redis-cli", cliArgs(pod, port, args), { env: cliEnv(password), encoding: "utf8", timeout: 10_000 });
        return `${r.stdout}${r.stderr}`;
    }

    /** `cli`, without blocking the test; what it printed, trimmed. */
    async cliAsync(pod: Pod, port: number, password: string, ...args: string[]): Promise<string> {
        const child = spawn("redis-cli", cliArgs(pod, port, args), { env: cliEnv(password), stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
        return (await collect(child)).output;
    }

    /** Waits until `check` holds, or fails with what the pods printed. */
    async until(what: string, check: () => boolean, seconds = 30): Promise<void> {
        const end = Date.now() + seconds * 1000;
        while (Date.now() < end) {
            if (check()) {
                return;
            }
            await new Promise(r => setTimeout(r, 250));
        }
        assert.fail(`${what}: not within ${seconds}s. The pods printed:\n${this.logs.slice(-40).join("\n")}`);
    }

    /** Whether a started process still runs. */
    static alive(child: ChildProcess): boolean {
        return child.exitCode === null && child.signalCode === null;
    }

    /** Kills every process the sandbox started (their whole process groups) and removes its files. */
    stop(): void {
        for (const child of this.children) {
            try {
                process.kill(-(child.pid ?? 0), "SIGKILL");
            } catch {
                // already gone
            }
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
