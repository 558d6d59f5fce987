/**
 * Runs policies the way the Pulumi engine does, without the engine: a
 * resource policy gets a ResourceValidationArgs for one resource (props wrapped
 * in @pulumi/policy's unknown-checking proxy, as in a real preview) and a
 * reportViolation that collects messages; a stack policy gets every resource.
 *
 * Also turns what the real program registers under Pulumi mocks
 * (../../test/harness.ts) into the resources a policy sees.
 */
import {
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
    unknownCheckingProxy,
} from "@pulumi/policy";
import type { Registered, StackRun } from "../../test/harness";
import type { Obj } from "../kube";

/** A resource as a policy sees it. */
export interface Resource {
    readonly type: string;
    readonly name: string;
    readonly props: Obj;
    readonly urn?: string;
}

/** One violation: which policy, the message, and the URN it names (stack policies). */
export interface Violation {
    readonly policy: string;
    readonly message: string;
    readonly urn?: string;
}

/** Policy config as in a --policy-pack-config file: policy name → its properties. */
export type PackConfig = Readonly<Record<string, Obj>>;

const OPTS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

class NotApplicable extends Error {}

function urnOf(r: Resource): string {
    return r.urn ?? `urn:pulumi:test::sample-app::${r.type}::${r.name}`;
}

function resourceArgs(r: Resource, config: Obj): ResourceValidationArgs {
    return {
        type: r.type,
        name: r.name,
        urn: urnOf(r),
        props: unknownCheckingProxy(r.props) as Obj,
        opts: OPTS,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    };
}

/** Runs one resource policy on one resource; returns the messages it reported. */
export async function validate(policy: ResourceValidationPolicy, r: Resource, config: Obj = {}): Promise<string[]> {
    const messages: string[] = [];
    const validations = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
    for (const v of validations) {
        try {
            await v(resourceArgs(r, config), message => messages.push(message));
        } catch (e) {
            if (!(e instanceof NotApplicable)) {
                throw e;
            }
        }
    }
    return messages;
}

/** Runs one stack policy on a set of resources; returns its violations. */
export async function validateStack(policy: StackValidationPolicy, resources: readonly Resource[], config: Obj = {}): Promise<Violation[]> {
    const violations: Violation[] = [];
    const policyResources: PolicyResource[] = resources.map(r => ({
        type: r.type,
        name: r.name,
        urn: urnOf(r),
        props: unknownCheckingProxy(r.props) as Obj,
        opts: OPTS,
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    }));
    await policy.validateStack({
        resources: policyResources,
        stackTags: new Map(),
        getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string): never => {
            throw new NotApplicable(reason);
        },
    }, (message, urn) => violations.push({ policy: policy.name, message, urn }));
    return violations;
}

/** Runs every policy of a pack on every resource (and the stack policies on all of them). */
export async function validateAll(
    pack: { resource: readonly ResourceValidationPolicy[]; stack: readonly StackValidationPolicy[] },
    resources: readonly Resource[],
    config: PackConfig = {},
): Promise<Violation[]> {
    const out: Violation[] = [];
    for (const r of resources) {
        for (const p of pack.resource) {
            for (const message of await validate(p, r, config[p.name] ?? {})) {
                out.push({ policy: p.name, message, urn: urnOf(r) });
            }
        }
    }
    for (const p of pack.stack) {
        out.push(...await validateStack(p, resources, config[p.name] ?? {}));
    }
    return out;
}

/** The signature Pulumi puts on a secret value in resource inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Secrets unwrapped to plain values, as @pulumi/policy hands them to a policy. */
export function plain(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(plain);
    }
    if (typeof v === "object" && v !== null) {
        if (SECRET_SIG in v) {
            return plain((v as Obj).value);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    }
    return v;
}

/** A registered custom resource as a policy sees it. */
export function fromRegistered(stack: string, r: Registered): Resource {
    return { type: r.type, name: r.name, props: plain(r.inputs) as Obj, urn: `urn:pulumi:${stack}::sample-app::${r.type}::${r.name}` };
}

/** Every custom resource a program run registered (components and stack references excluded). */
export function resourcesOf(run: StackRun): Resource[] {
    return run.resources.filter(r => r.custom && !r.type.startsWith("pulumi:")).map(r => fromRegistered(run.stack, r));
}

/** A Kubernetes object as a resource: `kubernetes:<group or core>/<version>:<Kind>`. */
export function kube(apiVersion: string, kind: string, props: Obj, name = props.metadata?.name ?? "test"): Resource {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
    return { type: `kubernetes:${group}/${version}:${kind}`, name, props: { apiVersion, kind, ...props } };
}

/** Deep copy, for mutating a valid object into a broken one. */
export function clone<T>(v: T): T {
    return JSON.parse(JSON.stringify(v)) as T;
}
