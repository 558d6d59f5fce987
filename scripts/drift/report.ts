/**
 * Drift: what a `pulumi preview --refresh` finds between the objects in the cluster and what the
 * program declares for them. The refresh reads every object back (its inputs become the live values
 * of the fields the program sets); the preview then plans what `pulumi up` would do to put them back.
 * Every object it would touch has drifted: an update names the fields someone changed (live value →
 * declared value), a create an object someone deleted. `pulumi up --refresh` puts them back (a plain
 * `up` plans from the state, which still holds what the program last applied). Fields the program does not set are not
 * drift: other controllers own them.
 *
 * The report is the body of one issue per stack (drift.yml finds it again by its first line). Secret
 * values never show: whatever the engine marks secret, and every value under a Secret's data, prints
 * as [secret] (preview-comment.ts's rules).
 *
 *   ts-node scripts/drift/report.ts EVENTS_FILE --stack prod [--run-url URL] > drift.md
 *
 * Exit status: 0 no drift, 3 drift (the report says where), 2 the preview did not finish or bad usage.
 */
import * as fs from "fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { Change, changes, engineErrors, flagValue, parseEvents, shortType } from "../preview-comment";

/** The exit status of a run that found drift (0: none; 1 and 2: the run itself failed). */
export const DRIFT_EXIT = 3;

/** The first line of a stack's drift issue: the workflow finds its issue by it. */
export const driftMarker = (stack: string) => `<!-- sample-app-drift:${stack} -->`;

/** What a refresh-and-preview found. */
export interface Drift {
    readonly stack: string;
    /** Whether the engine got to its summary (a failed preview says nothing about drift). */
    readonly finished: boolean;
    /** The engine's error messages, when it did not finish. */
    readonly errors: readonly string[];
    /** Each object `pulumi up` would change back, with the fields that differ. */
    readonly objects: readonly Change[];
}

/** The drift in a `pulumi preview --refresh`'s events. */
export function driftOf(events: readonly EngineEvent[], stack: string): Drift {
    const summary = events.some(e => e.summaryEvent !== undefined);
    const errors = engineErrors(events);
    // The refresh's own steps only read the objects back; the preview's steps after them are the drift.
    // The provider's own update (its settings changed in the program) is not something in the cluster.
    const objects = changes(events).filter(c => c.op !== "refresh" && !c.type.startsWith("pulumi:providers:"));
    return { stack, finished: summary && errors.length === 0, errors, objects };
}

/** The issue's body (Markdown): each drifted object with its fields, live → declared. */
export function renderDrift(d: Drift, runUrl?: string): string {
    const out = [driftMarker(d.stack), `### Drift of **${d.stack}**`, ""];
    if (!d.finished) {
        out.push("**The refresh and preview did not finish**, so drift is unknown:", "", ...d.errors.map(e => `> ${e.split("\n").join("\n> ")}`), "");
    } else if (d.objects.length === 0) {
        out.push("No drift: every object in the cluster is as the program declares it.");
    } else {
        const n = d.objects.length;
        out.push(`**${n} object${n === 1 ? "" : "s"} in the cluster differ${n === 1 ? "s" : ""} from what the program declares.** ` +
            "`pulumi up --refresh` of the stack puts back what the program says (each field: live value → declared value); " +
            "to keep a change, make it in the stack's config or the program instead.", "");
        out.push("| object | type | what `pulumi up` changes back |", "|---|---|---|");
        for (const c of d.objects) {
            const what = c.op === "create" ? "(deleted from the cluster: created again)"
                : c.op === "replace" ? `(replaced, because ${c.replaceReasons.map(r => `\`${r}\``).join(", ")} changed)<br>${c.fields.join("<br>")}`
                    : c.fields.length > 0 ? c.fields.join("<br>") : `(${c.op})`;
            out.push(`| \`${c.name}\` | ${shortType(c.type)} | ${what} |`);
        }
    }
    if (runUrl) {
        out.push("", `Found by ${runUrl}`);
    }
    return `${out.join("\n")}\n`;
}

/** The exit status for a report: 0 no drift, DRIFT_EXIT drift, 2 unknown. */
export function driftExit(d: Drift): number {
    return !d.finished ? 2 : d.objects.length > 0 ? DRIFT_EXIT : 0;
}

function main(argv: string[]): number {
    const file = argv[0];
    const flag = (name: string) => flagValue(argv, name);
    const stack = flag("--stack");
    if (!file || file.startsWith("--") || !stack) {
        throw new Error("usage: report.ts EVENTS_FILE --stack STACK [--run-url URL]");
    }
    if (!fs.existsSync(file)) {
        throw new Error(`no event log at ${file} (scripts/engine/stack.ts drift STACK --event-log=${file})`);
    }
    const d = driftOf(parseEvents(fs.readFileSync(file, "utf8")), stack);
    process.stdout.write(renderDrift(d, flag("--run-url")));
    return driftExit(d);
}

if (require.main === module) {
    try {
        process.exitCode = main(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`drift report: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
    }
}
