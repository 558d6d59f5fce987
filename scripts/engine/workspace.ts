/**
 * Opens a stack of this repository's program on the real Pulumi engine through the Automation
 * API's inline programs (the program runs in this Node.js process; no language host is needed).
 *
 * The stack's tracked Pulumi.<stack>.yaml is never written: the workspace has a directory of its
 * own holding copies of Pulumi.yaml and of the stack file. Each open writes that copy afresh from
 * the tracked file plus the caller's `key=value` overrides, keeping only what the engine itself put
 * there (the passphrase salt) and the secret values set through `secrets`.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { LocalWorkspace, PulumiCommand, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { Engine, REPO_ROOT } from "./toolchain";

export const PROJECT = "sample-app";

/** Config values as a stack file holds them. */
type ConfigValue = string | number | boolean | readonly unknown[] | { readonly secure: string };

interface StackFile {
    secretsprovider?: string;
    encryptionsalt?: string;
    config?: Record<string, ConfigValue>;
}

/** Where a workspace keeps its things. */
export interface WorkspacePlace {
    /** Directory of the copies of Pulumi.yaml and Pulumi.<stack>.yaml. */
    readonly workDir: string;
    /** The state backend, e.g. `file:///var/lib/x/backend`; undefined: PULUMI_BACKEND_URL or the CLI's login. */
    readonly backendUrl?: string;
    /** File holding the passphrase that encrypts the stack's secrets (made on first use); undefined: PULUMI_CONFIG_PASSPHRASE from the environment. */
    readonly passphraseFile?: string;
    /** PULUMI_HOME for the built engine (plugins, credentials); undefined: the user's. */
    readonly pulumiHome?: string;
}

export interface OpenOptions {
    readonly stack: string;
    readonly place: WorkspacePlace;
    readonly engine: Engine;
    /** `key` (project namespace implied) or `ns:key` to a value; undefined removes the key. */
    readonly overrides?: Readonly<Record<string, string | undefined>>;
    /** Secret keys set once, when the stack has no value for them yet, to what the function returns. */
    readonly secrets?: Readonly<Record<string, () => string>>;
    /** The inline program. Default: this repository's index.ts. */
    readonly program?: PulumiFn;
    /** More environment for every CLI call and the plugins it starts (e.g. KUBECONFIG for the kubernetes provider). */
    readonly env?: Readonly<Record<string, string>>;
}

/** `config:` of a Pulumi.yaml: each key's declared type. */
function declaredTypes(project: { config?: Record<string, { type?: string }> }): Record<string, string> {
    return Object.fromEntries(Object.entries(project.config ?? {}).map(([k, v]) => [k, v.type ?? "string"]));
}

/** The full config key: `sample-app:key` unless a namespace is given. */
export function configKey(key: string): string {
    return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/**
 * An override as the stack file would hold it, typed by Pulumi.yaml (integer, boolean, array): the
 * CLI checks values against those types. A value that does not parse stays a string, so the
 * program's own validation names the key and the value.
 */
export function typedValue(type: string | undefined, value: string): ConfigValue {
    if (type === "integer" && /^-?\d+$/.test(value)) {
        return Number(value);
    }
    if (type === "boolean" && (value === "true" || value === "false")) {
        return value === "true";
    }
    if (type === "array") {
        try {
            const parsed: unknown = JSON.parse(value);
            if (Array.isArray(parsed)) {
                return parsed;
            }
        } catch {
            // not JSON: left as the string it is
        }
    }
    return value;
}

/**
 * The work copy of a stack file: the tracked config with the overrides, the salt and the secure
 * values of `secretKeys` from the previous copy (when the stack exists in the backend).
 */
export function workStackFile(
    tracked: StackFile, previous: StackFile | undefined, overrides: Readonly<Record<string, string | undefined>>,
    types: Record<string, string>, secretKeys: readonly string[],
): StackFile {
    const config: Record<string, ConfigValue> = { ...(tracked.config ?? {}) };
    for (const [k, v] of Object.entries(overrides)) {
        const key = configKey(k);
        if (v === undefined) {
            delete config[key];
        } else {
            config[key] = typedValue(key.startsWith(`${PROJECT}:`) ? types[key.slice(PROJECT.length + 1)] : undefined, v);
        }
    }
    for (const k of secretKeys) {
        const kept = previous?.config?.[configKey(k)];
        if (kept !== undefined && typeof kept === "object" && "secure" in kept) {
            config[configKey(k)] = kept;
        }
    }
    return {
        ...(previous?.secretsprovider ? { secretsprovider: previous.secretsprovider } : {}),
        ...(previous?.encryptionsalt ? { encryptionsalt: previous.encryptionsalt } : {}),
        config,
    };
}

function readStackFile(file: string): StackFile | undefined {
    return fs.existsSync(file) ? ((yaml.load(fs.readFileSync(file, "utf8")) as StackFile | null) ?? {}) : undefined;
}

/** The `config:` of this repository's Pulumi.<stack>.yaml, keys as the file holds them (`sample-app:imageTag`); {} when there is none. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    return (readStackFile(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`))?.config ?? {}) as Record<string, unknown>;
}

/** A key's default in Pulumi.yaml, as a string ("" when it declares none). */
export function projectDefault(key: string): string {
    const p = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    return String(p.config?.[key]?.default ?? "");
}

/** The repository's program, index.ts, as an inline program (loaded through ts-node, which the caller registers). */
export const repositoryProgram: PulumiFn = async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const main = require(path.join(REPO_ROOT, "index")) as () => Promise<Record<string, unknown>>;
    return main();
};

/** Environment every CLI call of the workspace gets. */
export function workspaceEnv(place: WorkspacePlace, engine: Engine): Record<string, string> {
    return {
        ...engine.env,
        ...(place.backendUrl ? { PULUMI_BACKEND_URL: place.backendUrl } : {}),
        ...(place.passphraseFile ? { PULUMI_CONFIG_PASSPHRASE_FILE: place.passphraseFile } : {}),
        ...(engine.source === "built" && place.pulumiHome ? { PULUMI_HOME: place.pulumiHome } : {}),
    };
}

/** Selects (or creates) the stack in the backend with its config written as described above. */
export async function openStack(o: OpenOptions): Promise<Stack> {
    const { place, stack } = o;
    fs.mkdirSync(place.workDir, { recursive: true });
    if (place.backendUrl?.startsWith("file://")) {
        fs.mkdirSync(place.backendUrl.slice("file://".length), { recursive: true });
    }
    if (place.passphraseFile && !fs.existsSync(place.passphraseFile)) {
        fs.mkdirSync(path.dirname(place.passphraseFile), { recursive: true });
        fs.writeFileSync(place.passphraseFile, crypto.randomBytes(32).toString("base64url"), { mode: 0o600 });
    }
    if (place.pulumiHome) {
        fs.mkdirSync(place.pulumiHome, { recursive: true });
    }
    const projectFile = path.join(REPO_ROOT, "Pulumi.yaml");
    // The project as Pulumi.yaml declares it (name, runtime, typed config), without `main`: the program
    // runs inline, and the CLI checks that a `main` exists beside the work copy.
    const project = yaml.load(fs.readFileSync(projectFile, "utf8")) as { main?: string; config?: Record<string, { type?: string }> };
    delete project.main;
    fs.writeFileSync(path.join(place.workDir, "Pulumi.yaml"), yaml.dump(project, { lineWidth: -1 }));

    const ws = await LocalWorkspace.create({
        workDir: place.workDir,
        pulumiHome: o.engine.source === "built" ? place.pulumiHome : undefined,
        pulumiCommand: await PulumiCommand.get({ root: o.engine.root }),
        envVars: { ...workspaceEnv(place, o.engine), ...(o.env ?? {}) },
        program: o.program ?? repositoryProgram,
    });
    const exists = (await ws.listStacks()).some(s => s.name === stack || s.name.endsWith(`/${stack}`));
    const stackFile = path.join(place.workDir, `Pulumi.${stack}.yaml`);
    const trackedFile = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const tracked = readStackFile(trackedFile) ?? {};
    const secretKeys = Object.keys(o.secrets ?? {});
    // A stack that is not in the backend (new, or its state removed) starts with a new salt and new secrets.
    const previous = exists ? readStackFile(stackFile) : undefined;
    const work = workStackFile(tracked, previous, o.overrides ?? {}, declaredTypes(project), secretKeys);
    fs.writeFileSync(stackFile, yaml.dump(work, { lineWidth: -1 }));

    const s = await Stack.createOrSelect(stack, ws);
    // The stack file's own values: getAllConfig would also list Pulumi.yaml's defaults ("").
    for (const [k, make] of Object.entries(o.secrets ?? {})) {
        if (work.config?.[configKey(k)] === undefined) {
            await s.setConfig(configKey(k), { value: make(), secret: true });
        }
    }
    return s;
}
