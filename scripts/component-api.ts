/**
 * The components' public contract a version number promises: every component's
 * type token and, for every Args interface (and every other exported interface
 * with a documented default), each field, whether it is required, and the
 * default its doc comment states ("Default: …"). Read from components/*.ts
 * with the TypeScript compiler, so it is what users see in the .d.ts.
 *
 *   npm run api:snapshot    # record it for package.json's version in test/api-snapshot.json,
 *                           # and the component package's schema (scripts/component-schema.ts)
 *
 * test/api-snapshot.spec.ts fails when it differs from the record of the
 * current version: change the version (and CHANGELOG.md), then record it.
 * An existing version's record is never rewritten.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { packageSchema, readSchemaRecord, recordingProblem, SCHEMA_SNAPSHOT_FILE, writeSchemaRecord } from "./component-schema";

const ROOT = path.join(__dirname, "..");
export const SNAPSHOT_FILE = path.join(ROOT, "test", "api-snapshot.json");

export interface FieldContract {
    readonly required: boolean;
    /** The text after "Default:" in the field's doc comment, or null when it states none. */
    readonly default: string | null;
}

export interface ComponentApi {
    readonly tokens: string[];
    /** "Interface.field" → its contract. */
    readonly fields: Record<string, FieldContract>;
}

export type Snapshot = Record<string, ComponentApi>;

function documentedDefault(doc: string): string | null {
    const m = /\bDefault:\s*([\s\S]*?)\.?\s*$/.exec(doc);
    return m ? m[1].replace(/\s+/g, " ") : null;
}

/** The contract of the sources in components/ as they are now. */
export function componentApi(dir = path.join(ROOT, "components")): ComponentApi {
    const tokens = new Set<string>();
    const fields: Record<string, FieldContract> = {};
    for (const file of fs.readdirSync(dir).filter(f => f.endsWith(".ts")).sort()) {
        const source = ts.createSourceFile(file, fs.readFileSync(path.join(dir, file), "utf8"), ts.ScriptTarget.ES2022, true);
        const visit = (node: ts.Node): void => {
            if (ts.isCallExpression(node) && node.expression.getText(source) === "componentType" && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
                tokens.add(`sample-app:index:${node.arguments[0].text}`);
            }
            ts.forEachChild(node, visit);
        };
        visit(source);
        for (const stmt of source.statements) {
            if (!ts.isInterfaceDeclaration(stmt) || !stmt.modifiers?.some(m => m.kind === ts.SyntaxKind.ExportKeyword)) {
                continue;
            }
            const props = stmt.members.filter(ts.isPropertySignature).map(p => {
                const doc = ts.getJSDocCommentsAndTags(p).map(d => (ts.isJSDoc(d) ? ts.getTextOfJSDocComment(d.comment) ?? "" : "")).join(" ");
                return { name: p.name.getText(source), required: !p.questionToken, default: documentedDefault(doc) };
            });
            if (stmt.name.text.endsWith("Args") || props.some(p => p.default !== null)) {
                for (const p of props) {
                    fields[`${stmt.name.text}.${p.name}`] = { required: p.required, default: p.default };
                }
            }
        }
    }
    return { tokens: [...tokens].sort(), fields: Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b))) };
}

export function packageVersion(): string {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
}

export function readSnapshot(): Snapshot {
    return fs.existsSync(SNAPSHOT_FILE) ? JSON.parse(fs.readFileSync(SNAPSHOT_FILE, "utf8")) : {};
}

async function main(): Promise<void> {
    const version = packageVersion();
    const snapshot = readSnapshot();
    const api = componentApi();
    if (snapshot[version] && JSON.stringify(snapshot[version]) !== JSON.stringify(api)) {
        console.error(`version ${version} is already recorded with a different API: bump package.json's version and add its CHANGELOG.md section first`);
        process.exit(1);
    }
    const schema = await packageSchema();
    const problem = recordingProblem(readSchemaRecord(), version, schema);
    if (problem) {
        console.error(problem);
        process.exit(1);
    }
    snapshot[version] = api;
    fs.writeFileSync(SNAPSHOT_FILE, `${JSON.stringify(snapshot, null, 2)}\n`);
    writeSchemaRecord({ version, schema });
    console.log(`recorded ${api.tokens.length} type tokens and ${Object.keys(api.fields).length} fields for ${version} in ${path.relative(ROOT, SNAPSHOT_FILE)}`);
    console.log(`recorded the component package's schema of ${version} (${Object.keys(schema.resources).length} components) in ${path.relative(ROOT, SCHEMA_SNAPSHOT_FILE)}`);
}

if (require.main === module) {
    main().catch((e: unknown) => {
        console.error(e instanceof Error ? e.stack : e);
        process.exit(1);
    });
}
