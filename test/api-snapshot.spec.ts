/**
 * A version number is a promise to component users: the type tokens and every
 * Args field with its documented default stay as recorded for that version in
 * test/api-snapshot.json (scripts/component-api.ts). A change to them needs a
 * new version, a CHANGELOG.md section, and `npm run api:snapshot`.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ComponentApi, componentApi, packageVersion, readSnapshot } from "../scripts/component-api";
import { ROOT } from "./harness";

const FIX = "bump package.json's version, say what changed for component users in CHANGELOG.md, then run npm run api:snapshot";

describe("the components' versioned contract (test/api-snapshot.json)", () => {
    const version = packageVersion();
    const recorded: ComponentApi | undefined = readSnapshot()[version];
    const current = componentApi();

    it("has a record for the current package version", () => {
        assert.ok(recorded, `no record for version ${version} in test/api-snapshot.json: run npm run api:snapshot`);
    });

    it("keeps every component's type token as recorded for this version", () => {
        assert.deepStrictEqual(current.tokens, recorded?.tokens, `type tokens changed without a version bump: ${FIX}`);
    });

    it("keeps every Args field, whether it is required, and its documented default as recorded for this version", () => {
        const changed = [...new Set([...Object.keys(current.fields), ...Object.keys(recorded?.fields ?? {})])].filter(
            k => JSON.stringify(current.fields[k]) !== JSON.stringify(recorded?.fields[k]),
        );
        assert.deepStrictEqual(changed.map(k => `${k}: ${JSON.stringify(recorded?.fields[k])} -> ${JSON.stringify(current.fields[k])}`), [],
            `Args changed without a version bump: ${FIX}`);
    });

    it("has a CHANGELOG.md section for the current version, newest first", () => {
        const versions = [...fs.readFileSync(path.join(ROOT, "CHANGELOG.md"), "utf8").matchAll(/^## (\d+\.\d+\.\d+)\b/gm)].map(m => m[1]);
        assert.strictEqual(versions[0], version, `CHANGELOG.md's newest section must be ## ${version}`);
    });

    it("reads the documented defaults it guards (the check can see a changed default)", () => {
        assert.deepStrictEqual(current.fields["RedisArgs.storageSize"], { required: false, default: "`1Gi`" });
        assert.deepStrictEqual(current.fields["RedisArgs.namespace"], { required: true, default: null });
        assert.ok(current.tokens.includes("sample-app:index:Redis"));
    });
});
