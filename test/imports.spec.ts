/**
 * The program's own modules (index.ts, settings/, stack/, components/) import
 * each other in one direction only: no import cycle, type-only imports included.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

const DIRS = ["settings", "stack", "components"];

/** Every module of the program, as a path from the root without `.ts`. */
function modules(): string[] {
    return ["index", ...DIRS.flatMap(d => fs.readdirSync(path.join(ROOT, d)).filter(f => f.endsWith(".ts")).map(f => `${d}/${f.slice(0, -3)}`))];
}

/** The program's modules `mod` imports or re-exports from (relative specifiers only). */
function importsOf(mod: string, all: ReadonlySet<string>): string[] {
    const text = fs.readFileSync(path.join(ROOT, `${mod}.ts`), "utf8");
    const out: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]*)"/gms)) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(mod), m[1]));
        out.push(all.has(target) ? target : `${target}/index`);
    }
    return out.filter(t => all.has(t));
}

describe("the program's modules", () => {
    it("import each other without a cycle", () => {
        const all = new Set(modules());
        const graph = new Map([...all].map(m => [m, importsOf(m, all)]));
        assert.ok(graph.get("index")!.includes("settings/index"), "the import graph is read (index.ts imports settings/)");
        const done = new Set<string>();
        const visit = (m: string, stack: string[]): void => {
            const seen = stack.indexOf(m);
            assert.ok(seen < 0, `import cycle: ${[...stack.slice(seen), m].join(" -> ")}`);
            if (done.has(m)) {
                return;
            }
            for (const next of graph.get(m) ?? []) {
                visit(next, [...stack, m]);
            }
            done.add(m);
        };
        for (const m of all) {
            visit(m, []);
        }
    });
});
