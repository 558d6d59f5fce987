/**
 * Which Pulumi engine runs the program: a `pulumi` already on PATH whose version is at least the
 * Node.js SDK's (what a user with the Pulumi CLI has, used as is with its own plugins), or else the
 * CLI and kubernetes provider built from Go modules by scripts/engine/build.sh, with a plugin home
 * of their own and no plugin download or update check.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { versions } from "../cluster/env";

export const ENGINE_DIR = __dirname;
export const REPO_ROOT = path.join(__dirname, "..", "..");
export const ENGINE_CACHE = process.env.SAMPLE_APP_ENGINE_CACHE ?? path.join(os.homedir(), ".cache", "sample-app-engine");

/** `[major, minor, patch]` of a version such as `v3.274.1` or `3.270.0-alpha.1`; undefined if it is none. */
export function parseVersion(v: string): [number, number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Whether version `a` is at least `b` (both `x.y.z`; pre-release tags ignored). */
export function atLeast(a: string, b: string): boolean {
    const x = parseVersion(a);
    const y = parseVersion(b);
    if (!x || !y) {
        return false;
    }
    for (let i = 0; i < 3; i++) {
        if (x[i] !== y[i]) {
            return x[i] > y[i];
        }
    }
    return true;
}

/** The engine a run uses. */
export interface Engine {
    /** Where it came from: the user's CLI on PATH, or the binaries built here. */
    readonly source: "path" | "built";
    /** The `pulumi` binary. */
    readonly pulumi: string;
    /** Its version, as `pulumi version` prints it. */
    readonly version: string;
    /** A directory whose `bin/pulumi` is that binary (what the Automation API's PulumiCommand takes as root). */
    readonly root: string;
    /** Environment for every CLI call (PATH with the provider first where built, no update check, ...). */
    readonly env: Readonly<Record<string, string>>;
    /** One line for the log: what runs. */
    readonly describe: string;
}

/** The version of the Node.js SDK this repository's program is built against. */
export function sdkVersion(): string {
    return (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")) as { version: string }).version;
}

function onPath(name: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const file = path.join(dir, name);
        try {
            fs.accessSync(file, fs.constants.X_OK);
            return file;
        } catch {
            // not here
        }
    }
    return undefined;
}

function versionOf(pulumi: string): string {
    return execFileSync(pulumi, ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } }).trim();
}

/** The paths of the binaries build.sh makes for the pinned versions. */
export function builtBinaries(v = versions()): { pulumi: string; provider: string } {
    const bin = path.join(ENGINE_CACHE, "bin");
    return {
        pulumi: path.join(bin, `pulumi-${v.PULUMI_VERSION}`),
        provider: path.join(bin, `pulumi-resource-kubernetes-${v.PULUMI_K8S_PROVIDER_VERSION}`),
    };
}

/**
 * The directory of the minimal Node.js language host (scripts/engine/build-langhost.sh; built once,
 * in seconds), which policy packs need; undefined where it cannot be built (no Go toolchain).
 */
function languageHostDir(log: (m: string) => void): string | undefined {
    const r = spawnSync("bash", [path.join(ENGINE_DIR, "build-langhost.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    if (r.status !== 0) {
        log("engine: no language host for policy packs (scripts/engine/build-langhost.sh failed); inline programs run without one");
        return undefined;
    }
    return r.stdout.trim();
}

/**
 * The engine to run: `SAMPLE_APP_ENGINE=built` forces the binaries built here, `=path` the CLI on
 * PATH; unset, the CLI on PATH when it is new enough, else the built one (built now if missing,
 * with build.sh's progress on stderr).
 */
export function engine(log: (m: string) => void = m => process.stderr.write(`${m}\n`), pulumiHome?: string): Engine {
    const want = process.env.SAMPLE_APP_ENGINE ?? "";
    if (!["", "path", "built"].includes(want)) {
        throw new Error(`SAMPLE_APP_ENGINE=${JSON.stringify(want)}: must be path (the pulumi on PATH) or built (scripts/engine/build.sh), or unset`);
    }
    const sdk = sdkVersion();
    const found = want === "built" ? undefined : onPath("pulumi");
    if (found) {
        const version = versionOf(found);
        if (atLeast(version, sdk)) {
            return {
                source: "path", pulumi: found, version, root: path.dirname(path.dirname(found)),
                env: { PULUMI_SKIP_UPDATE_CHECK: "true" },
                describe: `the Pulumi CLI on PATH (${found}, ${version}) with its own plugins`,
            };
        }
        if (want === "path") {
            throw new Error(`the pulumi on PATH (${found}) is ${version}; this program's SDK needs at least ${sdk}`);
        }
        log(`engine: the pulumi on PATH is ${version}, older than the SDK's ${sdk}: using the engine built from Go modules`);
    } else if (want === "path") {
        throw new Error("SAMPLE_APP_ENGINE=path, but there is no pulumi on PATH");
    }
    const v = versions();
    const bins = builtBinaries(v);
    if (!fs.existsSync(bins.pulumi) || !fs.existsSync(bins.provider)) {
        log("engine: building the Pulumi CLI and the kubernetes provider from Go modules (scripts/engine/build.sh)");
        const r = spawnSync("bash", [path.join(ENGINE_DIR, "build.sh")], { stdio: ["ignore", "inherit", "inherit"] });
        if (r.status !== 0) {
            throw new Error(`scripts/engine/build.sh failed (exit ${r.status ?? r.signal})`);
        }
    }
    // The engine takes plugins named pulumi-resource-<name> (and language hosts) from PATH: a directory
    // of links with those names, keyed by the versions, first on PATH.
    const root = path.join(ENGINE_CACHE, `path-${v.PULUMI_VERSION}-${v.PULUMI_K8S_PROVIDER_VERSION}`);
    const links: Record<string, string> = { pulumi: bins.pulumi, "pulumi-resource-kubernetes": bins.provider };
    fs.mkdirSync(path.join(root, "bin"), { recursive: true });
    for (const [name, target] of Object.entries(links)) {
        const link = path.join(root, "bin", name);
        if (fs.lstatSync(link, { throwIfNoEntry: false })) {
            if (fs.readlinkSync(link) === target) {
                continue;
            }
            fs.rmSync(link);
        }
        fs.symlinkSync(target, link);
    }
    const bin = path.join(root, "bin");
    const version = versionOf(bins.pulumi);
    const host = languageHostDir(log);
    return {
        source: "built", pulumi: path.join(bin, "pulumi"), version, root,
        env: {
            PATH: [bin, ...(host ? [host] : []), process.env.PATH ?? ""].join(path.delimiter),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            ...(pulumiHome ? { PULUMI_HOME: pulumiHome } : {}),
        },
        describe: `the Pulumi CLI ${version} and kubernetes provider ${v.PULUMI_K8S_PROVIDER_VERSION} built from Go modules (${bin})`,
    };
}
