/**
 * Turns a real `pulumi preview` into the Markdown of a pull-request comment: counts per operation,
 * replacements and deletions first, then each changed resource with the fields that change and
 * their old and new values. Secret values never show: whatever the engine marks secret, and every
 * value under a Secret's data or stringData, prints as [secret].
 *
 * Input: the engine's event stream, as `pulumi preview --event-log FILE` writes it (one JSON event
 * per line) or as the Automation API's onEvent hands it over (a JSON array of events).
 *
 *   ts-node scripts/preview-comment.ts EVENTS_FILE --stack prod [--title "..."] > comment.md
 */
import * as fs from "fs";
import type { EngineEvent, StepEventMetadata } from "@pulumi/pulumi/automation";

/** What the comment marks every secret value as. */
export const SECRET = "[secret]";
/** The key the engine's serialized secret values carry (`resource.SecretSig`). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** A hidden line that names the stack, so a workflow finds its own comment to edit. */
export const marker = (stack: string) => `<!-- sample-app-preview:${stack} -->`;

/** Operations in the order a reviewer should read them: what loses data or availability first. */
const ORDER = ["delete", "replace", "create-replacement", "delete-replaced", "discard", "import", "create", "update", "refresh", "read", "same"] as const;
const ICON: Record<string, string> = {
    delete: "🗑️", replace: "🔁", create: "➕", update: "✏️", import: "📥", discard: "➖", read: "👀", refresh: "🔄",
};

/** Events from a file: JSON lines, or one JSON array. */
export function parseEvents(text: string): EngineEvent[] {
    const t = text.trim();
    if (t === "") {
        return [];
    }
    if (t.startsWith("[")) {
        return JSON.parse(t) as EngineEvent[];
    }
    return t.split("\n").filter(l => l.trim() !== "").map((l, i) => {
        try {
            return JSON.parse(l) as EngineEvent;
        } catch {
            throw new Error(`line ${i + 1} of the event log is not JSON: ${l.slice(0, 80)}`);
        }
    });
}

/** A property path such as `spec.template.spec.containers[0].image` or `data["nginx.conf"]` as its segments. */
export function pathSegments(p: string): Array<string | number> {
    const out: Array<string | number> = [];
    const re = /([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(p)) !== null) {
        out.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : m[3].replace(/\\(.)/g, "$1"));
    }
    return out;
}

function at(value: unknown, segments: ReadonlyArray<string | number>): unknown {
    let v: unknown = value;
    for (const s of segments) {
        if (v === null || typeof v !== "object") {
            return undefined;
        }
        if (isSecret(v)) {
            return v;
        }
        v = (v as Record<string | number, unknown>)[s];
    }
    return v;
}

function isSecret(v: unknown): boolean {
    return v === SECRET || (v !== null && typeof v === "object" && SECRET_SIG in (v as object) && (v as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270");
}

/** Whether anything inside `v` is a secret. */
function holdsSecret(v: unknown): boolean {
    if (isSecret(v)) {
        return true;
    }
    if (v !== null && typeof v === "object") {
        return Object.values(v as Record<string, unknown>).some(holdsSecret);
    }
    return false;
}

/** A value for a table cell: short, one line, secrets masked. */
export function show(v: unknown, secretPath: boolean): string {
    if (v === undefined) {
        return "—";
    }
    if (secretPath || holdsSecret(v)) {
        return `\`${SECRET}\``;
    }
    if (typeof v === "string" && v.includes("\n")) {
        return `(${v.split("\n").length} lines)`;
    }
    return inline(v);
}

/** Old → new of a multi-line text: its size and how many lines came and went, not the text itself. */
export function showText(from: string, to: string): string {
    const a = from.split("\n");
    const b = to.split("\n");
    const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
    const ca = count(a);
    const cb = count(b);
    const added = [...cb].reduce((n, [x, k]) => n + Math.max(0, k - (ca.get(x) ?? 0)), 0);
    const removed = [...ca].reduce((n, [x, k]) => n + Math.max(0, k - (cb.get(x) ?? 0)), 0);
    return `${a.length} → ${b.length} lines, ${added} added, ${removed} removed`;
}

function inline(v: unknown): string {
    const text = typeof v === "string" ? v : JSON.stringify(v);
    const short = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    return `\`${short.replace(/`/g, "'").replace(/\|/g, "\\|")}\``;
}

/** One resource the preview changes. */
export interface Change {
    readonly op: string;
    readonly type: string;
    readonly name: string;
    /** `path: old → new` for each property that changes. */
    readonly fields: string[];
    /** The properties whose change forces the replacement. */
    readonly replaceReasons: string[];
}

/** Whether a property path of a resource type holds secret data whatever the engine says. */
function secretPath(type: string, segments: ReadonlyArray<string | number>): boolean {
    return type === "kubernetes:core/v1:Secret" && (segments[0] === "data" || segments[0] === "stringData");
}

function describe(m: StepEventMetadata): Change {
    const name = m.urn.split("::").pop() ?? m.urn;
    const oldInputs = m.old?.inputs ?? {};
    const newInputs = m.new?.inputs ?? {};
    const detailed = m.detailedDiff ?? {};
    const paths = Object.keys(detailed).length > 0 ? Object.keys(detailed) : (m.diffs ?? []);
    const fields = paths.sort().map(p => {
        const segs = pathSegments(p);
        const hidden = secretPath(m.type, segs);
        const kind = detailed[p]?.diffKind ?? "update";
        const from = kind.startsWith("add") ? undefined : at(oldInputs, segs);
        const to = kind.startsWith("delete") ? undefined : at(newInputs, segs);
        if (!hidden && typeof from === "string" && typeof to === "string" && (from.includes("\n") || to.includes("\n"))) {
            return `\`${p}\`: ${showText(from, to)}`;
        }
        return `\`${p}\`: ${show(from, hidden)} → ${show(to, hidden)}`;
    });
    const replaceReasons = Object.entries(detailed).filter(([, d]) => d.diffKind.endsWith("-replace")).map(([p]) => p).sort();
    return { op: m.op, type: m.type, name, fields, replaceReasons };
}

/** The changes of a preview, one per resource (a replacement's three steps as one), most dangerous first. */
export function changes(events: readonly EngineEvent[]): Change[] {
    const byUrn = new Map<string, StepEventMetadata>();
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        // Component resources and the stack itself only group the objects: the objects are what change.
        if (!m || m.op === "same" || m.op === "read" || (m.new ?? m.old)?.custom === false || m.type === "pulumi:pulumi:Stack") {
            continue;
        }
        const seen = byUrn.get(m.urn);
        // A replacement shows as create-replacement, replace and delete-replaced: keep `replace`.
        if (!seen || m.op === "replace" || (seen.op !== "replace" && ORDER.indexOf(m.op as (typeof ORDER)[number]) < ORDER.indexOf(seen.op as (typeof ORDER)[number]))) {
            byUrn.set(m.urn, m.op === "create-replacement" || m.op === "delete-replaced" ? { ...m, op: "replace" } : m);
        }
    }
    const rank = (op: string) => {
        const i = ORDER.indexOf(op as (typeof ORDER)[number]);
        return i < 0 ? ORDER.length : i;
    };
    return [...byUrn.values()].map(describe).sort((a, b) => rank(a.op) - rank(b.op) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}

/** A short type for the table: `apps/v1:Deployment` for `kubernetes:apps/v1:Deployment`. */
export function shortType(t: string): string {
    return t.replace(/^kubernetes:/, "").replace(/^core\/v1:/, "v1:");
}

/** The engine's error messages in a run's events. */
export function engineErrors(events: readonly EngineEvent[]): string[] {
    return events.map(e => e.diagnosticEvent).filter(d => d?.severity === "error").map(d => d!.message.trim());
}

/** The comment for a preview of `stack`. */
export function renderComment(events: readonly EngineEvent[], stack: string, title?: string): string {
    const summary = [...events].reverse().find(e => e.summaryEvent)?.summaryEvent;
    const list = changes(events);
    const counts = summary?.resourceChanges ?? {};
    const countText = Object.entries(counts)
        .filter(([, n]) => (n ?? 0) > 0)
        .sort(([a], [b]) => ORDER.indexOf(a as (typeof ORDER)[number]) - ORDER.indexOf(b as (typeof ORDER)[number]))
        .map(([op, n]) => `${n} to ${op === "same" ? "leave unchanged" : op}`)
        .join(", ");
    const errors = engineErrors(events);
    const policies = events.map(e => e.policyEvent).filter(p => p !== undefined);
    const out: string[] = [marker(stack), `### ${title ?? `\`pulumi preview\` of **${stack}**`}`, ""];
    out.push(countText ? `**${countText}**` : "**No summary: the preview did not finish.**", "");
    if (errors.length > 0) {
        out.push("**The preview failed:**", "", ...errors.map(e => `> ${e.split("\n").join("\n> ")}`), "");
    }
    if (policies.length > 0) {
        out.push("**Policy violations:**", "");
        for (const p of policies) {
            out.push(`- ${p!.enforcementLevel === "mandatory" ? "⛔" : "⚠️"} \`${p!.policyName}\` (${p!.enforcementLevel}): ${p!.message.trim().split("\n")[0]}`);
        }
        out.push("");
    }
    const dangerous = list.filter(c => c.op === "delete" || c.op === "replace");
    if (dangerous.length > 0) {
        out.push("**Replaced or deleted** (read these first):", "");
        for (const c of dangerous) {
            const why = c.replaceReasons.length > 0 ? `, because ${c.replaceReasons.map(r => `\`${r}\``).join(", ")} changes` : "";
            out.push(`- ${ICON[c.op]} **${c.op}** ${shortType(c.type)} \`${c.name}\`${why}`);
        }
        out.push("");
    }
    if (list.length === 0) {
        out.push("No resource changes.");
    } else {
        out.push("| | operation | resource | type | what changes |", "|---|---|---|---|---|");
        for (const c of list) {
            const fields = c.fields.length > 0 ? c.fields.join("<br>") : c.op === "create" || c.op === "delete" ? "(whole object)" : "—";
            out.push(`| ${ICON[c.op] ?? ""} | ${c.op} | \`${c.name}\` | ${shortType(c.type)} | ${fields} |`);
        }
    }
    return `${out.join("\n")}\n`;
}

/** The value after `--name` on a command line, if it is there and is not itself a flag. */
export function flagValue(argv: readonly string[], name: string): string | undefined {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : undefined;
    return v === undefined || v.startsWith("--") ? undefined : v;
}

function main(argv: string[]): void {
    const file = argv[0];
    const flag = (name: string) => flagValue(argv, name);
    const stack = flag("--stack");
    if (!file || file.startsWith("--") || !stack) {
        throw new Error("usage: preview-comment.ts EVENTS_FILE --stack STACK [--title TEXT]");
    }
    if (!fs.existsSync(file)) {
        throw new Error(`no event log at ${file} (pulumi preview --event-log ${file})`);
    }
    process.stdout.write(renderComment(parseEvents(fs.readFileSync(file, "utf8")), stack, flag("--title")));
}

if (require.main === module) {
    try {
        main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`preview-comment: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(2);
    }
}
