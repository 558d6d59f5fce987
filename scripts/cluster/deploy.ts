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
 *   ts-node scripts/cluster/deploy.ts deploy|preview|refresh|destroy STACK [--expect-no-changes] [--event-log=FILE]
 *       [--policy-pack=DIR --policy-pack-config=FILE] [key=value ...]
 *
 * --event-log=FILE writes the engine's events as JSON lines, as `pulumi preview --event-log` does
 * (scripts/preview-comment.ts turns a preview's into a pull-request comment).
 */
import * as crypto from "crypto";
import * as path from "path";
import * as yaml from "js-yaml";
import * as fs from "fs";
import { DestroyResult, OpMap, PreviewResult, Stack } from "@pulumi/pulumi/automation";
import {
    CommandLine, destroy as destroyStack, engineMessage, parseCommandLine, preview as previewStack, refresh as refreshStack, RunOptions,
    runCommandLine, StackObject, stackObjects, up, UpDone,
} from "../engine/stack";
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
    const mode = redisMode(stack, overrides);
    // A canary uses prod's Redis and password; a managed Redis has its own.
    if (overrides.prodStack || mode === "managed") {
        return {};
    }
    return { redisPassword: make, ...(mode === "sentinel" ? { redisSentinelPassword: make } : {}) };
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

/** What an `up` did. */
export interface Deployed extends UpDone {
    /** The Kubernetes objects in the stack's state after the update. */
    readonly objects: StackObject[];
    /** Seconds `pulumi up` took: the provider waits for every Deployment, StatefulSet and Service to be ready. */
    readonly readySeconds: number;
    readonly url: string;
}

/** `pulumi up` of a local stack; resolves when the engine has waited for every object to be ready. */
export async function deploy(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<Deployed> {
    const s = await localStack(stack, extra);
    const d = await up(s, run);
    const url = `http://${String(d.outputs.host ?? stackHost(stack))}:${HTTP_PORT}/`;
    return { ...d, objects: await stackObjects(s), readySeconds: d.seconds, url };
}

/** `pulumi preview --diff` of a local stack with these overrides (nothing is changed). */
export async function preview(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<PreviewResult> {
    return previewStack(await localStack(stack, extra), run);
}

/** `pulumi refresh`: reads every object back from the cluster into the state. */
export async function refresh(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<OpMap> {
    return refreshStack(await localStack(stack, extra), run);
}

/** `pulumi destroy`, then the stack is removed from the local backend (its config copy with it). */
export async function destroy(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<DestroyResult> {
    return destroyStack(await localStack(stack, extra), run);
}

/** The local command names: `deploy` is `pulumi up`. */
const LOCAL_COMMANDS = { deploy: "up", preview: "preview", refresh: "refresh", destroy: "destroy" } as const;

/** The command line of `npm run cluster -- deploy|preview|refresh|destroy`; throws a message that says what is wrong. */
export function parseArgs(argv: readonly string[]): CommandLine {
    return parseCommandLine(argv, {
        stacks: LOCAL_STACKS, names: LOCAL_COMMANDS,
        stackHint: `does not run on the local cluster; local stacks: ${LOCAL_STACKS.join(", ")} (gray and prod target ACK)`,
    });
}

async function main(argv: string[]): Promise<void> {
    const c = parseArgs(argv);
    process.stderr.write(`${argv[0]} ${c.stack} with ${localEngine().describe}\n`);
    await runCommandLine(c, () => localStack(c.stack, c.overrides));
    if (c.command === "up") {
        process.stdout.write(`${c.stack}: UI at http://${stackHost(c.stack)}:${HTTP_PORT}/\n`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        process.stderr.write(`cluster ${process.argv[2] ?? ""}: ${engineMessage(e)}\n`);
        process.exit(1);
    });
}
