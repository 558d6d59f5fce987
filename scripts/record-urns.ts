/**
 * Records the URNs the program registers for every stack file (and with
 * routing ingress) under Pulumi mocks, as the engine names them, into
 * test/urns/<version>.json. test/upgrade.spec.ts checks that every URN of
 * every recorded version is still reached by exactly one resource of the
 * program as it is now (its URN or an alias), so an existing stack updates
 * without a delete or a replacement of anything it has.
 *
 * A version whose components could take either type token (0.5.0: the
 * TypeScript program's `sample-app:components:*`, or a component package's
 * `sample-app:index:*`) is recorded with both.
 *
 *   npx ts-node --transpile-only scripts/record-urns.ts     # at a release, after npm run api:snapshot
 */
import * as fs from "fs";
import * as path from "path";
import * as components from "../components";
import { ROOT, routingOverrides, runStack, STACKS } from "../test/harness";

/** The configurations recorded per stack: its file as it is, and with routing ingress. */
export const URN_VARIANTS: Readonly<Record<string, Record<string, unknown>>> = { "": {}, ingress: routingOverrides("ingress") };

/** The token switch of versions that had one (0.5.0). */
type TokenSwitch = { useComponentPackageTokens?: (on?: boolean) => void };

async function record(): Promise<Record<string, Record<string, string[]>>> {
    const tokens = components as unknown as TokenSwitch;
    const modes = tokens.useComponentPackageTokens ? ["program", "package"] : ["program"];
    const out: Record<string, Record<string, string[]>> = {};
    for (const stack of STACKS) {
        for (const [variant, overrides] of Object.entries(URN_VARIANTS)) {
            const key = variant ? `${stack}-${variant}` : stack;
            out[key] = {};
            for (const mode of modes) {
                tokens.useComponentPackageTokens?.(mode === "package");
                const run = await runStack(stack, overrides);
                out[key][mode] = run.engine.map(r => r.urn).sort();
            }
            tokens.useComponentPackageTokens?.(false);
        }
    }
    return out;
}

async function main(): Promise<void> {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
    const file = path.join(ROOT, "test", "urns", `${version}.json`);
    const stacks = await record();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ version, stacks }, null, 2)}\n`);
    console.log(`recorded the URNs of ${Object.keys(stacks).length} stack configurations of ${version} in ${path.relative(ROOT, file)}`);
}

if (require.main === module) {
    main().catch(e => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
    });
}
