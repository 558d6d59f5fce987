/**
 * Writes the Kubernetes objects the program registers for each stack, run under
 * Pulumi mocks with the stack's own config, as YAML under rendered/mock/<stack>/
 * (git-ignored), with Secret values redacted. scripts/validate-manifests.sh
 * checks them against the Kubernetes OpenAPI schemas.
 *
 *   npx ts-node --transpile-only scripts/manifests.ts [stack ...]
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { KObj, plain, ROOT, runStack, STACKS } from "../test/harness";

/** Secrets keep their keys, never their values. */
export function redact(o: KObj): KObj {
    if (o.kind !== "Secret") {
        return o;
    }
    const hide = (m?: Record<string, unknown>) => m && Object.fromEntries(Object.keys(m).map(k => [k, "<redacted>"]));
    return { ...o, stringData: hide(o.stringData), data: hide(o.data) };
}

async function main(stacks: string[]): Promise<void> {
    for (const stack of stacks) {
        if (!(STACKS as readonly string[]).includes(stack)) {
            throw new Error(`unknown stack ${JSON.stringify(stack)}; stacks: ${STACKS.join(", ")}`);
        }
        const run = await runStack(stack);
        const dir = path.join(ROOT, "rendered", "mock", stack);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        for (const o of run.objects) {
            const obj = redact(plain(o) as KObj);
            const file = `${obj.kind}-${obj.metadata.name}.yaml`.toLowerCase();
            fs.writeFileSync(path.join(dir, file), yaml.dump(obj, { noRefs: true, sortKeys: false }));
        }
        console.log(`${stack}: ${run.objects.length} objects -> ${path.relative(ROOT, dir)}/ (Secret values redacted)`);
    }
}

main(process.argv.slice(2).length ? process.argv.slice(2) : [...STACKS]).catch(e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
