/**
 * Upgrading a deployed stack: every URN a released version registered
 * (test/urns/<version>.json, scripts/record-urns.ts) is reached by exactly one
 * resource of the program as it is now, through its URN or an alias. The
 * engine then updates each in place: nothing the stack has is deleted, or
 * replaced for having a new URN (a replacement for a changed immutable field
 * is a different matter, named in CHANGELOG.md).
 *
 * 0.5.0 is recorded with both of its type tokens: `sample-app:components:*`
 * (a TypeScript program) and `sample-app:index:*` (the component package).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT, runStack, StackName, STACKS } from "./harness";
import { mapUrns } from "./urns";
import { URN_VARIANTS } from "../scripts/record-urns";

const DIR = path.join(ROOT, "test", "urns");
const RECORDS = fs.readdirSync(DIR).filter(f => f.endsWith(".json")).sort();

describe("upgrading a stack deployed with an earlier release", () => {
    it("has the URNs of 0.5.0 on record, as the TypeScript program and as the component package registered them", () => {
        const record = JSON.parse(fs.readFileSync(path.join(DIR, "0.5.0.json"), "utf8"));
        assert.deepStrictEqual(Object.keys(record.stacks.prod), ["program", "package"]);
        assert.ok(record.stacks.prod.program.includes("urn:pulumi:prod::sample-app::sample-app:components:Redis$kubernetes:apps/v1:StatefulSet::redis"));
        assert.ok(record.stacks.prod.package.includes("urn:pulumi:prod::sample-app::sample-app:index:Redis$kubernetes:apps/v1:StatefulSet::redis"));
    });

    for (const stack of STACKS) {
        for (const [variant, overrides] of Object.entries(URN_VARIANTS)) {
            const key = variant ? `${stack}-${variant}` : stack;
            it(`${key}: every resource a recorded release registered is still there under its URN or an alias, so nothing is deleted or replaced for a new URN`, async () => {
                const run = await runStack(stack as StackName, overrides);
                for (const file of RECORDS) {
                    const record = JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8"));
                    for (const [mode, urns] of Object.entries(record.stacks[key] as Record<string, string[]>)) {
                        const { matched, deleted, ambiguous } = mapUrns(urns, run.engine);
                        assert.deepStrictEqual(deleted, [], `${record.version} (${mode}): an update would delete these`);
                        assert.deepStrictEqual(ambiguous, [], `${record.version} (${mode}): more than one resource claims these`);
                        assert.strictEqual(matched.length, urns.length);
                    }
                }
            });
        }
    }

    it("registers every component under its single token sample-app:index:<Name>, with an alias from sample-app:components:<Name>", async () => {
        const run = await runStack("prod");
        const redis = run.engine.find(r => r.type.startsWith("sample-app:") && r.name === "redis");
        assert.strictEqual(redis?.urn, "urn:pulumi:prod::sample-app::sample-app:index:Redis::redis");
        assert.deepStrictEqual(redis?.aliases, ["urn:pulumi:prod::sample-app::sample-app:components:Redis::redis"]);
        const sts = run.engine.find(r => r.type === "kubernetes:apps/v1:StatefulSet");
        assert.ok(sts?.aliases.includes("urn:pulumi:prod::sample-app::sample-app:components:Redis$kubernetes:apps/v1:StatefulSet::redis"),
            "a child inherits its parent's alias");
        for (const r of run.engine.filter(x => x.type.startsWith("sample-app:"))) {
            assert.match(r.type, /^sample-app:index:[A-Z]\w+$/);
        }
    });
});
