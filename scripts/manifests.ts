/**
 * Writes the Kubernetes objects the program registers for each stack, run under
 * Pulumi mocks with the stack's own config, as YAML under rendered/mock/<stack>/
 * (git-ignored), with Secret values redacted; and the same stack with routing
 * ingress (its own config routes through the Gateway API) and other VARIANTS
 * under rendered/mock/<stack>-<variant>/. scripts/validate-manifests.sh checks them
 * against the Kubernetes OpenAPI schemas and the Gateway API CRD schemas.
 *
 *   npx ts-node --transpile-only scripts/manifests.ts [stack ...]
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { KObj, plain, ROOT, routingOverrides, runStack, STACKS } from "../test/harness";

/** Config variants rendered beside each stack's own config, so every kind of object the program can register is validated. */
const VARIANTS: Readonly<Record<string, Readonly<Record<string, Record<string, unknown>>>>> = {
    dev: { ingress: routingOverrides("ingress") },
    test: { ingress: routingOverrides("ingress") },
    // With routing ingress a canary's share of plain requests is its own canaryWeight.
    gray: { ingress: { ...routingOverrides("ingress"), canaryWeight: 10 } },
    // prod's HTTPRoute references gray's Service once grayWeight is set.
    // prod's PodMonitor with its own labels and interval, checked against the CRD's patterns.
    prod: { ingress: routingOverrides("ingress"), grayweight: { grayWeight: 10 }, scrape: { metricsPodMonitorLabels: ["release=kube-prometheus-stack"], metricsScrapeInterval: "1m30s" } },
};

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
        for (const [variant, overrides] of Object.entries({ "": {}, ...VARIANTS[stack] })) {
            const name = variant === "" ? stack : `${stack}-${variant}`;
            const run = await runStack(stack, overrides);
            const dir = path.join(ROOT, "rendered", "mock", name);
            fs.rmSync(dir, { recursive: true, force: true });
            fs.mkdirSync(dir, { recursive: true });
            for (const o of run.objects) {
                const obj = redact(plain(o) as KObj);
                const file = `${obj.kind}-${obj.metadata.name}.yaml`.toLowerCase();
                fs.writeFileSync(path.join(dir, file), yaml.dump(obj, { noRefs: true, sortKeys: false }));
            }
            console.log(`${name}: ${run.objects.length} objects -> ${path.relative(ROOT, dir)}/ (Secret values redacted)`);
        }
    }
}

main(process.argv.slice(2).length ? process.argv.slice(2) : [...STACKS]).catch(e => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
});
