/**
 * `pulumi up`, `preview`, `refresh` and `destroy` of a stack on the local cluster, on the real
 * Pulumi engine (scripts/engine): the program is index.ts as an Automation API inline program, the
 * state is a file backend in the cluster's state directory, secrets are encrypted with a passphrase
 * kept there. Run by `cluster.sh deploy|preview|refresh|drift|destroy`, and by the cluster suite.
 *
 * Each stack runs as its own Pulumi.<stack>.yaml says, with only what a user changes for a new cluster
 * (stackOverrides): dev and test as written (the cluster's kubeconfig has their `minikube` context,
 * and Traefik listens where their own Gateway does); gray and prod (on `up --like ack`) with the
 * images this cluster's registry holds by digest, a host, the range the ALB stand-in comes from, and
 * gray's prodStack as written. Redis passwords are set once as secret config (the random provider is
 * not served here). A lock left by a run that was killed is cleared, and its pending operations
 * resolved, before anything else (scripts/engine/recover.ts).
 *
 *   ts-node scripts/cluster/deploy.ts deploy|preview|refresh|drift|destroy STACK [--expect-no-changes] [--event-log=FILE]
 *       [--policy-pack=DIR --policy-pack-config=FILE] [key=value ...]
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DestroyResult, OpMap, PreviewResult, Stack } from "@pulumi/pulumi/automation";
import {
    CommandLine, destroy as destroyStack, engineMessage, parseCommandLine, preview as previewStack, refresh as refreshStack, RunOptions,
    runCommandLine, StackObject, stackObjects, up, UpDone,
} from "../engine/stack";
import { ManagedFieldsEntry, PendingObject, recoverStack, withoutOrphanedManagers } from "../engine/recover";
import { engine, Engine } from "../engine/toolchain";
import { openStack, stackFileConfig, WorkspacePlace } from "../engine/workspace";
import { clusterShape, kubectl, kubectlResult, STACKS_KUBECONFIG, STATE, stackEndpoint } from "./env";

/** The stacks of this repository; gray and prod need a cluster made with `up --like ack`. */
export const CLUSTER_STACKS = ["dev", "test", "gray", "prod"] as const;
const ACK_STACKS: readonly string[] = ["gray", "prod"];

/** Where the engine keeps the local cluster's stacks: backend, work copies of the stack files, passphrase, plugin home. */
export const ENGINE_STATE = path.join(STATE, "engine");
export const PLACE: WorkspacePlace = {
    workDir: path.join(ENGINE_STATE, "work"),
    backendUrl: `file://${path.join(ENGINE_STATE, "backend")}`,
    passphraseFile: path.join(ENGINE_STATE, "passphrase"),
    pulumiHome: path.join(ENGINE_STATE, "home"),
};

/**
 * The images of `tag` in the cluster's registry, as stack config (imageRegistry, imageTag, the
 * digests): the `key=value` lines of the file registry.sh writes when it pushes them.
 */
export function registryImages(tag = "0.1.0"): Record<string, string> {
    const file = path.join(STATE, "registry", `digests-${tag}.env`);
    if (!fs.existsSync(file)) {
        throw new Error(`no ${file}: the images of ${tag} are pushed to the cluster's registry by \`npm run cluster -- up --like ack\` (0.1.0), or \`IMAGE_TAG=${tag} npm run cluster -- images\``);
    }
    return Object.fromEntries(fs.readFileSync(file, "utf8").split("\n").map(l => /^([A-Za-z]+)=(.+)$/.exec(l)).filter(m => m !== null).map(m => [m[1], m[2]]));
}

/**
 * What a user changes in a stack file for this cluster: nothing for dev and test; for gray and prod
 * the registry and digests of the images pushed here (as the deploy workflow sets them), the host,
 * and the range ALB reaches the pods from (the nodes' range, where the ALB stand-in is).
 */
export function stackOverrides(stack: string): Record<string, string> {
    if (!ACK_STACKS.includes(stack)) {
        return {};
    }
    const shape = clusterShape();
    if (shape.like !== "ack") {
        throw new Error(`${stack} runs on ACK: bring the cluster up like it (npm run cluster -- down; npm run cluster -- up --nodes 3 --like ack)`);
    }
    const images = registryImages();
    const own: Record<string, string> = stack === "prod" ? { redisImage: images.redisImage, kubectlImage: images.kubectlImage, host: stackEndpoint("prod").host } : {};
    return {
        imageRegistry: images.imageRegistry, imageTag: images.imageTag, apiImageDigest: images.apiImageDigest, webImageDigest: images.webImageDigest,
        ingressAllowedCidrs: JSON.stringify([shape.nodeSubnet]), ...own,
    };
}

/** The Redis mode a stack runs with these overrides: the Sentinel password is set only where Sentinels run. */
function redisMode(stack: string, overrides: Record<string, string | undefined>): string {
    if ("redisMode" in overrides) {
        return overrides.redisMode ?? "statefulset";
    }
    return String(stackFileConfig(stack)["sample-app:redisMode"] ?? "statefulset");
}

/** Whether the stack file (with the overrides) makes this a canary of another stack. */
function isCanary(stack: string, overrides: Record<string, string | undefined>): boolean {
    if ("prodStack" in overrides) {
        return (overrides.prodStack ?? "") !== "";
    }
    return String(stackFileConfig(stack)["sample-app:prodStack"] ?? "") !== "";
}

/** Generated once per stack and kept in the stack's config as secrets (encrypted, as `pulumi config set --secret` does). */
function passwordSecrets(stack: string, overrides: Record<string, string | undefined>): Record<string, () => string> {
    const make = () => crypto.randomBytes(24).toString("base64url");
    const mode = redisMode(stack, overrides);
    // A canary uses prod's Redis and password; a managed Redis has its own.
    if (isCanary(stack, overrides) || mode === "managed") {
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

/** The stack on the local cluster with its overrides and these, its config written, any stale lock of a killed run cleared. */
export async function localStack(stack: string, extra: Record<string, string | undefined> = {}): Promise<Stack> {
    const overrides = { ...stackOverrides(stack), ...extra };
    const s = await openStack({
        stack, place: PLACE, engine: localEngine(), overrides, secrets: passwordSecrets(stack, overrides),
        // The contexts the stack files pin (minikube, ack-prod) lead to this cluster, from a kubeconfig of its own.
        env: { KUBECONFIG: STACKS_KUBECONFIG },
    });
    await recoverStack(s, { backendDir: path.join(ENGINE_STATE, "backend"), releaseOrphan, log: m => process.stderr.write(`${m}\n`) });
    return s;
}

/** Releases what a killed run's field manager owns of an object it created (recover.ts withoutOrphanedManagers). */
function releaseOrphan(o: PendingObject): string | undefined {
    const group = o.apiVersion.includes("/") ? `.${o.apiVersion.split("/")[0]}` : "";
    const ref = [...(o.namespace ? ["-n", o.namespace] : []), `${o.kind}${group}/${o.name}`];
    const got = kubectlResult(["get", ...ref, "-o", "json", "--show-managed-fields"]);
    if (got.status !== 0) {
        return undefined;
    }
    const fields = ((JSON.parse(got.stdout) as { metadata: { managedFields?: ManagedFieldsEntry[] } }).metadata.managedFields ?? []);
    const kept = withoutOrphanedManagers(fields);
    if (kept.length === fields.length) {
        return undefined;
    }
    // An empty list leaves managedFields as they are: one empty entry clears them (Kubernetes' documented way).
    kubectl(["patch", ...ref, "--type=merge", "-p", JSON.stringify({ metadata: { managedFields: kept.length > 0 ? kept : [{}] } })]);
    return `released the fields the killed run's ${fields.filter(f => !kept.includes(f)).map(f => f.manager).join(", ")} owned of ${o.kind} ${o.name}`;
}

/** What an `up` did. */
export interface Deployed extends UpDone {
    /** The Kubernetes objects in the stack's state after the update. */
    readonly objects: StackObject[];
    /** Seconds `pulumi up` took: the provider waits for every Deployment, StatefulSet and Service to be ready. */
    readonly readySeconds: number;
}

/** `pulumi up` of a stack on the cluster; resolves when the engine has waited for every object to be ready. */
export async function deploy(stack: string, extra: Record<string, string | undefined> = {}, run: RunOptions = {}): Promise<Deployed> {
    const s = await localStack(stack, extra);
    const d = await up(s, run);
    return { ...d, objects: await stackObjects(s), readySeconds: d.seconds };
}

/** `pulumi preview --diff` of a stack with these overrides (nothing is changed). */
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
const LOCAL_COMMANDS = { deploy: "up", preview: "preview", refresh: "refresh", drift: "drift", destroy: "destroy" } as const;

/** The command line of `npm run cluster -- deploy|preview|refresh|drift|destroy`; throws a message that says what is wrong. */
export function parseArgs(argv: readonly string[]): CommandLine {
    return parseCommandLine(argv, {
        stacks: CLUSTER_STACKS, names: LOCAL_COMMANDS,
        stackHint: `is not a stack of this repository: ${CLUSTER_STACKS.join(", ")}`,
    });
}

async function main(argv: string[]): Promise<void> {
    const c = parseArgs(argv);
    process.stderr.write(`${argv[0]} ${c.stack} with ${localEngine().describe}\n`);
    process.exitCode = await runCommandLine(c, () => localStack(c.stack, c.overrides));
    if (c.command === "up") {
        const e = stackEndpoint(c.stack, c.overrides.host);
        process.stdout.write(`${c.stack}: UI at ${e.url} (${e.howToReach})\n`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        process.stderr.write(`cluster ${process.argv[2] ?? ""}: ${engineMessage(e)}\n`);
        process.exit(1);
    });
}
