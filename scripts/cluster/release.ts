/**
 * `npm run cluster -- release --candidate TAG`: the release through gray (release/stepper.ts) on the
 * local cluster, judged by the cluster's Prometheus (scripts/cluster/prometheus.ts):
 *
 * - on a laptop-shaped cluster, dev as prod and test as its canary, as the cluster suite pairs them: dev's
 *   HTTPRoute sends test its grayWeight, test reads dev's outputs and Redis, both are scraped in
 *   `monitoring`; the images are the nodes' own (`docker.io/sample-app/api:TAG`, imported by
 *   `IMAGE_TAG=TAG npm run cluster -- images`);
 * - on `up --like ack`, prod and gray as their stack files say (deploy.ts's stackOverrides), on the
 *   ALB stand-in, scraped through their PodMonitors by the Prometheus in `arms-prom`, as ARMS does; the
 *   candidate is the registry's TAG by the digests `IMAGE_TAG=TAG npm run cluster -- images` pushed.
 *
 * Settings: prod's stack file's `release:*`, except that the local cluster judges every 10 s (its
 * Prometheus scrapes every 5 s); the stack file's release:interval is for ACK's.
 *
 *   npm run cluster -- release --candidate TAG [--api-digest sha256:... --web-digest sha256:...]
 *
 * Exit status as `npm run release`: 0 promoted, 1 rolled back, 2 bad arguments, 3 a step failed.
 */
import { releaseConfig } from "../../release/config";
import { logLine, parseReleaseArgs, reportOutcome } from "../../release/main";
import { lastUpdate, missingConfig, stackEffects, StackSetup, waitForCanary } from "../../release/stacks";
import { Images, release, ReleaseResult } from "../../release/stepper";
import { CANARY_OF_DEV, namespaceOf } from "../../test/flows";
import { engineMessage, up } from "../engine/stack";
import { projectDefault, stackFileConfig } from "../engine/workspace";
import { localStack, registryImages } from "./deploy";
import { clusterShape } from "./env";
import { clusterPrometheus, metricsNamespace, syncPodMonitorScrapes } from "./prometheus";
import { request, target } from "./suite/http";

/** dev as prod: its route may send test a share; scraped by the cluster's Prometheus. */
export const RELEASE_PROD_CONFIG = { grayNamespace: namespaceOf("test"), metricsNamespace: metricsNamespace("local") };
/** test as dev's canary: a header route on dev's Gateway, dev's Redis; scraped like dev. */
export const RELEASE_GRAY_CONFIG = { ...CANARY_OF_DEV, metricsNamespace: metricsNamespace("local") };

/** The judgement window on the local cluster. */
const LOCAL_INTERVAL = "10s";

/** The two stacks a release runs on, on this cluster's shape, and what every up of each carries beyond its stack file. */
export interface LocalPair {
    readonly prod: string;
    readonly gray: string;
    readonly prodConfig: Readonly<Record<string, string | undefined>>;
    readonly grayConfig: Readonly<Record<string, string | undefined>>;
    /** Whether the cluster's Prometheus finds the pair's pods through their PodMonitors (told after each up). */
    readonly podMonitors: boolean;
}

export function localPair(like = clusterShape().like): LocalPair {
    return like === "ack"
        ? { prod: "prod", gray: "gray", prodConfig: {}, grayConfig: {}, podMonitors: true }
        : { prod: "dev", gray: "test", prodConfig: RELEASE_PROD_CONFIG, grayConfig: RELEASE_GRAY_CONFIG, podMonitors: false };
}

/** The settings of a local release: prod's stack file's release:*, judged every 10 s. */
export function localReleaseSettings(pair = localPair()): ReturnType<typeof releaseConfig> {
    return releaseConfig({ ...stackFileConfig(pair.prod), "release:interval": LOCAL_INTERVAL });
}

/** The candidate as the pair runs it: on ACK's shape by the digests the registry holds for its tag, unless given. */
export function localCandidate(c: Images, pair = localPair()): Images {
    if (pair.prod !== "prod" || (c.apiImageDigest !== undefined && c.webImageDigest !== undefined)) return c;
    const pushed = registryImages(c.imageTag);
    return { imageTag: c.imageTag, apiImageDigest: c.apiImageDigest ?? pushed.apiImageDigest, webImageDigest: c.webImageDigest ?? pushed.webImageDigest };
}

/** Releases `candidate` through gray on the local cluster, logging each step. */
export async function localRelease(candidate: Images, log: (line: string) => void, pair = localPair(), settings = localReleaseSettings(pair)): Promise<ReleaseResult> {
    const t = target(pair.prod);
    const header = String(stackFileConfig(pair.gray)["sample-app:canaryHeader"] ?? "X-Canary");
    const setup: StackSetup = {
        prod: pair.prod, gray: pair.gray,
        open: (stack, overrides) => localStack(stack, overrides),
        up: async s => {
            await up(s, { onOutput: () => undefined });
            // ARMS finds a new PodMonitor by itself; the stand-in is told.
            if (pair.podMonitors) syncPodMonitorScrapes();
        },
        prodConfig: pair.prodConfig, grayConfig: pair.grayConfig,
        defaultImageTag: projectDefault("imageTag"),
        namespaces: { prod: namespaceOf(pair.prod), gray: namespaceOf(pair.gray) },
        query: clusterPrometheus, thresholds: settings.thresholds, log,
        tryCanary: () => waitForCanary(async () => (await request(t, "/api/users?limit=1", { headers: { [header]: "always" } })).status,
            `GET ${t.tls ? "https" : "http"}://${t.host}/api/users?limit=1 with ${header}: always`),
    };
    return release(localCandidate(candidate, pair), settings.schedule, stackEffects(setup));
}

async function main(argv: string[]): Promise<number> {
    const pair = localPair();
    let candidate: Images;
    try {
        candidate = localCandidate(parseReleaseArgs([...argv, "--prod", pair.prod, "--gray", pair.gray]).candidate, pair);
    } catch (e) {
        process.stderr.write(`cluster release: ${e instanceof Error ? e.message : String(e)}\n`);
        return 2;
    }
    // gray's API reaches prod's Redis, and prod's route gives it a share, only once prod names gray's
    // namespace: a prod deployed as its stack file says (dev) does not, and gray would never be ready.
    const last = await lastUpdate(await localStack(pair.prod, pair.prodConfig));
    const missing = last === undefined ? [] : missingConfig(last, pair.prodConfig);
    if (missing.length > 0) {
        process.stderr.write(`cluster release: ${pair.prod} last ran without ${missing.join(" ")}, which a release through ${pair.gray} needs ` +
            `(its Redis and route admit ${pair.gray}, its Prometheus scrapes both); run first:\n  npm run cluster -- deploy ${pair.prod} ${missing.join(" ")}\n`);
        return 2;
    }
    return reportOutcome(await localRelease(candidate, logLine, pair), candidate, pair.prod);
}

if (require.main === module) {
    main(process.argv.slice(2)).then(code => process.exit(code), e => {
        process.stderr.write(`cluster release: ${engineMessage(e)}\n`);
        process.exit(3);
    });
}
