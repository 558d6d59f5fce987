/**
 * `pulumi up`, `preview`, `refresh` and `destroy` of a stack on the local cluster, on the real
 * Pulumi engine (scripts/engine): the program is index.ts as an Automation API inline program, the
 * state is a file backend in the cluster's state directory, secrets are encrypted with a passphrase
 * kept there. Run by `cluster.sh deploy|preview|refresh|destroy`, and by the cluster test.
 *
 * The stack's own Pulumi.<stack>.yaml is used, with the settings a user would `pulumi config set`
 * for this cluster: clusterProfile local, its kube context, the host <name>.<stack>.localhost (curl
 * and Chromium resolve it to loopback, where the gateway serves it), and Redis passwords set once
 * as secret config (so the random provider, which the registries here do not serve, is not needed).
 *
 *   ts-node scripts/cluster/deploy.ts deploy|preview|refresh|destroy STACK [--expect-no-changes] [--event-log=FILE] [key=value ...]
 *
 * --event-log=FILE writes the engine's events as JSON lines, as `pulumi preview --event-log` does
 * (scripts/preview-comment.ts turns a preview's into a pull-request comment).
 */
import * as crypto from "crypto";
import * as path from "path";
import * as yaml from "js-yaml";
import * as fs from "fs";
import { DestroyResult, EngineEvent, OpMap, PreviewResult, Stack, UpResult } from "@pulumi/pulumi/automation";
import { engine, Engine } from "../engine/toolchain";
import { openStack, WorkspacePlace } from "../engine/workspace";
import { HTTP_PORT, REPO_ROOT, STATE, stackHost } from "./env";

/** Stacks that run on the local cluster: gray and prod target ACK (test plays gray of dev in the cluster test). */
export const LOCAL_STACKS = ["dev", "test"] as const;

/** Where the engine keeps the local cluster's stacks: backend, work copies of the stack files, passphrase, plugin home. */
export const ENGINE_STATE = path.join(STATE, "engine");
export const PLACE: WorkspacePlace = {
    workDir: path.join(ENGINE_STATE, "work"),
    backendUrl: `file://${path.join(ENGINE_STATE, "backend")}`,
    passphraseFile: path.join(ENGINE_STATE, "passphrase"),
    pulumiHome: path.join(ENGINE_STATE, "home"),
};

/** The config a user sets to point a stack at the local cluster. */
export function localOverrides(stack: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return { clusterProfile: "local", kubeContext: "sample-app-local", host: stackHost(stack), ...extra };
}

/** The Redis mode a stack runs with these overrides: the Sentinel password is set only where Sentinels run. */
function redisMode(stack: string, overrides: Record<string, string | undefined>): string {
    if ("redisMode" in overrides) {
        return overrides.redisMode ?? "statefulset";
    }
    const file = yaml.load(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> } | null;
    return String(file?.config?.["sample-app:redisMode"] ?? "statefulset");
}

/** Generated once per stack and kept in the stack's config as secrets (encrypted, as `pulumi config set --secret` does). */
function passwordSecrets(stack: string, overrides: Record<string, string | undefined>): Record<string, () => string> {
    const make = () => crypto.randomBytes(24).toString("base64url");
    // A canary uses prod's Redis and password; a managed Redis has its own.
    if (overrides.prodStack || redisMode(stack, overrides) === "managed") {
        return {};
    }
    return { redisPassword: make, ...(redisMode(stack, overrides) === "sentinel" ? { redisSentinelPassword: make } : {}) };
}

let cachedEngine: Engine | undefined;
/** The engine, resolved once per process. */
export function localEngine(): Engine {
    cachedEngine ??= engine(m => process.stderr.write(`${m}\n`), PLACE.pulumiHome);
    return cachedEngine;
}

/** The stack on the local cluster with these overrides, its config written. */
export function localStack(stack: string, extra: Record<string, string | undefined> = {}): Promise<Stack> {
    const overrides = localOverrides(stack, extra);
    return openStack({ stack, place: PLACE, engine: localEngine(), overrides, secrets: passwordSecrets(stack, overrides) });
}

/** A Kubernetes object of the stack, as its state records it. */
export interface StackObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** What an `up` did. */
export interface Deployed {
    /** The Kubernetes objects in the stack's state after the update. */
    readonly objects: StackObject[];
    /** Seconds `pulumi up` took: the provider waits for every Deployment, StatefulSet and Service to be ready. */
    readonly readySeconds: number;
    readonly url: string;
    /** The stack's outputs, as `pulumi stack output --show-secrets` shows them. */
    readonly outputs: Record<string, unknown>;
    /** Operations by kind (create, update, same, replace, ...), as the engine counted them. */
    readonly changes: OpMap;
}

/** Where a run's output goes: Pulumi's progress and diff as the CLI prints it. */
export interface RunOptions {
    readonly onOutput?: (text: string) => void;
    readonly onEvent?: (e: EngineEvent) => void;
    readonly expectNoChanges?: boolean;
}

const print = (text: string) => process.stdout.write(text);

/** The stack's Kubernetes objects from its checkpoint. */
export async function stackObjects(s: Stack): Promise<StackObject[]> {
    const state = await s.exportStack();
    const resources = (state.deployment as { resources?: Array<{ type: string; outputs?: Record<string, unknown> }> }).resources ?? [];
    return resources
        .filter(r => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:") && r.outputs?.kind !== undefined)
        .map(r => {
            const o = r.outputs as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
            return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } };
        });
}

/** `pulumi up` of a local stack; resolves when the engine has waited for every object to be ready. */
export async function deploy(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<Deployed> {
    const s = await localStack(stack, extra);
    const t0 = Date.now();
    const r: UpResult = await s.up({ onOutput: run.onOutput ?? print, onEvent: run.onEvent, expectNoChanges: run.expectNoChanges, color: "never" });
    const readySeconds = (Date.now() - t0) / 1000;
    const outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
    const url = `http://${String(outputs.host ?? stackHost(stack))}:${HTTP_PORT}/`;
    return { objects: await stackObjects(s), readySeconds, url, outputs, changes: r.summary.resourceChanges ?? {} };
}

/** `pulumi preview` of a local stack with these overrides (nothing is changed). */
export async function preview(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<PreviewResult> {
    const s = await localStack(stack, extra);
    return s.preview({ diff: true, onOutput: run.onOutput ?? print, onEvent: run.onEvent, expectNoChanges: run.expectNoChanges, color: "never" });
}

/** `pulumi refresh`: reads every object back from the cluster into the state. */
export async function refresh(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<OpMap> {
    const s = await localStack(stack, extra);
    const r = await s.refresh({ onOutput: run.onOutput ?? print, onEvent: run.onEvent, expectNoChanges: run.expectNoChanges, color: "never" });
    return r.summary.resourceChanges ?? {};
}

/** `pulumi destroy`, then the stack is removed from the backend (its config copy with it). */
export async function destroy(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<DestroyResult> {
    const s = await localStack(stack, extra);
    const r = await s.destroy({ onOutput: run.onOutput ?? print, onEvent: run.onEvent, color: "never" });
    await s.workspace.removeStack(stack);
    return r;
}

export const COMMANDS = ["deploy", "preview", "refresh", "destroy"] as const;
type Command = (typeof COMMANDS)[number];

/** The command line: a command, a local stack, flags and `key=value` overrides; throws a message that says what is wrong. */
export function parseArgs(argv: readonly string[]): { command: Command; stack: string; expectNoChanges: boolean; eventLog?: string; overrides: Record<string, string> } {
    const [command, stack, ...rest] = argv;
    if (!(COMMANDS as readonly string[]).includes(command ?? "")) {
        throw new Error(`unknown command ${JSON.stringify(command ?? "")}: use one of ${COMMANDS.join(", ")}`);
    }
    if (stack === undefined) {
        throw new Error(`${command} needs a STACK (${LOCAL_STACKS.join(" or ")})`);
    }
    if (!(LOCAL_STACKS as readonly string[]).includes(stack)) {
        throw new Error(`stack ${JSON.stringify(stack)} does not run on the local cluster; local stacks: ${LOCAL_STACKS.join(", ")} (gray and prod target ACK)`);
    }
    let expectNoChanges = false;
    let eventLog: string | undefined;
    const overrides: Record<string, string> = {};
    for (const arg of rest) {
        if (arg === "--expect-no-changes" && command !== "deploy" && command !== "destroy") {
            expectNoChanges = true;
            continue;
        }
        if (arg.startsWith("--event-log=") && arg.length > "--event-log=".length) {
            eventLog = arg.slice("--event-log=".length);
            continue;
        }
        const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(arg);
        if (!m) {
            throw new Error(`${JSON.stringify(arg)}: expected a config override key=value, --event-log=FILE${command === "preview" || command === "refresh" ? " or --expect-no-changes" : ""}`);
        }
        overrides[m[1]] = m[2];
    }
    return { command: command as Command, stack, expectNoChanges, ...(eventLog ? { eventLog } : {}), overrides };
}

async function main(argv: string[]): Promise<void> {
    const { command, stack, expectNoChanges, eventLog, overrides } = parseArgs(argv);
    process.stderr.write(`${command} ${stack} with ${localEngine().describe}\n`);
    if (eventLog) {
        fs.writeFileSync(eventLog, "");
    }
    const run: RunOptions = { expectNoChanges, ...(eventLog ? { onEvent: e => fs.appendFileSync(eventLog, `${JSON.stringify(e)}\n`) } : {}) };
    if (command === "deploy") {
        const d = await deploy(stack, overrides, run);
        process.stdout.write(`${stack}: up in ${d.readySeconds.toFixed(1)}s; UI at ${d.url}\n`);
    } else if (command === "preview") {
        await preview(stack, overrides, run);
    } else if (command === "refresh") {
        await refresh(stack, overrides, run);
    } else {
        await destroy(stack, overrides, run);
        process.stdout.write(`${stack}: destroyed, and the stack removed from the local backend\n`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        // The engine's own message says what failed; the Automation API wraps it in the command line it ran.
        const message = e instanceof Error ? e.message : String(e);
        process.stderr.write(`cluster ${process.argv[2] ?? ""}: ${message.split("\n").filter(l => !/^code: |^stdout: $|^err\?: /.test(l)).join("\n")}\n`);
        process.exit(1);
    });
}
