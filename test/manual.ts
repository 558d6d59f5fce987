/**
 * The manual as the tests read it: README.md, then every page of docs/.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** The pages of docs/, as paths from the repository root. */
export function docsPages(): string[] {
    return fs.readdirSync(path.join(ROOT, "docs")).filter(f => f.endsWith(".md")).sort().map(f => `docs/${f}`);
}

/** README.md and the docs/ pages: [path from the repository root, text]. */
export function manual(): [string, string][] {
    return ["README.md", ...docsPages()].map(f => [f, fs.readFileSync(path.join(ROOT, f), "utf8")]);
}

/** A GitHub heading anchor: lowercase, punctuation dropped, spaces as hyphens. */
export function anchorOf(heading: string): string {
    return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** The anchors of a Markdown text's headings (outside code blocks). */
export function anchors(text: string): Set<string> {
    const out = new Set<string>();
    let code = false;
    for (const line of text.split("\n")) {
        if (line.startsWith("```")) {
            code = !code;
        } else if (!code && /^#{1,6} /.test(line)) {
            out.add(anchorOf(line.replace(/^#+ /, "")));
        }
    }
    return out;
}

/** The text without its fenced code blocks (prose and tables only). */
export function prose(text: string): string {
    return text.replace(/^```[\s\S]*?^```/gm, "");
}
