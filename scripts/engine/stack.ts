/**
 * `up`, `preview`, `refresh`, `drift` and `destroy` of this repository's program on the real Pulumi engine,
 * as an Automation API inline program (workspace.ts): one code path for the local cluster
 * (scripts/cluster/deploy.ts adds its own settings) and for any other backend and cluster, such as
 * the review environment's minikube in CI.
 *
 *   ts-node scripts/engine/stack.ts up|preview|refresh|drift|destroy STACK --work-dir=DIR
 *       [--refresh] [--expect-no-changes] [--event-log=FILE] [--policy-pack=DIR] [--policy-pack-config=FILE] [key=value ...]
 *
 * `drift` is `pulumi preview --refresh`: the engine's progress goes to stderr, the drift report
 * (scripts/drift/report.ts: each object and field that differs from the program, secrets masked) to
 * stdout, and the exit status is 0 without drift, 3 with drift, 1 when the preview failed.
 *
 * The backend is PULUMI_BACKEND_URL (or the CLI's login), the secrets passphrase
 * PULUMI_CONFIG_PASSPHRASE(_FILE), as for the CLI. --work-dir holds the copies of Pulumi.yaml and the
 * stack file (the tracked ones are never written). Policy packs run through the CLI's Node.js
 * language host, which a normal Pulumi install has.
 */
import * as fs from "fs";
import * as path from "path";
import { DestroyResult, EngineEvent, OpMap, PreviewResult, Stack, UpResult } from "@pulumi/pulumi/automation";
import { Drift, driftExit, driftOf, renderDrift } from "../drift/report";
import { engine } from "./toolchain";
import { openStack } from "./workspace";

/** Where a run's output goes, and what it must hold to. */
export interface RunOptions {
    /** Pulumi's progress and diff as the CLI prints it. Default: this process's stdout. */
    readonly onOutput?: (text: string) => void;
    readonly onEvent?: (e: EngineEvent) => void;
    /** Fail if the run would change anything (preview, refresh, up). */
    readonly expectNoChanges?: boolean;
    /** Read every object back from the cluster before planning (preview, up): `--refresh`. An `up --refresh` puts drift back. */
    readonly refresh?: boolean;
    /** Policy pack directories to enforce (preview, up). */
    readonly policyPacks?: readonly string[];
    /** Their config files, one per pack. */
    readonly policyPackConfigs?: readonly string[];
}

const print = (text: string) => process.stdout.write(text);

function common(run: RunOptions) {
    return { onOutput: run.onOutput ?? print, onEvent: run.onEvent, color: "never" as const };
}

/** Policy packs apply to the operations that plan changes: preview and up. */
function policies(run: RunOptions) {
    return run.policyPacks?.length ? { policyPacks: [...run.policyPacks], policyPackConfigs: [...(run.policyPackConfigs ?? [])] } : {};
}

/** A Kubernetes object of a stack, as its state records it. */
export interface StackObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** The stack's Kubernetes objects from its checkpoint. */
export async function stackObjects(s: Stack): Promise<StackObject[]> {
    const state = await s.exportStack();
    const resources = (state.deployment as { resources?: Array<{ type: string; outputs?: Record<string, unknown> }> }).resources ?? [];
    return resources
        .filter(r => r.type.startsWith("kubernetes:") && r.outputs?.kind !== undefined)
        .map(r => {
            const o = r.outputs as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
            return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } };
        });
}

/** What an `up` did. */
export interface UpDone {
    /** Seconds `pulumi up` took: the provider waits for every Deployment, StatefulSet and Service to be ready. */
    readonly seconds: number;
    /**
     * Seconds of the `pulumi up` command itself: from its start to the engine's summary, the last
     * thing it reports. `seconds` adds what the Automation API does after it (about 0.8 s here: two
     * `pulumi stack output` and a `pulumi stack history`, the secrets decrypted for each), which a
     * `pulumi up` from the CLI does not do.
     */
    readonly commandSeconds: number;
    /** The stack's outputs, as `pulumi stack output --show-secrets` shows them. */
    readonly outputs: Record<string, unknown>;
    /** Operations by kind (create, update, same, replace, ...), as the engine counted them. */
    readonly changes: OpMap;
}

export async function up(s: Stack, run: RunOptions = {}): Promise<UpDone> {
    const t0 = Date.now();
    let summaryAt: number | undefined;
    const onEvent = (e: EngineEvent) => {
        if (e.summaryEvent) {
            summaryAt = Date.now();
        }
        run.onEvent?.(e);
    };
    const r: UpResult = await s.up({ ...common(run), onEvent, ...policies(run), expectNoChanges: run.expectNoChanges, ...(run.refresh ? { refresh: true } : {}) });
    const end = Date.now();
    return {
        seconds: (end - t0) / 1000,
        commandSeconds: ((summaryAt ?? end) - t0) / 1000,
        outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value])),
        changes: r.summary.resourceChanges ?? {},
    };
}

export function preview(s: Stack, run: RunOptions = {}): Promise<PreviewResult> {
    return s.preview({ ...common(run), ...policies(run), diff: true, expectNoChanges: run.expectNoChanges, ...(run.refresh ? { refresh: true } : {}) });
}

export async function refresh(s: Stack, run: RunOptions = {}): Promise<OpMap> {
    const r = await s.refresh({ ...common(run), expectNoChanges: run.expectNoChanges });
    return r.summary.resourceChanges ?? {};
}

/**
 * `pulumi preview --refresh` read as drift: every object the preview would change back after reading
 * the cluster, with its fields. A preview that fails throws (drift unknown).
 */
export async function drift(s: Stack, run: RunOptions = {}): Promise<Drift> {
    const events: EngineEvent[] = [];
    await preview(s, { ...run, refresh: true, expectNoChanges: false, onEvent: e => { events.push(e); run.onEvent?.(e); } });
    return driftOf(events, s.name);
}

/** `pulumi destroy`, then the stack leaves the backend (and its work copy of the stack file). */
export async function destroy(s: Stack, run: RunOptions = {}): Promise<DestroyResult> {
    const r = await s.destroy(common(run));
    await s.workspace.removeStack(s.name);
    return r;
}

export const COMMANDS = ["up", "preview", "refresh", "drift", "destroy"] as const;
export type Command = (typeof COMMANDS)[number];

/** A parsed command line. */
export interface CommandLine {
    readonly command: Command;
    readonly stack: string;
    readonly overrides: Record<string, string>;
    readonly expectNoChanges: boolean;
    /** `--refresh` (up, preview): read every object back from the cluster first. */
    readonly refresh: boolean;
    readonly eventLog?: string;
    readonly policyPacks: string[];
    readonly policyPackConfigs: string[];
    /** `--NAME=value` flags a caller allowed beyond these (e.g. --work-dir). */
    readonly extra: Record<string, string>;
}

/**
 * The command line: a command, a stack, flags and `key=value` config overrides; throws a message
 * that says what is wrong. `names` renames the commands (the local cluster says `deploy` for `up`).
 */
export function parseCommandLine(
    argv: readonly string[],
    o: { stacks?: readonly string[]; stackHint?: string; names?: Readonly<Record<string, Command>>; extraFlags?: readonly string[] } = {},
): CommandLine {
    const [word, stack, ...rest] = argv;
    const names: Readonly<Record<string, Command>> = o.names ?? Object.fromEntries(COMMANDS.map(c => [c, c]));
    const command = names[word ?? ""];
    if (command === undefined) {
        throw new Error(`unknown command ${JSON.stringify(word ?? "")}: use one of ${Object.keys(names).join(", ")}`);
    }
    if (stack === undefined || stack.startsWith("-")) {
        throw new Error(`${word} needs a STACK${o.stacks ? ` (${o.stacks.join(", ").replace(/, ([^,]*)$/, " or $1")})` : ""}`);
    }
    if (o.stacks && !o.stacks.includes(stack)) {
        throw new Error(`stack ${JSON.stringify(stack)} ${o.stackHint ?? `is not one of ${o.stacks.join(", ")}`}`);
    }
    let expectNoChanges = false;
    let refresh = false;
    let eventLog: string | undefined;
    const policyPacks: string[] = [];
    const policyPackConfigs: string[] = [];
    const extra: Record<string, string> = {};
    const overrides: Record<string, string> = {};
    const flags = ["--event-log=FILE", ...(command === "up" || command === "preview" ? ["--policy-pack=DIR", "--policy-pack-config=FILE"] : []),
        ...(o.extraFlags ?? []).map(f => `--${f}=VALUE`), ...(command === "preview" || command === "refresh" ? ["--expect-no-changes"] : []),
        ...(command === "up" || command === "preview" ? ["--refresh"] : [])];
    for (const arg of rest) {
        const flag = /^--([a-z-]+)=(.+)$/.exec(arg);
        if (arg === "--expect-no-changes" && (command === "preview" || command === "refresh")) {
            expectNoChanges = true;
        } else if (arg === "--refresh" && (command === "up" || command === "preview")) {
            refresh = true;
        } else if (flag?.[1] === "event-log") {
            eventLog = flag[2];
        } else if (flag?.[1] === "policy-pack" && (command === "up" || command === "preview")) {
            policyPacks.push(flag[2]);
        } else if (flag?.[1] === "policy-pack-config" && (command === "up" || command === "preview")) {
            policyPackConfigs.push(flag[2]);
        } else if (flag && (o.extraFlags ?? []).includes(flag[1])) {
            extra[flag[1]] = flag[2];
        } else {
            const m = /^([A-Za-z][A-Za-z0-9]*(?::[A-Za-z][A-Za-z0-9]*)?)=(.*)$/.exec(arg);
            if (!m) {
                throw new Error(`${JSON.stringify(arg)}: expected a config override ${["key=value", ...flags].join(", ").replace(/, ([^,]*)$/, " or $1")}`);
            }
            overrides[m[1]] = m[2];
        }
    }
    if (policyPackConfigs.length > 0 && policyPackConfigs.length !== policyPacks.length) {
        throw new Error(`${policyPackConfigs.length} --policy-pack-config for ${policyPacks.length} --policy-pack: give one config per pack, in the same order`);
    }
    return { command, stack, overrides, expectNoChanges, refresh, ...(eventLog ? { eventLog } : {}), policyPacks, policyPackConfigs, extra };
}

/** Runs a parsed command on a stack; `open` selects it with the overrides. Returns the exit status (drift's 3 when it found some). */
export async function runCommandLine(c: CommandLine, open: () => Promise<Stack>, log: (m: string) => void = m => process.stderr.write(`${m}\n`)): Promise<number> {
    if (c.eventLog) {
        fs.writeFileSync(c.eventLog, "");
    }
    const run: RunOptions = {
        // The CLI runs in the workspace's directory: paths given here are relative to ours.
        expectNoChanges: c.expectNoChanges, refresh: c.refresh, policyPacks: c.policyPacks.map(p => path.resolve(p)), policyPackConfigs: c.policyPackConfigs.map(p => path.resolve(p)),
        ...(c.eventLog ? { onEvent: (e: EngineEvent) => fs.appendFileSync(c.eventLog!, `${JSON.stringify(e)}\n`) } : {}),
    };
    const s = await open();
    if (c.command === "up") {
        const d = await up(s, run);
        log(`${c.stack}: up in ${d.seconds.toFixed(1)}s`);
    } else if (c.command === "preview") {
        await preview(s, run);
    } else if (c.command === "refresh") {
        await refresh(s, run);
    } else if (c.command === "drift") {
        // stdout is the report's: the engine's progress goes to stderr.
        const d = await drift(s, { ...run, onOutput: t => process.stderr.write(t) });
        process.stdout.write(renderDrift(d));
        log(`${c.stack}: ${d.objects.length === 0 ? "no drift" : `${d.objects.length} object(s) drifted from the program`}`);
        return driftExit(d);
    } else {
        await destroy(s, run);
        log(`${c.stack}: destroyed, and the stack removed from the backend`);
    }
    return 0;
}

/** The Automation API wraps the engine's message in the command line it ran: keep what the engine said. */
export function engineMessage(e: unknown): string {
    const message = e instanceof Error ? e.message : String(e);
    return message.split("\n").filter(l => !/^code: |^ ?stdout: $|^ ?err\?: /.test(l)).join("\n");
}

async function main(argv: string[]): Promise<void> {
    const c = parseCommandLine(argv, { extraFlags: ["work-dir"] });
    const workDir = c.extra["work-dir"];
    if (!workDir) {
        throw new Error("--work-dir=DIR is required: the directory for the copies of Pulumi.yaml and the stack file");
    }
    const e = engine();
    process.stderr.write(`${c.command} ${c.stack} with ${e.describe}\n`);
    const backendUrl = process.env.PULUMI_BACKEND_URL;
    process.exitCode = await runCommandLine(c, () => openStack({
        stack: c.stack, engine: e, overrides: c.overrides,
        place: { workDir, ...(backendUrl ? { backendUrl } : {}) },
    }));
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        process.stderr.write(`engine ${process.argv[2] ?? ""}: ${engineMessage(e)}\n`);
        process.exit(1);
    });
}
