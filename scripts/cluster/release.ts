/**
 * `npm run cluster -- release --candidate TAG`: the release through gray (release/stepper.ts) on the
 * local cluster, with dev as prod and test as its canary, as the cluster suite pairs them: dev's
 * HTTPRoute sends test its grayWeight, test reads dev's outputs and Redis, both are scraped by the
 * cluster's Prometheus in `monitoring`, whose judgements decide. The images are the nodes' own
 * (`docker.io/sample-app/api:TAG`, imported by `npm run cluster -- images` with IMAGE_TAG=TAG).
 * Settings: Pulumi.dev.yaml's `release:*`, with a shorter interval by default (10 s) than on ACK.
 *
 *   npm run cluster -- release --candidate TAG
 *
 * Exit status as `npm run release`: 0 promoted, 1 rolled back, 2 bad arguments, 3 a step failed.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { releaseConfig } from "../../release/config";
import { CANARY_OF_DEV, METRICS_NAMESPACE, namespaceOf } from "../../test/flows";
import { describeVerdict } from "../../release/judge";
import { stackEffects, StackSetup, waitForCanary } from "../../release/stacks";
import { Images, release, ReleaseResult } from "../../release/stepper";
import { parseReleaseArgs } from "../../release/main";
import { engineMessage, up } from "../engine/stack";
import { localStack } from "./deploy";
import { REPO_ROOT } from "./env";
import { clusterPrometheus } from "./suite/prometheus";
import { request, target } from "./suite/http";

/** dev as prod: its route may send test a share; scraped by the cluster's Prometheus. */
export const RELEASE_PROD_CONFIG = { grayNamespace: namespaceOf("test"), metricsNamespace: METRICS_NAMESPACE };
/** test as dev's canary: a header route on dev's Gateway, dev's Redis; scraped like dev. */
export const RELEASE_GRAY_CONFIG = { ...CANARY_OF_DEV, metricsNamespace: METRICS_NAMESPACE };

/** The settings of a local release: Pulumi.dev.yaml's release:*, the interval 10 s unless it sets one. */
export function localReleaseSettings(): ReturnType<typeof releaseConfig> {
    const file = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as { config?: Record<string, unknown> } | undefined;
    return releaseConfig({ "release:interval": "10s", ...file?.config });
}

/** Releases `candidate` from dev (prod) through test (gray) on the local cluster, logging each step. */
export async function localRelease(candidate: Images, log: (line: string) => void, settings = localReleaseSettings()): Promise<ReleaseResult> {
    const t = target("dev");
    const setup: StackSetup = {
        prod: "dev", gray: "test",
        open: (stack, overrides) => localStack(stack, overrides),
        up: async s => { await up(s, { onOutput: () => undefined }); },
        prodConfig: RELEASE_PROD_CONFIG, grayConfig: RELEASE_GRAY_CONFIG,
        defaultImageTag: "0.1.0",
        namespaces: { prod: namespaceOf("dev"), gray: namespaceOf("test") },
        query: clusterPrometheus, thresholds: settings.thresholds, log,
        tryCanary: () => waitForCanary(async () => (await request(t, "/api/users?limit=1", { headers: { "X-Canary": "always" } })).status,
            `GET http://${t.host}/api/users?limit=1 with X-Canary: always`),
    };
    return release(candidate, settings.schedule, stackEffects(setup));
}

async function main(argv: string[]): Promise<number> {
    let candidate: Images;
    try {
        const a = parseReleaseArgs([...argv, "--prod", "dev", "--gray", "test"]);
        candidate = a.candidate;
    } catch (e) {
        process.stderr.write(`cluster release: ${e instanceof Error ? e.message : String(e)}\n`);
        return 2;
    }
    const log = (l: string) => process.stdout.write(`[release ${new Date().toISOString().slice(11, 19)}] ${l}\n`);
    const r = await localRelease(candidate, log);
    if (r.outcome === "promoted") {
        log(`promoted: dev runs ${candidate.imageTag}, grayWeight 0`);
        return 0;
    }
    log(`rolled back at ${r.weight} %: grayWeight 0\n  ${describeVerdict(r.verdict).replace(/\n/g, "\n  ")}`);
    return 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(code => process.exit(code), e => {
        process.stderr.write(`cluster release: ${engineMessage(e)}\n`);
        process.exit(3);
    });
}
