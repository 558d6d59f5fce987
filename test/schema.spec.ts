/**
 * The component package's schema: what a program in Python, Go, .NET, Java or YAML sees of the
 * components (`pulumi package add <repo>` generates its SDK from it). Built here by the provider
 * provider.ts serves (componentProvider.ts), in the form `pulumi package get-schema .` prints it;
 * scripts/engine/component-package.ts checks that the CLI built here prints the same.
 *
 * A version promises it like the TypeScript API (test/api-snapshot.spec.ts): the schema is recorded
 * in test/schema-snapshot.json for package.json's version, and recording a new version checks
 * semver against the old record (scripts/component-schema.ts).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { componentApi, packageVersion } from "../scripts/component-api";
import {
    below, canonicalSchema, Change, list, nextVersion, packageSchema, readSchemaRecord, recordingProblem, Schema, schemaChanges,
} from "../scripts/component-schema";
import { ROOT } from "./harness";

/* eslint-disable @typescript-eslint/no-explicit-any -- schemas are JSON, read structurally. */

const FIX = "bump package.json's version as far as the change asks, say what changed for component users in CHANGELOG.md, then run npm run api:snapshot";
const RES = "sample-app:index:";

/** Every property of the schema: component inputs and outputs, and properties of object types, with where they are. */
function properties(schema: Schema): { where: string; prop: any }[] {
    const out: { where: string; prop: any }[] = [];
    for (const [token, r] of Object.entries<any>(schema.resources)) {
        for (const [name, prop] of Object.entries<any>(r.inputProperties ?? {})) {
            out.push({ where: `${token} input ${name}`, prop });
        }
        for (const [name, prop] of Object.entries<any>(r.properties ?? {})) {
            out.push({ where: `${token} output ${name}`, prop });
        }
    }
    for (const [token, t] of Object.entries<any>(schema.types)) {
        for (const [name, prop] of Object.entries<any>(t.properties ?? {})) {
            out.push({ where: `type ${token} ${name}`, prop });
        }
    }
    return out;
}

describe("the component package's schema (what other Pulumi languages see)", function () {
    this.timeout(120_000);
    let schema: Schema;
    before(async () => { schema = await packageSchema(); });

    it("is recorded in test/schema-snapshot.json for the current package version, unchanged", () => {
        const version = packageVersion();
        const record = readSchemaRecord();
        assert.ok(record, `no test/schema-snapshot.json: run npm run api:snapshot`);
        const problem = recordingProblem(record, version, schema);
        assert.strictEqual(problem, undefined, `${problem}\n${FIX}`);
        assert.strictEqual(record.version, version, `the schema is recorded for ${record.version}, package.json says ${version}: run npm run api:snapshot`);
        const changes = schemaChanges(record.schema, schema);
        assert.deepStrictEqual(changes, [], `the schema differs from the record of ${version}:\n${list(changes)}\n${FIX}`);
    });

    it("serves every component components/index.ts exports, under sample-app:index:<Name>", () => {
        const exported = componentApi().tokens.map(t => t.split(":").pop()).sort();
        assert.deepStrictEqual(Object.keys(schema.resources).map(t => t.replace(RES, "")).sort(), exported);
        for (const r of Object.values<any>(schema.resources)) {
            assert.strictEqual(r.isComponent, true);
        }
    });

    it("documents every component, input, output and property, and no doc comment comes out mangled", () => {
        for (const [token, r] of Object.entries<any>(schema.resources)) {
            assert.ok(r.description, `${token} has no description`);
        }
        for (const { where, prop } of properties(schema)) {
            assert.ok(prop.description, `${where} has no description: give it a doc comment`);
            // The analyzer reads a doc comment's text only: a {@link ...} in it turns the whole comment into "[object Object]".
            assert.doesNotMatch(prop.description, /\[object Object\]|\{@link/, `${where}: write the name in backticks instead of {@link}`);
        }
    });

    it("keeps the default each Args field's doc comment states in that input's description", () => {
        const missing: string[] = [];
        let checked = 0;
        for (const [field, contract] of Object.entries(componentApi().fields)) {
            const [iface, name] = field.split(".");
            const prop = schema.resources[`${RES}${iface.replace(/Args$/, "")}`]?.inputProperties?.[name]
                ?? schema.types[`${RES}${iface}`]?.properties?.[name];
            if (contract.default === null || prop === undefined) {
                continue;
            }
            checked++;
            if (!String(prop.description).replace(/\s+/g, " ").includes(`Default: ${contract.default}`)) {
                missing.push(`${field}: ${JSON.stringify(prop.description)} lacks "Default: ${contract.default}"`);
            }
        }
        assert.deepStrictEqual(missing, []);
        assert.ok(checked > 100, `only ${checked} defaults checked: the reading of components/ broke`);
    });

    it("writes no default as a @default tag, which the analyzer drops (it reads a doc comment's text, not its tags)", () => {
        const dir = path.join(ROOT, "components");
        for (const file of fs.readdirSync(dir).filter(f => f.endsWith(".ts"))) {
            assert.doesNotMatch(fs.readFileSync(path.join(dir, file), "utf8"), /@default\b/, `components/${file}: write "Default: ..." in the comment's text`);
        }
    });

    it("requires exactly the Args fields TypeScript requires", () => {
        for (const [field, contract] of Object.entries(componentApi().fields)) {
            const [iface, name] = field.split(".");
            const r = schema.resources[`${RES}${iface.replace(/Args$/, "")}`];
            if (!iface.endsWith("Args") || !r) {
                continue;
            }
            assert.strictEqual((r.requiredInputs ?? []).includes(name), contract.required, `${field}: required ${contract.required} in TypeScript`);
        }
        assert.deepStrictEqual(schema.resources[`${RES}UserApi`].requiredInputs, ["image", "namespace", "redis"]);
    });

    it("marks exactly the passwords secret: the properties documented as Pulumi secrets", () => {
        const secret = properties(schema).filter(p => p.prop.secret).map(p => p.where).sort();
        assert.deepStrictEqual(secret, [
            `${RES}ExternalRedis input password`, `${RES}ExternalRedis input sentinelPassword`, `${RES}ExternalRedis output password`,
            `${RES}Redis input password`, `${RES}Redis input sentinelPassword`, `${RES}Redis output password`, `${RES}Redis output sentinelPassword`,
        ]);
    });

    it("types every input and output: a primitive, a typed list or map or an object type of its own, never Any", () => {
        const typed = (p: any, where: string): void => {
            if (p.$ref !== undefined) {
                assert.match(p.$ref, /^#\/types\/sample-app:index:\w+$/, `${where}: ${p.$ref} is not a type of this package`);
                assert.ok(schema.types[p.$ref.slice("#/types/".length)], `${where}: ${p.$ref} is not defined`);
                return;
            }
            assert.ok(["string", "number", "integer", "boolean", "array", "object"].includes(p.type), `${where}: no type`);
            if (p.type === "array") {
                typed(p.items, `${where}[]`);
            }
            if (p.type === "object") {
                assert.ok(p.additionalProperties, `${where}: an object without a type for its values`);
                typed(p.additionalProperties, `${where}{}`);
            }
        };
        for (const { where, prop } of properties(schema)) {
            typed(prop, where);
        }
    });

    it("references no other package, so binding it or generating an SDK needs no other package's schema (nor that SDK)", () => {
        assert.strictEqual(schema.dependencies, undefined, `the schema depends on ${JSON.stringify(schema.dependencies)}: a component field typed as another package's resource (keep it off the class, as AppNamespace.namespace)`);
        assert.doesNotMatch(JSON.stringify(schema), /"\$ref":"\//);
    });

    it("hands a program in another language the passwords as secrets (Construct, as the engine calls it)", async () => {
        await pulumi.runtime.setMocks({
            newResource: (args: pulumi.runtime.MockResourceArgs) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        }, "polyglot", "dev", false);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { componentProvider } = require("../componentProvider") as typeof import("../componentProvider");
        const provider = componentProvider();
        const redis = await provider.construct("cache", `${RES}Redis`, { namespace: "team-b", password: "from-config" }, {});
        const external = await provider.construct("shared", `${RES}ExternalRedis`, { namespace: "team-b", host: "redis.shared", password: "theirs" }, {});
        const secretOutputs = Object.entries<any>(schema.resources).flatMap(([token, r]) =>
            Object.entries<any>(r.properties).filter(([, p]) => p.secret).map(([name]) => [token, name] as const));
        for (const [token, name] of secretOutputs) {
            const value: unknown = (token.endsWith(":Redis") ? redis.state : external.state)[name];
            assert.ok(pulumi.Output.isInstance(value), `${token}.${name} is an Output`);
            // isSecret is internal to an Output: what the provider's Construct reads to mark the value secret on the wire.
            assert.strictEqual(await (value as unknown as { isSecret: Promise<boolean> }).isSecret, true, `${token}.${name} reaches the program as a secret`);
        }
        assert.strictEqual(secretOutputs.length, 3);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        await (require("@pulumi/pulumi/runtime/settings").waitForRPCs as () => Promise<void>)();
    });
});

describe("the schema's semver check (scripts/component-schema.ts)", () => {
    const base: Schema = canonicalSchema({
        name: "sample-app",
        version: "0.5.0",
        resources: {
            [`${RES}Redis`]: {
                isComponent: true, description: "Redis.",
                inputProperties: {
                    namespace: { type: "string", description: "Namespace." },
                    storageSize: { type: "string", plain: true, description: "Size. Default: `1Gi`." },
                    password: { type: "string", secret: true, description: "Password (a Pulumi secret)." },
                },
                requiredInputs: ["namespace"],
                properties: { host: { type: "string", description: "Host." } },
                required: ["host"],
            },
        },
        types: { [`${RES}LogLevel`]: { type: "string", enum: [{ name: "Info", value: "info" }, { name: "Debug", value: "debug" }] } },
    });
    const edit = (f: (s: Schema) => void): Schema => {
        const s = structuredClone(base);
        f(s);
        return s;
    };
    const redis = (s: Schema) => s.resources[`${RES}Redis`];
    const step = (after: Schema) => nextVersion("0.5.0", schemaChanges(base, after));
    const levels = (changes: Change[]) => changes.map(c => c.level);

    it("finds no change in an identical schema, and asks for no new version", () => {
        assert.deepStrictEqual(schemaChanges(base, structuredClone(base)), []);
        assert.strictEqual(step(structuredClone(base)), undefined);
    });

    it("asks the next minor version (0.x) for a removed input, a removed output, a newly required input or a changed type", () => {
        assert.strictEqual(step(edit(s => delete redis(s).inputProperties.storageSize)), "0.6.0");
        assert.strictEqual(step(edit(s => delete redis(s).properties.host)), "0.6.0");
        assert.strictEqual(step(edit(s => redis(s).requiredInputs.push("storageSize"))), "0.6.0");
        assert.strictEqual(step(edit(s => { redis(s).inputProperties.storageSize.type = "number"; })), "0.6.0");
        assert.strictEqual(step(edit(s => { redis(s).required = []; })), "0.6.0", "an output that may now be unset");
        assert.strictEqual(step(edit(s => delete redis(s).inputProperties.password.secret)), "0.6.0", "a secret no longer secret");
        assert.strictEqual(step(edit(s => s.types[`${RES}LogLevel`].enum.pop())), "0.6.0", "an enum value gone");
        assert.strictEqual(step(edit(s => delete s.resources[`${RES}Redis`])), "0.6.0");
    });

    it("asks only the next patch for an added optional input or output, a newly secret property, an input that takes outputs too, or a description", () => {
        assert.strictEqual(step(edit(s => { redis(s).inputProperties.maxMemory = { type: "string", description: "M." }; })), "0.5.1");
        assert.strictEqual(step(edit(s => { redis(s).properties.port = { type: "number", description: "P." }; })), "0.5.1");
        assert.strictEqual(step(edit(s => { redis(s).inputProperties.namespace.secret = true; })), "0.5.1");
        assert.strictEqual(step(edit(s => delete redis(s).inputProperties.storageSize.plain)), "0.5.1");
        assert.strictEqual(step(edit(s => { redis(s).inputProperties.storageSize.description = "Size. Default: `2Gi`."; })), "0.5.1");
        assert.deepStrictEqual(levels(schemaChanges(base, edit(s => { redis(s).inputProperties.x = { type: "string", description: "X." }; redis(s).requiredInputs.push("x"); }))), ["breaking"]);
    });

    it("steps the major version after 1.0", () => {
        assert.strictEqual(nextVersion("1.2.3", [{ level: "breaking", what: "x" }]), "2.0.0");
        assert.strictEqual(nextVersion("1.2.3", [{ level: "compatible", what: "x" }]), "1.2.4");
        assert.ok(below("0.5.1", "0.6.0") && !below("0.10.0", "0.9.9"));
    });

    it("refuses to record a changed schema under a recorded version, or under too small a step, and accepts a large enough one", () => {
        const removed = edit(s => delete redis(s).inputProperties.storageSize);
        assert.match(recordingProblem({ version: "0.5.0", schema: base }, "0.5.0", removed) ?? "", /already recorded.*\n.*BREAKING.*storageSize: removed[\s\S]*at least 0\.6\.0/);
        assert.match(recordingProblem({ version: "0.5.0", schema: base }, "0.5.1", removed) ?? "", /too small a step from 0\.5\.0.*at least 0\.6\.0/);
        assert.strictEqual(recordingProblem({ version: "0.5.0", schema: base }, "0.6.0", removed), undefined);
        assert.strictEqual(recordingProblem({ version: "0.5.0", schema: base }, "0.5.0", structuredClone(base)), undefined);
        assert.match(recordingProblem({ version: "0.5.0", schema: base }, "0.4.9", base) ?? "", /below the recorded/);
    });

    it("reads the schema as the CLI prints it: no analyzer-only keys, no empty values, keys sorted", () => {
        assert.deepStrictEqual(JSON.stringify(canonicalSchema({ b: { optional: true, type: "string", description: "" }, a: [], config: {}, required: ["x"] })),
            JSON.stringify({ b: { type: "string" }, required: ["x"] }));
    });
});
