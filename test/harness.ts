/**
 * Runs the real program (index.ts) under Pulumi mocks with a stack's own
 * Pulumi.<stack>.yaml, and records every resource it registers.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { AliasSpec, EngineResource, engineResources, Registration } from "./urns";

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are checked structurally here. */
export type KObj = Record<string, any>;

export const ROOT = path.join(__dirname, "..");
export const STACKS = ["dev", "test", "gray", "prod"] as const;
export type StackName = (typeof STACKS)[number];

/** What the mock returns as the generated Redis password; it must never show up in plain text. */
export const MOCK_PASSWORD = "mock-redis-password-0123456789abcdef";

/** Outputs the mocked `prod` StackReference returns to gray. */
export const PROD_OUTPUTS = {
    namespace: "sample-app-prod",
    host: "sample-app.example.com",
    publicUrl: "https://sample-app.example.com/",
    apiUrl: "http://user-api.sample-app-prod.svc.cluster.local:8080",
    // prod runs Redis in Sentinel mode: the headless Service, and the Sentinels to ask for the primary.
    redisHost: "redis-headless.sample-app-prod.svc.cluster.local",
    redisPort: 6379,
    redisPassword: MOCK_PASSWORD,
    redisSentinelAddrs: [0, 1, 2].map(i => `redis-${i}.redis-headless.sample-app-prod.svc.cluster.local:26379`).join(","),
    redisSentinelMaster: "mymaster",
    redisSentinelPassword: MOCK_PASSWORD,
    redisWaitReplicas: 1,
};

export interface Registered {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly provider: string;
    /** Whether the resource was registered with `protect` (set or inherited from its parent). */
    readonly protect: boolean;
    readonly inputs: KObj;
    /** The ID of an existing object the program reads (`X.get`), not one it manages. */
    readonly readId?: string;
}

export interface StackRun {
    readonly stack: string;
    readonly resources: Registered[];
    /** Every resource as the engine names it: URN, alias URNs, dependencies (test/urns.ts). */
    readonly engine: EngineResource[];
    readonly outputs: Record<string, unknown>;
    readonly secretOutputs: Set<string>;
    /** Kubernetes objects only (custom resources of the kubernetes package), with apiVersion/kind. */
    readonly objects: KObj[];
}

function configValue(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

/** The `config:` block of Pulumi.yaml. */
export function projectConfigSchema(): Record<string, { type: string; default?: unknown; description?: string; items?: { type: string } }> {
    const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as KObj;
    return project.config ?? {};
}

/**
 * The config Pulumi would hand the program for `stack`: Pulumi.yaml defaults,
 * then Pulumi.<stack>.yaml, then `overrides` (keys without the project prefix).
 */
export function stackConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, spec] of Object.entries(projectConfigSchema())) {
        if (spec.default !== undefined) {
            out[`sample-app:${key}`] = configValue(spec.default);
        }
    }
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(file)) {
        const stackFile = yaml.load(fs.readFileSync(file, "utf8")) as KObj | undefined;
        for (const [key, value] of Object.entries(stackFile?.config ?? {})) {
            out[key] = configValue(value);
        }
    }
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) {
            delete out[`sample-app:${key}`];
        } else {
            out[`sample-app:${key}`] = configValue(value);
        }
    }
    return out;
}

/**
 * The program's own config of `stack` as `parseSettings` takes it: the `sample-app:` keys of
 * stackConfig without the prefix. Keys of other namespaces (`kubernetes:`, `release:`) are not the
 * program's, as loadSettings leaves them out too.
 */
export function programConfig(stack: string, overrides: Record<string, unknown> = {}): Record<string, string> {
    return Object.fromEntries(Object.entries(stackConfig(stack, overrides))
        .filter(([k]) => k.startsWith("sample-app:"))
        .map(([k, v]) => [k.slice("sample-app:".length), v]));
}

function kubernetesObject(r: Registered): KObj | undefined {
    const m = /^kubernetes:([a-z0-9.]*)\/(v[0-9a-z]+):([A-Za-z]+)$/.exec(r.type);
    if (!m || !r.custom || r.readId !== undefined) {
        return undefined;
    }
    const group = m[1] === "core" ? "" : m[1];
    return { apiVersion: group ? `${group}/${m[2]}` : m[2], kind: m[3], ...r.inputs };
}

async function settle(value: unknown): Promise<{ value: unknown; secret: boolean }> {
    if (pulumi.Output.isInstance(value)) {
        const o = value as pulumi.Output<unknown> & { promise(): Promise<unknown>; isSecret: Promise<boolean> };
        return { value: await o.promise(), secret: await o.isSecret };
    }
    return { value, secret: false };
}

interface AliasMessage {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}
interface RegisterRequest {
    getType(): string; getName(): string; getProtect(): boolean; getParent(): string;
    getAliasesList(): AliasMessage[]; getAliasurnsList(): string[]; getDependenciesList(): string[];
}
interface RegisterResponse { getUrn(): string }

function aliasSpec(a: AliasMessage): AliasSpec {
    const spec = a.getSpec();
    if (!spec) {
        return { urn: a.getUrn() };
    }
    return {
        name: spec.getName(), type: spec.getType(), stack: spec.getStack(), project: spec.getProject(),
        parentUrn: spec.getParenturn() || undefined, noParent: spec.getNoparent(),
    };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { waitForRPCs, getMonitor }: { waitForRPCs(): Promise<void>; getMonitor(): unknown } = require("@pulumi/pulumi/runtime/settings");

/** What the mocks return where a real engine would compute a value. */
export interface MockOptions {
    /** The `result` of a RandomPassword, by resource name. Default: MOCK_PASSWORD. */
    readonly randomPassword?: (resourceName: string) => string;
    /** Outputs of the stack a StackReference names (gray's prod). Default: PROD_OUTPUTS. */
    readonly stackOutputs?: Record<string, unknown>;
    /** Whether the cluster lacks an object the program reads (`X.get` of this type and ID): the read fails as the provider's would. */
    readonly missing?: (type: string, id: string) => boolean;
}

/** Installs mocks and config for `stack`; returns the list the mocks record into. */
/** Reads that failed in the current run (options.missing). */
const failedReads: string[] = [];

async function mockRuntime(stack: string, config: Record<string, string>, options: MockOptions = {}): Promise<{ resources: Registered[]; registrations: Registration[] }> {
    const resources: Registered[] = [];
    const registrations: Registration[] = [];
    failedReads.length = 0;
    const protectedUrns = new Set<string>();
    pulumi.runtime.setAllConfig(config, []);
    await pulumi.runtime.setMocks({
        newResource(args: pulumi.runtime.MockResourceArgs) {
            const protect = protectedUrns.has(`${args.type}::${args.name}`);
            if (args.id && options.missing?.(args.type, args.id)) {
                // The engine fails the whole preview on a failed read; the mocks only drop its outputs, so note it.
                failedReads.push(`reading ${args.type} ${args.id}: resource '${args.id}' does not exist`);
                throw new Error(failedReads[failedReads.length - 1]);
            }
            resources.push({ type: args.type, name: args.name, custom: args.custom ?? true, provider: args.provider ?? "", protect, inputs: args.inputs, ...(args.id ? { readId: args.id } : {}) });
            if (args.type === "random:index/randomPassword:RandomPassword") {
                return { id: `${args.name}-id`, state: { ...args.inputs, result: options.randomPassword?.(args.name) ?? MOCK_PASSWORD } };
            }
            if (args.type === "pulumi:pulumi:StackReference") {
                return { id: args.inputs.name, state: { name: args.inputs.name, outputs: options.stackOutputs ?? PROD_OUTPUTS, secretOutputNames: ["redisPassword", "redisSentinelPassword"] } };
            }
            return { id: `${args.name}-id`, state: args.inputs };
        },
        call(args: pulumi.runtime.MockCallArgs) {
            return args.inputs;
        },
    }, "sample-app", stack, false);
    // The mocks do not see resource options: note `protect`, the parent, aliases and dependencies from the request itself.
    type Callback = (err: unknown, resp?: RegisterResponse) => void;
    const monitor = getMonitor() as { registerResource(req: RegisterRequest, cb: Callback): unknown };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        if (req.getProtect()) {
            protectedUrns.add(`${req.getType()}::${req.getName()}`);
        }
        const at = registrations.length;
        registrations.push({
            type: req.getType(), name: req.getName(), parent: req.getParent(), mockUrn: "",
            aliases: [...req.getAliasesList().map(aliasSpec), ...req.getAliasurnsList().map(urn => ({ urn }))],
            dependencies: req.getDependenciesList(),
        });
        return register(req, (err, resp) => {
            if (resp) {
                registrations[at] = { ...registrations[at], mockUrn: resp.getUrn() };
            }
            cb(err, resp);
        });
    };
    return { resources, registrations };
}

/**
 * Runs `program` under mocks as stack `stack` with `config`, waits for every
 * registration, and returns what it registered and returned.
 */
export async function runProgram(
    stack: string,
    config: Record<string, string>,
    program: () => Promise<Record<string, unknown>> | Record<string, unknown>,
    options: MockOptions = {},
): Promise<StackRun> {
    const { resources, registrations } = await mockRuntime(stack, config, options);
    const exported = await program();
    const outputs: Record<string, unknown> = {};
    const secretOutputs = new Set<string>();
    for (const [key, value] of Object.entries(exported)) {
        const settled = await settle(value);
        outputs[key] = settled.value;
        if (settled.secret) {
            secretOutputs.add(key);
        }
    }
    await waitForRPCs();
    if (failedReads.length > 0) {
        throw new Error(failedReads.join("\n"));
    }
    const objects = resources.map(kubernetesObject).filter((o): o is KObj => o !== undefined);
    // The root stack resource registers itself before mocks are in place: its children name it as their parent.
    const root = `urn:pulumi:${stack}::sample-app::pulumi:pulumi:Stack::sample-app-${stack}`;
    const engine = engineResources(stack, "sample-app", registrations.map(r => (r.parent === root ? { ...r, parent: "" } : r)));
    return { stack, resources, engine, outputs, secretOutputs, objects };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const indexProgram = require("../index") as () => Promise<Record<string, unknown>>;

export const ROUTINGS = ["gateway", "ingress"] as const;
export type RoutingMode = (typeof ROUTINGS)[number];

/** Keys only routing gateway takes: a stack file written for gateway mode carries some of them. */
const GATEWAY_KEYS = ["gatewayClass", "gatewayName", "gatewayNamespace", "gatewayPodNamespace", "gatewayPodLabels", "gatewayHttpPort", "gatewayHttpsPort", "grayWeight"];

/**
 * Config overrides that put any stack in `mode`, dropping the other mode's keys from its stack file.
 * Routing ingress is through the profile's default class, whose controller runs in the cluster: the
 * CIDRs an out-of-cluster ALB reaches the pods from go too.
 */
export function routingOverrides(mode: RoutingMode): Record<string, unknown> {
    return mode === "ingress"
        ? { routing: "ingress", ingressAllowedCidrs: undefined, ...Object.fromEntries(GATEWAY_KEYS.map(k => [k, undefined])) }
        : { routing: "gateway", ingressClass: undefined };
}

/** Keys of a Redis the stack runs, and of its backups: a stack file written for one carries some of them. */
const OWN_REDIS_KEYS = [
    "redisImage", "kubectlImage", "redisStorageClass", "redisStorageSize", "redisReplicas", "redisSentinelQuorum", "redisSnapshotClass",
    "redisCreateSnapshotClass", "redisSnapshotSchedule", "redisRestoreFromSnapshot", "redisSentinelPassword", "kubeApiServerCidrs", "kubeApiServerPort",
];

/** Config overrides that put a stack's Redis in `mode`, dropping the keys of its stack file that do nothing there. */
export function redisModeOverrides(stack: string, mode: "statefulset" | "sentinel" | "managed"): Record<string, unknown> {
    const file = stackConfig(stack);
    const drop = (keys: string[]) => Object.fromEntries(keys.filter(k => `sample-app:${k}` in file).map(k => [k, undefined]));
    if (mode === "managed") {
        return { redisMode: mode, ...drop(OWN_REDIS_KEYS) };
    }
    return { redisMode: mode, ...(mode === "statefulset" ? drop(["redisSentinelQuorum", "redisSentinelPassword"]) : {}) };
}

/** Runs index.ts for `stack` under mocks, with its Pulumi.<stack>.yaml and `overrides`. */
export function runStack(stack: string, overrides: Record<string, unknown> = {}, options: MockOptions = {}): Promise<StackRun> {
    return runProgram(stack, stackConfig(stack, overrides), indexProgram, options);
}

/** Deep copy with Pulumi secret wrappers removed: the object as the provider would send it. */
export function plain(v: unknown): unknown {
    const r = reveal(v);
    if (Array.isArray(r)) {
        return r.map(plain);
    }
    if (r !== null && typeof r === "object") {
        return Object.fromEntries(Object.entries(r as KObj).map(([k, x]) => [k, plain(x)]));
    }
    return r;
}

/** Runs index.ts expecting it to fail; returns the error and how many resources were registered first. */
export async function failStack(stack: string, overrides: Record<string, unknown>): Promise<{ message: string; registered: number }> {
    const { resources } = await mockRuntime(stack, stackConfig(stack, overrides));
    try {
        await indexProgram();
    } catch (e) {
        await waitForRPCs();
        return { message: (e as Error).message, registered: resources.length };
    }
    throw new Error(`stack ${stack} with ${JSON.stringify(overrides)} was expected to fail but succeeded`);
}

/**
 * Runs index.ts expecting it to fail after settings (gray reading prod's outputs): the error and how
 * many resources but the StackReference it read were registered first.
 */
export async function failStackWith(stack: string, overrides: Record<string, unknown>, options: MockOptions): Promise<{ message: string; objects: number }> {
    const { resources } = await mockRuntime(stack, stackConfig(stack, overrides), options);
    try {
        await indexProgram();
    } catch (e) {
        await waitForRPCs();
        return { message: (e as Error).message, objects: resources.filter(r => r.type !== "pulumi:pulumi:StackReference").length };
    }
    throw new Error(`stack ${stack} with ${JSON.stringify(overrides)} was expected to fail but succeeded`);
}

/** Kinds of the cluster-scoped objects the program registers. */
export const CLUSTER_SCOPED: readonly string[] = ["Namespace", "ClusterRole", "ClusterRoleBinding", "VolumeSnapshotClass"];

/** Objects of one kind. */
export function ofKind(run: StackRun, kind: string): KObj[] {
    return run.objects.filter(o => o.kind === kind);
}

/** The one object of a kind and name; throws when there is not exactly one. */
export function one(run: StackRun, kind: string, name: string): KObj {
    // ConfigMaps carry their content's hash after the name (components/workload.ts contentName).
    const named = kind === "ConfigMap" ? (n: unknown) => typeof n === "string" && new RegExp(`^${name}(-[0-9a-f]{10})?$`).test(n) : (n: unknown) => n === name;
    const found = run.objects.filter(o => o.kind === kind && named(o.metadata?.name));
    if (found.length !== 1) {
        throw new Error(`${run.stack}: expected one ${kind} ${name}, found ${found.length}`);
    }
    return found[0];
}

/** Workloads (Deployments and StatefulSets) of a run. */
export function workloads(run: StackRun): KObj[] {
    return run.objects.filter(o => o.kind === "Deployment" || o.kind === "StatefulSet");
}

/** Every container of every workload. */
export function containers(run: StackRun): { workload: KObj; container: KObj }[] {
    return workloads(run).flatMap(w => (w.spec.template.spec.containers as KObj[]).map(container => ({ workload: w, container })));
}

/** The signature Pulumi puts on a secret value in resource inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Whether a resource input is a Pulumi secret. */
export function isSecretValue(v: unknown): boolean {
    return typeof v === "object" && v !== null && SECRET_SIG in v;
}

/** The plain value of a resource input, secret or not. */
export function reveal(v: unknown): any {
    return isSecretValue(v) ? (v as KObj).value : v;
}
