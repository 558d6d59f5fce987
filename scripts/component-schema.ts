/**
 * The component package's schema (what `pulumi package get-schema .` prints, and what every SDK
 * `pulumi package add` generates is made from), recorded with the components' TypeScript API by
 * the same command and under the same rules (scripts/component-api.ts):
 *
 *   npm run api:snapshot    # records test/api-snapshot.json and test/schema-snapshot.json
 *
 * test/schema-snapshot.json holds the schema of one version, package.json's; a change to a
 * component's args or outputs shows up as its diff. test/schema.spec.ts fails when the schema
 * differs from the record of the current version. Recording a new version checks semver against
 * the old record: a breaking change (a component, input, output or type gone, a type changed, an
 * input newly required, an output no longer always set, a secret no longer secret) needs the next
 * minor version while the package is 0.x (the next major after 1.0), anything else at least the
 * next patch. A recorded version is never rewritten.
 *
 * The schema is built in this process by the provider provider.ts serves (componentProvider.ts),
 * in the form the CLI prints it (canonicalSchema); scripts/engine/component-package.ts checks that
 * the CLI built here prints the same.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
export const SCHEMA_SNAPSHOT_FILE = path.join(ROOT, "test", "schema-snapshot.json");

/* eslint-disable @typescript-eslint/no-explicit-any -- schemas are JSON, read structurally. */
export type Schema = Record<string, any>;

/** What test/schema-snapshot.json holds. */
export interface SchemaRecord {
    readonly version: string;
    readonly schema: Schema;
}

/** Keys the CLI's schema type (Go's PropertySpec) does not have: the analyzer's own, dropped when the CLI reads the schema. */
const NOT_IN_SCHEMA = new Set(["optional"]);

/** Whether a schema value says nothing: the CLI leaves such a field out (or, for `config`, prints `{}`). */
function empty(v: unknown): boolean {
    return v === undefined || v === "" || (Array.isArray(v) && v.length === 0)
        || (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
}

/**
 * A schema as `pulumi package get-schema` prints it, normalized: the CLI reads the provider's JSON
 * into its schema types and writes it back, which drops keys it does not know and empty lists and
 * strings (and prints an empty `config: {}`); here every empty value is left out and keys are
 * sorted, so the record's diff shows only what changed.
 */
export function canonicalSchema(value: unknown): any {
    if (Array.isArray(value)) {
        return value.map(canonicalSchema);
    }
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value).sort()) {
            const v = canonicalSchema((value as Record<string, unknown>)[key]);
            if (!NOT_IN_SCHEMA.has(key) && !empty(v)) {
                out[key] = v;
            }
        }
        return out;
    }
    return value;
}

/** The schema the provider serves now, from components/*.ts, as the CLI prints it. */
export async function packageSchema(): Promise<Schema> {
    // Loaded here, not at the top: the analyzer builds a TypeScript program of the whole repository (seconds).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { componentProvider } = require("../componentProvider") as typeof import("../componentProvider");
    return canonicalSchema(JSON.parse(await componentProvider().getSchema()));
}

export function readSchemaRecord(file = SCHEMA_SNAPSHOT_FILE): SchemaRecord | undefined {
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as SchemaRecord) : undefined;
}

export function writeSchemaRecord(record: SchemaRecord, file = SCHEMA_SNAPSHOT_FILE): void {
    fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** How far a change reaches: `breaking` asks for a new major (minor in 0.x), `compatible` for at least a patch. */
export type Level = "breaking" | "compatible";

export interface Change {
    readonly level: Level;
    /** What changed, e.g. `sample-app:index:Redis input storageSize: removed`. */
    readonly what: string;
}

/** The type a property has, without its documentation: two properties of the same shape type the same. */
function shape(p: Schema | undefined): string {
    if (p === undefined) {
        return "";
    }
    const { type, $ref, items, additionalProperties, plain } = p;
    return JSON.stringify({ type, $ref, plain, items: items && shape(items), additionalProperties: additionalProperties && shape(additionalProperties) });
}

/**
 * Compares two property maps. `inputs`: a property a caller passes (one that appears required, or
 * must now be plain, breaks callers); otherwise a property a caller reads (one that may now be
 * unset breaks them).
 */
function compareProperties(where: string, before: Schema = {}, after: Schema = {}, reqBefore: string[] = [], reqAfter: string[] = [], inputs: boolean): Change[] {
    const changes: Change[] = [];
    const breaking = (what: string) => changes.push({ level: "breaking", what: `${where} ${what}` });
    const compatible = (what: string) => changes.push({ level: "compatible", what: `${where} ${what}` });
    for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
        const [b, a] = [before[name], after[name]];
        const wasRequired = reqBefore.includes(name);
        const isRequired = reqAfter.includes(name);
        if (a === undefined) {
            breaking(`${name}: removed`);
            continue;
        }
        if (b === undefined) {
            (inputs && isRequired ? breaking : compatible)(`${name}: added${isRequired ? ", required" : ""}`);
            continue;
        }
        if (shape(b) !== shape(a)) {
            // An input that stops being plain accepts more (outputs too): compatible; anything else breaks.
            const widened = inputs && b.plain === true && a.plain === undefined && shape({ ...b, plain: undefined }) === shape(a);
            (widened ? compatible : breaking)(`${name}: type ${shape(b)} -> ${shape(a)}`);
        }
        if (wasRequired !== isRequired) {
            const breaks = inputs ? isRequired : wasRequired;
            (breaks ? breaking : compatible)(`${name}: ${isRequired ? "now required" : "now optional"}`);
        }
        if (Boolean(b.secret) !== Boolean(a.secret)) {
            (b.secret ? breaking : compatible)(`${name}: ${a.secret ? "now secret" : "no longer secret"}`);
        }
        if ((b.description ?? "") !== (a.description ?? "")) {
            compatible(`${name}: description changed`);
        }
    }
    return changes;
}

/** Every difference between two schemas, with how far it reaches. */
export function schemaChanges(before: Schema, after: Schema): Change[] {
    const changes: Change[] = [];
    const resources = new Set([...Object.keys(before.resources ?? {}), ...Object.keys(after.resources ?? {})]);
    for (const token of resources) {
        const [b, a] = [before.resources?.[token], after.resources?.[token]];
        if (a === undefined) {
            changes.push({ level: "breaking", what: `${token}: removed` });
        } else if (b === undefined) {
            changes.push({ level: "compatible", what: `${token}: added` });
        } else {
            changes.push(...compareProperties(`${token} input`, b.inputProperties, a.inputProperties, b.requiredInputs, a.requiredInputs, true));
            changes.push(...compareProperties(`${token} output`, b.properties, a.properties, b.required, a.required, false));
            if ((b.description ?? "") !== (a.description ?? "")) {
                changes.push({ level: "compatible", what: `${token}: description changed` });
            }
        }
    }
    const types = new Set([...Object.keys(before.types ?? {}), ...Object.keys(after.types ?? {})]);
    for (const token of types) {
        const [b, a] = [before.types?.[token], after.types?.[token]];
        if (a === undefined) {
            changes.push({ level: "breaking", what: `type ${token}: removed` });
        } else if (b === undefined) {
            changes.push({ level: "compatible", what: `type ${token}: added` });
        } else if (b.enum || a.enum) {
            const values = (t: Schema) => new Set<unknown>((t.enum ?? []).map((e: Schema) => e.value));
            const [vb, va] = [values(b), values(a)];
            for (const v of vb) {
                if (!va.has(v)) {
                    changes.push({ level: "breaking", what: `type ${token}: value ${JSON.stringify(v)} removed` });
                }
            }
            for (const v of va) {
                if (!vb.has(v)) {
                    changes.push({ level: "compatible", what: `type ${token}: value ${JSON.stringify(v)} added` });
                }
            }
        } else {
            // An object type may be an input's (written by callers) and an output's (read by them): a property
            // that may now be unset breaks readers, as one newly required breaks writers.
            for (const c of compareProperties(`type ${token}`, b.properties, a.properties, b.required, a.required, true)) {
                changes.push(/: now optional$/.test(c.what) ? { level: "breaking", what: c.what } : c);
            }
        }
    }
    for (const key of ["name", "version", "description", "dependencies", "language", "namespace"]) {
        if (key !== "version" && JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
            changes.push({ level: key === "name" ? "breaking" : "compatible", what: `package ${key} changed` });
        }
    }
    return changes;
}

/** `[major, minor, patch]` of `x.y.z`. */
function parts(v: string): [number, number, number] {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m) {
        throw new Error(`${v} is not a version x.y.z`);
    }
    return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The smallest version after `from` that the changes allow (semver; while 0.x, breaking changes step the minor version). */
export function nextVersion(from: string, changes: readonly Change[]): string | undefined {
    const [major, minor, patch] = parts(from);
    if (changes.length === 0) {
        return undefined;
    }
    if (changes.some(c => c.level === "breaking")) {
        return major === 0 ? `0.${minor + 1}.0` : `${major + 1}.0.0`;
    }
    return `${major}.${minor}.${patch + 1}`;
}

/** Whether version `a` is below `b`. */
export function below(a: string, b: string): boolean {
    const [x, y] = [parts(a), parts(b)];
    for (let i = 0; i < 3; i++) {
        if (x[i] !== y[i]) {
            return x[i] < y[i];
        }
    }
    return false;
}

/**
 * Why the schema `current` may not be recorded as version `version` over `record`, or undefined
 * when it may (or is already recorded).
 */
export function recordingProblem(record: SchemaRecord | undefined, version: string, current: Schema): string | undefined {
    if (!record) {
        return undefined;
    }
    const changes = schemaChanges(record.schema, current);
    if (record.version === version) {
        return changes.length === 0 ? undefined
            : `the schema of ${version} is already recorded and the components' schema differs from it:\n${list(changes)}\n`
            + `bump package.json's version to at least ${nextVersion(version, changes)}, say what changed in CHANGELOG.md, then run npm run api:snapshot`;
    }
    if (below(version, record.version)) {
        return `package.json's version ${version} is below the recorded schema's ${record.version}`;
    }
    const least = nextVersion(record.version, changes);
    if (least !== undefined && below(version, least)) {
        return `${version} is too small a step from ${record.version} for these changes (at least ${least}):\n${list(changes)}`;
    }
    return undefined;
}

export function list(changes: readonly Change[]): string {
    return changes.map(c => `  ${c.level === "breaking" ? "BREAKING " : ""}${c.what}`).join("\n");
}
