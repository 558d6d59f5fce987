/**
 * `npm run release -- --candidate TAG`: releases a build through gray, on the stacks of your backend
 * (`pulumi login`), with the Pulumi CLI on PATH, through the Automation API (docs/releases.md):
 *
 *   npm run release -- --candidate TAG [--api-digest sha256:<64 hex>] [--web-digest sha256:<64 hex>]
 *                      [--prod STACK] [--gray STACK] [--prometheus URL]
 *                      [--policy-pack DIR --policy-pack-config FILE]   enforced on every update, as the deploy workflow does
 *
 * gray gets the candidate, is tried through the canary header, prod's grayWeight steps through
 * `release:weights` with a judgement of gray against prod on Prometheus at each step, then prod rolls
 * to the candidate and the weight goes back to 0; or the weight goes to 0 at once and the command
 * exits 1 with the figures that failed. Settings: prod's stack file, `release:*` (release/config.ts).
 * PROMETHEUS_AUTHORIZATION, when set, is sent as the Authorization header (ARMS with a token).
 * Exit status: 0 promoted, 1 rolled back, 2 bad arguments or settings, 3 a step failed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { up } from "../scripts/engine/stack";
import { engine, REPO_ROOT } from "../scripts/engine/toolchain";
import { openStack, projectDefault, stackFileConfig } from "../scripts/engine/workspace";
import { releaseConfig } from "./config";
import { describeVerdict } from "./judge";
import { prometheusAt } from "./prometheus";
import { OpenStack, stackEffects, waitForCanary } from "./stacks";
import { Images, release, ReleaseResult } from "./stepper";

const USAGE = "usage: npm run release -- --candidate TAG [--api-digest sha256:<64 hex>] [--web-digest sha256:<64 hex>] [--prod STACK] [--gray STACK] [--prometheus URL] [--policy-pack DIR --policy-pack-config FILE]";
const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** An image tag as OCI allows it. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ReleaseArgs {
    readonly candidate: Images;
    readonly prod: string;
    readonly gray: string;
    readonly prometheus?: string;
    /** A policy pack enforced on every update, and its config file. */
    readonly policyPack?: { readonly dir: string; readonly config?: string };
}

/** The command line; throws a message that says what is wrong. */
export function parseReleaseArgs(argv: readonly string[]): ReleaseArgs {
    const v = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) {
        const m = /^--(candidate|api-digest|web-digest|prod|gray|prometheus|policy-pack|policy-pack-config)(?:=(.*))?$/.exec(argv[i]);
        if (!m) throw new Error(`unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
        const value = m[2] ?? argv[++i];
        if (value === undefined || value === "") throw new Error(`--${m[1]} needs a value\n${USAGE}`);
        if (v.has(m[1])) throw new Error(`--${m[1]} is given twice`);
        v.set(m[1], value);
    }
    const tag = v.get("candidate");
    if (tag === undefined) throw new Error(`--candidate is required\n${USAGE}`);
    if (!TAG.test(tag) || tag === "latest") throw new Error(`--candidate ${JSON.stringify(tag)} is not an image tag (letters, digits, _ . -; never latest)`);
    for (const d of ["api-digest", "web-digest"]) {
        const x = v.get(d);
        if (x !== undefined && !DIGEST.test(x)) throw new Error(`--${d} ${JSON.stringify(x)} is not a digest: sha256:<64 hex>`);
    }
    const prod = v.get("prod") ?? "prod";
    const gray = v.get("gray") ?? "gray";
    for (const s of [prod, gray]) {
        if (!/^[A-Za-z0-9_.-]+$/.test(s) || !fs.existsSync(path.join(REPO_ROOT, `Pulumi.${s}.yaml`))) {
            throw new Error(`stack ${JSON.stringify(s)} has no Pulumi.${s}.yaml in this repository`);
        }
    }
    if (prod === gray) throw new Error(`--prod and --gray are both ${prod}: a release needs two stacks`);
    const pack = v.get("policy-pack");
    const packConfig = v.get("policy-pack-config");
    if (packConfig !== undefined && pack === undefined) throw new Error("--policy-pack-config needs --policy-pack");
    for (const [flag, p] of [["--policy-pack", pack], ["--policy-pack-config", packConfig]] as const) {
        if (p !== undefined && !fs.existsSync(p)) throw new Error(`${flag} ${JSON.stringify(p)} does not exist`);
    }
    return {
        candidate: {
            imageTag: tag,
            ...(v.has("api-digest") ? { apiImageDigest: v.get("api-digest") } : {}),
            ...(v.has("web-digest") ? { webImageDigest: v.get("web-digest") } : {}),
        },
        prod, gray, prometheus: v.get("prometheus"),
        ...(pack !== undefined ? { policyPack: { dir: pack, ...(packConfig !== undefined ? { config: packConfig } : {}) } } : {}),
    };
}

/** One line of a release's log, with the time: `[release HH:MM:SS] ...`. */
export function logLine(l: string): void {
    process.stdout.write(`[release ${new Date().toISOString().slice(11, 19)}] ${l}\n`);
}

/** Logs how a release of `candidate` on `prod` ended; returns the exit status: 0 promoted, 1 rolled back. */
export function reportOutcome(r: ReleaseResult, candidate: Images, prod: string, log: (l: string) => void = logLine): number {
    if (r.outcome === "promoted") {
        log(`promoted: ${prod} runs ${candidate.imageTag}, grayWeight 0`);
        return 0;
    }
    log(`rolled back at ${r.weight} %: grayWeight 0, ${prod} still runs what it ran\n  ${describeVerdict(r.verdict).replace(/\n/g, "\n  ")}`);
    return 1;
}

async function main(argv: string[]): Promise<number> {
    let args: ReleaseArgs;
    let config: ReturnType<typeof releaseConfig>;
    try {
        args = parseReleaseArgs(argv);
        config = releaseConfig(stackFileConfig(args.prod));
    } catch (e) {
        process.stderr.write(`release: ${e instanceof Error ? e.message : String(e)}\n`);
        return 2;
    }
    const url = args.prometheus ?? config.prometheusUrl;
    if (url === undefined) {
        process.stderr.write(`release: no Prometheus to judge with: set release:prometheusUrl in Pulumi.${args.prod}.yaml or give --prometheus URL\n`);
        return 2;
    }
    const auth = process.env.PROMETHEUS_AUTHORIZATION;
    const query = prometheusAt(url, auth ? { Authorization: auth } : {});
    const log = logLine;
    const e = engine(m => process.stderr.write(`${m}\n`));
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "sample-app-release-"));
    const open: OpenStack = (stack, overrides) => openStack({ stack, place: { workDir }, engine: e, overrides });
    const outputs = async (stack: string) => Object.fromEntries(Object.entries(await (await open(stack, {})).outputs()).map(([k, o]) => [k, o.value as unknown]));
    try {
        const [prodOut, grayOut] = await Promise.all([outputs(args.prod), outputs(args.gray).catch(() => ({} as Record<string, unknown>))]);
        const publicUrl = String(prodOut.publicUrl ?? "");
        const header = String(stackFileConfig(args.gray)["sample-app:canaryHeader"] ?? "X-Canary");
        const effects = stackEffects({
            prod: args.prod, gray: args.gray, open,
            up: async s => {
                await up(s, {
                    onOutput: t => process.stdout.write(t.replace(/^/gm, "    ")), refresh: true,
                    ...(args.policyPack ? { policyPacks: [args.policyPack.dir], policyPackConfigs: args.policyPack.config ? [args.policyPack.config] : [] } : {}),
                });
            },
            defaultImageTag: projectDefault("imageTag"),
            namespaces: { prod: String(prodOut.namespace), gray: String(grayOut.namespace ?? `sample-app-${args.gray}`) },
            query, thresholds: config.thresholds, log,
            tryCanary: () => waitForCanary(async () => (await fetch(new URL("/api/users?limit=1", publicUrl), {
                headers: { [header]: "always" }, signal: AbortSignal.timeout(10_000),
            })).status, `GET ${new URL("/api/users?limit=1", publicUrl).href} with ${header}: always`),
        });
        return reportOutcome(await release(args.candidate, config.schedule, effects), args.candidate, args.prod, log);
    } catch (err) {
        process.stderr.write(`release: ${err instanceof Error ? err.message : String(err)}\n`);
        return 3;
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(code => process.exit(code), e => {
        process.stderr.write(`release: ${String(e)}\n`);
        process.exit(3);
    });
}
