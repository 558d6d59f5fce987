/**
 * The manual (README.md and docs/) against the tree: its links lead somewhere,
 * the paths it names exist, each page of docs/ opens with its command, and the
 * README's repository map is the repository's top level.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";
import { anchors, docsPages, manual, prose } from "./manual";

/** Top-level entries git ignores (.gitignore's plain names and `*` suffixes), and git's own. */
function ignored(entry: string): boolean {
    const rules = fs.readFileSync(path.join(ROOT, ".gitignore"), "utf8").split("\n").map(l => l.trim().replace(/^\/|\/$/g, "")).filter(Boolean);
    return entry === ".git" || rules.some(r => (r.startsWith("*") ? entry.endsWith(r.slice(1)) : entry === r));
}

const TOP = fs.readdirSync(ROOT).filter(e => !ignored(e));

describe("the manual", () => {
    it("links only to files and headings that exist", () => {
        for (const [file, text] of manual()) {
            for (const m of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1];
                if (/^[a-z]+:/.test(target)) {
                    continue;
                }
                const [rel, anchor] = target.split("#");
                const dest = rel === "" ? path.join(ROOT, file) : path.join(ROOT, path.dirname(file), rel);
                assert.ok(fs.existsSync(dest), `${file} links to ${target}, which does not exist`);
                if (anchor !== undefined) {
                    assert.ok(anchors(fs.readFileSync(dest, "utf8")).has(anchor), `${file} links to ${target}: ${path.relative(ROOT, dest)} has no heading #${anchor}`);
                }
            }
        }
    });

    it("names only repository paths that exist", () => {
        const dirs = TOP.filter(e => fs.statSync(path.join(ROOT, e)).isDirectory());
        for (const [file, text] of manual()) {
            for (const m of text.matchAll(/`([^`\s]+)`/g)) {
                const p = m[1].replace(/[.,:;)]+$/, "");
                if (!dirs.includes(p.split("/")[0]) || !p.includes("/") || /[<>*{}…$]/.test(p)) {
                    continue;
                }
                assert.ok(fs.existsSync(path.join(ROOT, p)), `${file} names ${p}, which does not exist`);
            }
        }
    });

    it("opens every page of docs/ with a title and the command a reader came for", () => {
        for (const page of docsPages()) {
            const lines = fs.readFileSync(path.join(ROOT, page), "utf8").split("\n").filter(l => l.trim() !== "");
            assert.match(lines[0], /^# \S/, `${page} starts with its title`);
            assert.match(lines[1], /^```(bash|sh)$/, `${page}: a command block right after the title`);
        }
    });

    it("links every page of docs/ from the README", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const page of docsPages()) {
            assert.ok(readme.includes(`](${page})`), `the README does not link ${page}`);
        }
    });

    it("has a repository map in the README that is the tree's top level", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const start = readme.indexOf("## Repository map");
        assert.ok(start >= 0, "the README has a section Repository map");
        const rows = readme.slice(start).split("\n").filter(l => l.startsWith("| `"));
        const named = rows.flatMap(r => [...r.split(" | ")[0].matchAll(/`([^`]+)`/g)].map(m => m[1].replace(/\/$/, "")));
        const patterns = named.map(n => new RegExp(`^${n.replace(/[.]/g, "\\.").replace(/<[^>]+>/g, "[^/]+")}$`));
        for (const [n, re] of named.map((n, i) => [n, patterns[i]] as const)) {
            const matches = n.includes("<") ? TOP.filter(e => re.test(e)) : [n].filter(p => fs.existsSync(path.join(ROOT, p)));
            assert.ok(matches.length > 0, `the repository map names ${n}, which is not in the tree`);
        }
        for (const entry of TOP) {
            const covered = patterns.some(re => re.test(entry)) || named.some(n => n.startsWith(`${entry}/`));
            assert.ok(covered, `${entry} is in the tree but not in the README's repository map`);
        }
    });
});
