/**
 * examples/reuse-yaml, the Pulumi YAML program built from this repository's component package, on
 * the real engine: the CLI (toolchain.ts), Pulumi YAML's language host (build.sh yaml), and this
 * repository started as a component provider from its sources (PulumiPlugin.yaml, provider.ts,
 * through the Node.js language host), exactly as `pulumi package add` sets it up.
 *
 *   ts-node scripts/engine/yaml-program.ts preview [--stack=NAME] [key=value ...]
 *       No cluster needed: `pulumi preview` against a kube context whose API server does not answer.
 *       Proves that the engine starts the component provider, that YAML loads its schema, and that
 *       every component is constructed (Construct) into its Kubernetes objects, none showing the password.
 *   ts-node scripts/engine/yaml-program.ts check --kube-context=CTX --url=URL [--kubeconfig=FILE]
 *       [--kubectl=BIN] [--stack=NAME] [--keep] [key=value ...]
 *       On a cluster: `pulumi up`; the UI and the API (a user written to and read from Redis) through
 *       URL, where the caller's Gateway serves the program's host (URL's host name; a *.localhost name
 *       is sent to 127.0.0.1); `preview` and `refresh` with --expect-no-changes; `destroy`; then nothing
 *       labelled with the stack's instance is left, nor its namespace or volumes. Every step is
 *       timed. A failure after `up` destroys what was made, unless --keep.
 *
 * key=value are the program's config (Pulumi.yaml: namespace, gatewayName, gatewayNamespace,
 * apiImage, webImage). The stack lives in a backend of its own in a temporary directory (or
 * `backendUrl`), its Redis password is generated per run as secret config.
 *
 * From the cluster suite: `await checkYamlProgram({ kubeContext, kubeconfig, url, kubectl, log })`.
 */
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { versions } from "../cluster/env";
import { standInPlugins } from "./plugin-home";
import { destroy, engineMessage, preview, refresh, RunOptions, up } from "./stack";
import { Engine, engine, ENGINE_CACHE, ENGINE_DIR, REPO_ROOT } from "./toolchain";

/** The program. */
export const PROGRAM_DIR = path.join(REPO_ROOT, "examples", "reuse-yaml");
/** Its project name: config keys are `reuse-yaml:<key>`. */
export const PROJECT = "reuse-yaml";
/** The stack a run uses unless told otherwise; it is also the `app.kubernetes.io/instance` label of every object. */
export const DEFAULT_STACK = "reuse-yaml";

/** The components the program declares, as the engine names them: `<type> <name>`. */
export const COMPONENTS = [
    "sample-app:index:AppNamespace storefront",
    "sample-app:index:Frontend storefront-web",
    "sample-app:index:GatewayRoute storefront-route",
    "sample-app:index:Redis storefront-cache",
    "sample-app:index:UserApi storefront-api",
];

export interface YamlProgramOptions {
    /** Stack name (and so the instance label of its objects). Default: `reuse-yaml`. */
    readonly stack?: string;
    /** The program's config: namespace, host, gatewayName, gatewayNamespace, apiImage, webImage (kubeContext and redisPassword are set here). */
    readonly config?: Readonly<Record<string, string>>;
    /** State backend URL. Default: a file backend in the run's temporary directory (removed afterwards). */
    readonly backendUrl?: string;
    /**
     * PULUMI_HOME for an engine built here. Default: one in the run's temporary directory. It gets the
     * plugin directories the CLI wants before it starts the component provider (plugin-home.ts).
     */
    readonly pulumiHome?: string;
    /** Pulumi's own output (progress, diffs). Default: discarded. */
    readonly onOutput?: (text: string) => void;
    /** One line per step. Default: stderr. */
    readonly log?: (line: string) => void;
}

export interface ClusterOptions extends YamlProgramOptions {
    /** The kube context the program's provider is pinned to. */
    readonly kubeContext: string;
    /** The kubeconfig that has the context. Default: KUBECONFIG, else ~/.kube/config. */
    readonly kubeconfig?: string;
    /** Where the caller's Gateway serves the program's UI, e.g. `http://storefront.localhost:18080/`: its host name becomes the route's host. */
    readonly url: string;
    /** kubectl, to look for what `destroy` left. Default: `kubectl` on PATH. */
    readonly kubectl?: string;
    /** Seconds to wait for the UI to answer after `up`, and for the namespace and volumes to be gone after `destroy`. Default: 120. */
    readonly waitSeconds?: number;
    /** Leave the stack up when a step fails (to look at it); it is destroyed otherwise. */
    readonly keep?: boolean;
}

/** What a step took. */
export interface Phase {
    readonly name: string;
    readonly seconds: number;
}

export interface PreviewReport {
    readonly engine: string;
    /** `<op> <type> <name>` of every step the preview planned, sorted. */
    readonly steps: string[];
    readonly phases: Phase[];
}

export interface CheckReport {
    readonly engine: string;
    readonly stack: string;
    readonly namespace: string;
    /** Operations of `pulumi up` by kind, as the engine counted them. */
    readonly upChanges: Record<string, number>;
    /** Kubernetes objects the stack held after `up`. */
    readonly objects: number;
    readonly phases: Phase[];
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);

/** The program's work copy: Pulumi.yaml with the package's path made absolute (the copy lives elsewhere). */
export function writeWorkCopy(dir: string): void {
    const project = yaml.load(fs.readFileSync(path.join(PROGRAM_DIR, "Pulumi.yaml"), "utf8")) as { packages?: Record<string, unknown> };
    const source = project.packages?.["sample-app"];
    if (typeof source !== "string") {
        throw new Error(`${path.relative(REPO_ROOT, PROGRAM_DIR)}/Pulumi.yaml: packages.sample-app must be the repository's path`);
    }
    project.packages = { ...project.packages, "sample-app": path.resolve(PROGRAM_DIR, source) };
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump(project, { lineWidth: -1 }));
}

/** The directory holding Pulumi YAML's language host as `pulumi-language-yaml` (build.sh yaml, built now if missing). */
export function yamlHostDir(log: (m: string) => void = stderr): string {
    const v = versions().PULUMI_YAML_VERSION;
    const binary = path.join(ENGINE_CACHE, "bin", `pulumi-language-yaml-${v}`);
    if (!fs.existsSync(binary)) {
        log(`engine: building Pulumi YAML's language host ${v} from Go modules (scripts/engine/build.sh yaml)`);
        const r = spawnSync("bash", [path.join(ENGINE_DIR, "build.sh"), "yaml"], { stdio: ["ignore", "inherit", "inherit"] });
        if (r.status !== 0) {
            throw new Error(`scripts/engine/build.sh yaml failed (exit ${r.status ?? r.signal})`);
        }
    }
    const dir = path.join(ENGINE_CACHE, `yaml-${v}`);
    const link = path.join(dir, "pulumi-language-yaml");
    fs.mkdirSync(dir, { recursive: true });
    if (fs.lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink() && fs.readlinkSync(link) === binary) {
        return dir;
    }
    fs.rmSync(link, { force: true });
    fs.symlinkSync(binary, link);
    return dir;
}

/** The engine for YAML programs: toolchain's, with Pulumi YAML's host first on PATH where the engine is built here (a Pulumi install has its own). */
function yamlEngine(log: (m: string) => void, pulumiHome: string): Engine {
    const e = engine(log, pulumiHome);
    if (e.source !== "built") {
        return e;
    }
    return { ...e, env: { ...e.env, PATH: [yamlHostDir(log), e.env.PATH ?? process.env.PATH ?? ""].join(path.delimiter) } };
}

interface Opened {
    readonly stack: Stack;
    readonly engine: Engine;
    readonly password: string;
    /** Removes the temporary directory. */
    readonly close: () => void;
}

/** A stack of the work copy of the program, its config set (kubeContext, a new Redis password, the caller's keys). */
async function openYamlStack(o: YamlProgramOptions, kubeContext: string, env: Record<string, string>): Promise<Opened> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "reuse-yaml-"));
    try {
        const workDir = path.join(tmp, "program");
        fs.mkdirSync(workDir);
        writeWorkCopy(workDir);
        const pulumiHome = o.pulumiHome ?? path.join(tmp, "pulumi-home");
        fs.mkdirSync(pulumiHome, { recursive: true });
        const e = yamlEngine(o.log ?? stderr, pulumiHome);
        if (e.source === "built") {
            standInPlugins(pulumiHome, REPO_ROOT);
        }
        const backendUrl = o.backendUrl ?? `file://${path.join(tmp, "backend")}`;
        if (backendUrl.startsWith("file://")) {
            fs.mkdirSync(backendUrl.slice("file://".length), { recursive: true });
        }
        const ws = await LocalWorkspace.create({
            workDir,
            pulumiHome: e.source === "built" ? pulumiHome : undefined,
            pulumiCommand: await PulumiCommand.get({ root: e.root }),
            envVars: { ...e.env, ...env, PULUMI_BACKEND_URL: backendUrl, PULUMI_CONFIG_PASSPHRASE: crypto.randomBytes(24).toString("base64url") },
        });
        const stack = await Stack.createOrSelect(o.stack ?? DEFAULT_STACK, ws);
        const password = crypto.randomBytes(24).toString("base64url");
        const config = Object.fromEntries(Object.entries({ ...o.config, kubeContext }).map(([k, value]) => [`${PROJECT}:${k}`, { value }]));
        await stack.setAllConfig({ ...config, [`${PROJECT}:redisPassword`]: { value: password, secret: true } });
        return { stack, engine: e, password, close: () => fs.rmSync(tmp, { recursive: true, force: true }) };
    } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
    }
}

/** Runs `fn` as a timed step. */
async function step<T>(phases: Phase[], log: (m: string) => void, name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    log(`reuse-yaml: ${name}`);
    const r = await fn();
    const seconds = (Date.now() - t0) / 1000;
    phases.push({ name, seconds });
    log(`reuse-yaml: ${name}: ${seconds.toFixed(1)}s`);
    return r;
}

/** A kubeconfig whose only context points at a port where no API server answers. */
function unreachableKubeconfig(dir: string): string {
    const file = path.join(dir, "kubeconfig");
    fs.writeFileSync(file, yaml.dump({
        apiVersion: "v1", kind: "Config", "current-context": "unreachable",
        clusters: [{ name: "unreachable", cluster: { server: "https://127.0.0.1:9" } }],
        users: [{ name: "nobody", user: { token: "none" } }],
        contexts: [{ name: "unreachable", context: { cluster: "unreachable", user: "nobody" } }],
    }));
    return file;
}

/** What the preview planned: `<op> <type> <name>` per step, from the engine's events. */
export function plannedSteps(events: EngineEvent[]): string[] {
    const steps = events.flatMap(e => (e.resourcePreEvent ? [e.resourcePreEvent.metadata] : []))
        .filter(m => !m.type.startsWith("pulumi:pulumi:Stack"))
        .map(m => `${m.op} ${m.type} ${m.urn.split("::").pop()}`);
    return [...new Set(steps)].sort();
}

/**
 * `pulumi preview` of the program with no cluster: the engine starts the component provider from
 * the sources, Pulumi YAML loads its schema and every component is constructed. Throws when a
 * component or one of its main objects is not planned, when an object is not parented to its
 * component, or when the Redis password shows in the engine's events or output.
 */
export async function previewYamlProgram(o: YamlProgramOptions = {}): Promise<PreviewReport> {
    const log = o.log ?? stderr;
    const phases: Phase[] = [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reuse-yaml-kube-"));
    let opened: Opened | undefined;
    try {
        opened = await step(phases, log, "open the stack (engine, YAML host, config)", () =>
            openYamlStack(o, "unreachable", { KUBECONFIG: unreachableKubeconfig(dir) }));
        const events: EngineEvent[] = [];
        let output = "";
        const stack = opened.stack;
        await step(phases, log, "pulumi preview (no cluster)", () => preview(stack, {
            onEvent: e => events.push(e), onOutput: t => { output += t; o.onOutput?.(t); },
        }));
        const steps = plannedSteps(events);
        const missing = [
            ...COMPONENTS.map(c => `create ${c}`),
            "create kubernetes:core/v1:Namespace storefront", "create kubernetes:core/v1:Secret storefront-cache-auth",
            "create kubernetes:apps/v1:StatefulSet storefront-cache", "create kubernetes:apps/v1:Deployment storefront-api",
            "create kubernetes:apps/v1:Deployment storefront-web", "create kubernetes:gateway.networking.k8s.io/v1:HTTPRoute storefront-route",
        ].filter(s => !steps.includes(s));
        if (missing.length > 0) {
            throw new Error(`the preview did not plan:\n  ${missing.join("\n  ")}\nit planned:\n  ${steps.join("\n  ")}`);
        }
        const orphans = events.flatMap(e => (e.resourcePreEvent ? [e.resourcePreEvent.metadata.urn] : []))
            .filter(urn => urn.includes("::kubernetes:") && !/::sample-app:index:\w+\$kubernetes:/.test(urn) && !urn.includes("pulumi:providers:"));
        if (orphans.length > 0) {
            throw new Error(`objects not parented to a component: ${orphans.join(", ")}`);
        }
        if (JSON.stringify(events).includes(opened.password) || output.includes(opened.password)) {
            throw new Error("the Redis password shows in the preview's events or output");
        }
        return { engine: opened.engine.describe, steps, phases };
    } finally {
        opened?.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** An HTTP request; a *.localhost URL is sent to 127.0.0.1 with its name in Host (as curl and browsers resolve it). */
export function request(url: string, method = "GET", body?: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const loopback = u.hostname === "localhost" || u.hostname.endsWith(".localhost");
        const req = http.request({
            host: loopback ? "127.0.0.1" : u.hostname, port: u.port || 80, path: `${u.pathname}${u.search}`, method, timeout: timeoutMs, agent: false,
            headers: { Host: u.host, Accept: "application/json, text/html", ...(body ? { "Content-Type": "application/json" } : {}) },
        }, res => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(body);
    });
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Retries `probe` every second until it returns a value or `seconds` pass; throws its last error then. */
async function within<T>(what: string, seconds: number, probe: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    for (;;) {
        try {
            return await probe();
        } catch (e) {
            if (Date.now() - t0 > seconds * 1000) {
                throw new Error(`${what}: not within ${seconds}s: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
            }
        }
        await sleep(1000);
    }
}

/** The UI through the Gateway, and a user written through it to the API and Redis and read back. */
async function checkServes(url: string, seconds: number): Promise<void> {
    const base = url.endsWith("/") ? url : `${url}/`;
    await within(`the UI at ${base}`, seconds, async () => {
        const r = await request(base);
        if (r.status !== 200 || !r.body.includes("<title>Users · sample-app</title>")) {
            throw new Error(`GET ${base}: ${r.status} ${r.body.slice(0, 120)}`);
        }
    });
    const email = `yaml-${crypto.randomBytes(4).toString("hex")}@example.com`;
    const created = await within("POST /api/users", seconds, async () => {
        const r = await request(`${base}api/users`, "POST", JSON.stringify({ name: "Grace Hopper", email }));
        if (r.status !== 201) {
            throw new Error(`POST ${base}api/users: ${r.status} ${r.body.slice(0, 200)}`);
        }
        return JSON.parse(r.body) as { id: string };
    });
    const read = await request(`${base}api/users/${created.id}`);
    if (read.status !== 200 || (JSON.parse(read.body) as { email?: string }).email !== email) {
        throw new Error(`GET ${base}api/users/${created.id}: ${read.status} ${read.body.slice(0, 200)}`);
    }
}

/** What is left in the cluster of the stack: objects labelled with its instance, its namespace, volumes claimed from it. */
export function leftovers(o: { kubectl?: string; kubeconfig?: string; kubeContext: string }, instance: string, namespace: string): string[] {
    const kubectl = (args: string[]) => execFileSync(o.kubectl ?? "kubectl", [
        ...(o.kubeconfig ? ["--kubeconfig", o.kubeconfig] : []), "--context", o.kubeContext, ...args,
    ], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
    // Every kind the cluster lists, but events (they carry no labels of ours) and metrics (no label selectors).
    const kinds = kubectl(["api-resources", "--verbs=list", "-o", "name"]).split("\n")
        .filter(k => k && !/^events(\.|$)|\.metrics\.k8s\.io$/.test(k));
    const selector = `app.kubernetes.io/part-of=sample-app,app.kubernetes.io/instance=${instance}`;
    const labelled = kubectl(["get", kinds.join(","), "--all-namespaces", "-l", selector, "-o", "name"]).split("\n").filter(Boolean);
    const ns = kubectl(["get", "namespace", namespace, "-o", "name", "--ignore-not-found"]).split("\n").filter(Boolean);
    const pvs = (JSON.parse(kubectl(["get", "persistentvolumes", "-o", "json"])) as { items: { metadata: { name: string }; spec?: { claimRef?: { namespace?: string } } }[] })
        .items.filter(pv => pv.spec?.claimRef?.namespace === namespace).map(pv => `persistentvolume/${pv.metadata.name} (claimed from ${namespace})`);
    return [...new Set([...ns, ...labelled, ...pvs])].sort();
}

/** The key and value that mark a secret in a deployment (Pulumi's `sig.Secret`). */
const SECRET_SIG = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"] as const;

/**
 * Where `text` shows in a deployment outside a secret: each resource's URN and the property path,
 * e.g. `urn:...::cache-auth inputs.stringData.password`. A secret is kept encrypted in the state file;
 * the Automation API's export (`pulumi stack export --show-secrets`) shows it decrypted as the secret
 * object's `plaintext`, which is not a leak and is skipped.
 */
export function plainTextPaths(deployment: unknown, text: string): string[] {
    const found: string[] = [];
    const walk = (v: unknown, at: string, urn: string): void => {
        if (typeof v === "string") {
            if (v.includes(text)) found.push(`${urn} ${at}`.trim());
        } else if (Array.isArray(v)) {
            v.forEach((x, i) => walk(x, `${at}[${i}]`, urn));
        } else if (v !== null && typeof v === "object") {
            if ((v as Record<string, unknown>)[SECRET_SIG[0]] === SECRET_SIG[1]) return;
            for (const [k, x] of Object.entries(v)) walk(x, at === "" ? k : `${at}.${k}`, urn);
        }
    };
    const d = deployment as { resources?: Array<{ urn?: string }> } | null;
    for (const r of d?.resources ?? []) walk(r, "", r.urn ?? "");
    const { resources: _r, ...rest } = (d ?? {}) as Record<string, unknown>;
    void _r;
    walk(rest, "", "deployment");
    return found;
}

/**
 * The whole check on a cluster (see the file's comment). Resolves with what each step took; throws
 * what failed. The stack is destroyed and removed from its backend either way, unless `keep`.
 */
export async function checkYamlProgram(o: ClusterOptions): Promise<CheckReport> {
    const log = o.log ?? stderr;
    const phases: Phase[] = [];
    const stackName = o.stack ?? DEFAULT_STACK;
    const seconds = o.waitSeconds ?? 120;
    const host = new URL(o.url).hostname;
    const kubeconfig = o.kubeconfig ?? process.env.KUBECONFIG;
    const opened = await step(phases, log, "open the stack (engine, YAML host, config)", () =>
        openYamlStack({ ...o, config: { host, ...o.config } }, o.kubeContext, kubeconfig ? { KUBECONFIG: kubeconfig } : {}));
    const run: RunOptions = { onOutput: o.onOutput ?? (() => undefined) };
    const s = opened.stack;
    // From `up` on, a failure may have left objects behind: they are destroyed unless `keep`.
    let destroyed = false;
    try {
        const done = await step(phases, log, "pulumi up", () => up(s, run));
        const namespace = String(done.outputs.namespace);
        const outputs = await s.outputs();
        if (!outputs.redisPassword?.secret) {
            throw new Error("the stack output redisPassword (Redis.password of the component package) is not a secret");
        }
        const plainAt = plainTextPaths((await s.exportStack()).deployment, opened.password);
        if (plainAt.length > 0) {
            throw new Error(`the Redis password is in the stack's state in plain text, at ${plainAt.slice(0, 5).join("; ")}`);
        }
        const objects = ((await s.exportStack()).deployment as { resources?: { type: string }[] }).resources?.filter(r => r.type.startsWith("kubernetes:")).length ?? 0;
        await step(phases, log, `the UI and the API through ${o.url}`, () => checkServes(o.url, seconds));
        await step(phases, log, "pulumi preview --expect-no-changes", () => preview(s, { ...run, expectNoChanges: true }));
        await step(phases, log, "pulumi refresh --expect-no-changes", () => refresh(s, { ...run, expectNoChanges: true }));
        await step(phases, log, "pulumi destroy", () => destroy(s, run));
        destroyed = true;
        await step(phases, log, "nothing left in the cluster", () => within("what destroy left", seconds, async () => {
            const left = leftovers({ ...o, kubeconfig }, stackName, namespace);
            if (left.length > 0) {
                throw new Error(`still there:\n  ${left.join("\n  ")}`);
            }
        }));
        return { engine: opened.engine.describe, stack: stackName, namespace, upChanges: done.changes, objects, phases };
    } catch (e) {
        if (!destroyed && !o.keep) {
            log(`reuse-yaml: failed (${engineMessage(e).split("\n")[0]}); destroying what was made`);
            await destroy(s, run).catch((d: unknown) => log(`reuse-yaml: destroy after the failure failed too: ${engineMessage(d)}`));
        } else if (o.keep) {
            log(`reuse-yaml: failed; the stack is kept (--keep) in ${s.workspace.workDir}`);
        }
        throw e;
    } finally {
        if (!o.keep) {
            opened.close();
        }
    }
}

/** `--name=value` flags (and bare `--name`) and `key=value` config of a command line. */
export function parseArgs(argv: readonly string[], allowed: readonly string[]): { flags: Record<string, string>; config: Record<string, string> } {
    const flags: Record<string, string> = {};
    const config: Record<string, string> = {};
    for (const arg of argv) {
        const flag = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
        const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(arg);
        if (flag && allowed.includes(flag[1])) {
            flags[flag[1]] = flag[2] ?? "true";
        } else if (kv) {
            config[kv[1]] = kv[2];
        } else {
            throw new Error(`${JSON.stringify(arg)}: expected ${allowed.map(a => `--${a}`).join(", ")} or a config key=value`);
        }
    }
    return { flags, config };
}

async function main(argv: string[]): Promise<void> {
    const [command, ...rest] = argv;
    const printing = (t: string) => process.stdout.write(t);
    if (command === "preview") {
        const { flags, config } = parseArgs(rest, ["stack"]);
        const r = await previewYamlProgram({ stack: flags.stack, config, onOutput: printing });
        process.stdout.write(`\nreuse-yaml: preview on ${r.engine}: ${r.steps.length} steps planned, every component constructed\n`);
    } else if (command === "check") {
        const { flags, config } = parseArgs(rest, ["kube-context", "url", "kubeconfig", "kubectl", "stack", "keep"]);
        if (!flags["kube-context"] || !flags.url) {
            throw new Error("check needs --kube-context=CTX and --url=URL (where the cluster's Gateway serves the program's host)");
        }
        const r = await checkYamlProgram({
            kubeContext: flags["kube-context"], url: flags.url, kubeconfig: flags.kubeconfig, kubectl: flags.kubectl,
            stack: flags.stack, keep: flags.keep === "true", config, onOutput: printing,
        });
        process.stdout.write(`\nreuse-yaml: checked on ${r.engine}\n${r.phases.map(p => `  ${p.name}: ${p.seconds.toFixed(1)}s`).join("\n")}\n`);
    } else {
        throw new Error(`unknown command ${JSON.stringify(command ?? "")}: preview, or check --kube-context=CTX --url=URL`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        process.stderr.write(`reuse-yaml ${process.argv[2] ?? ""}: ${engineMessage(e)}\n`);
        process.exit(1);
    });
}
