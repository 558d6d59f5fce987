/**
 * The release's steps on real stacks, through the Automation API: what is deployed comes from each
 * stack's last update in its history (the config it ran with), every change is a `pulumi up` with
 * config overrides, and each judgement waits out one interval at the current weight and then asks
 * Prometheus. The tracked stack files are never written: a step's images and weight are overrides,
 * recorded in the stack's history with the update that used them.
 */
import { Stack, UpdateSummary } from "@pulumi/pulumi/automation";
import { judge, measure, Thresholds } from "./judge";
import { PrometheusQuery } from "./prometheus";
import { Deployed, Images, ReleaseEffects } from "./stepper";

/** Opens a stack with these config overrides (`key`: the project's namespace; undefined removes the key). */
export type OpenStack = (stack: string, overrides: Readonly<Record<string, string | undefined>>) => Promise<Stack>;

/** The images and grayWeight an update's config ran with; `defaults` for keys it did not set (Pulumi.yaml's). */
export function deployedFrom(u: Pick<UpdateSummary, "config">, defaults: { readonly imageTag: string }, project = "sample-app"): { images: Images; weight: number } {
    const v = (key: string) => u.config[`${project}:${key}`]?.value;
    const weight = Number(v("grayWeight") ?? "0");
    return {
        images: {
            imageTag: v("imageTag") || defaults.imageTag,
            ...(v("apiImageDigest") ? { apiImageDigest: v("apiImageDigest") } : {}),
            ...(v("webImageDigest") ? { webImageDigest: v("webImageDigest") } : {}),
        },
        weight: Number.isFinite(weight) ? weight : 0,
    };
}

/** The last update of a stack that is deployed: undefined when it never was, or was destroyed since. */
export async function lastUpdate(s: Stack): Promise<UpdateSummary | undefined> {
    const history = await s.history(20);
    const last = history.find(u => u.kind === "update" || u.kind === "destroy");
    // A failed update may have applied some of its changes: its config counts as deployed too.
    return last?.kind === "update" ? last : undefined;
}

/** The keys of `config` (the project's namespace) an update did not run with, as `key=value`. */
export function missingConfig(u: Pick<UpdateSummary, "config">, config: Readonly<Record<string, string | undefined>>, project = "sample-app"): string[] {
    return Object.entries(config).filter(([k, v]) => v !== undefined && u.config[`${project}:${k}`]?.value !== v).map(([k, v]) => `${k}=${v}`);
}

/** The config overrides that run these images. */
export function imagesConfig(i: Images): Record<string, string> {
    return { imageTag: i.imageTag, apiImageDigest: i.apiImageDigest ?? "", webImageDigest: i.webImageDigest ?? "" };
}

export interface StackSetup {
    /** The stacks: prod (owns the route and grayWeight) and gray (the canary). */
    readonly prod: string;
    readonly gray: string;
    readonly open: OpenStack;
    /** Runs `pulumi up` of an opened stack, printing what the caller wants printed. */
    readonly up: (s: Stack) => Promise<void>;
    /** Config every up of each stack carries besides its images and the weight. */
    readonly prodConfig?: Readonly<Record<string, string | undefined>>;
    readonly grayConfig?: Readonly<Record<string, string | undefined>>;
    /** Pulumi.yaml's default imageTag, for a stack file that sets none. */
    readonly defaultImageTag: string;
    /** The namespaces whose API pods Prometheus labels: prod's and gray's. */
    readonly namespaces: { readonly prod: string; readonly gray: string };
    readonly query: PrometheusQuery;
    readonly thresholds: Thresholds;
    /** Requests with the canary header reach gray's API and succeed; throws with what failed. */
    readonly tryCanary: () => Promise<void>;
    readonly log: (line: string) => void;
    /** Waits this long; default a timer. */
    readonly sleep?: (ms: number) => Promise<void>;
}

/** Milliseconds of a Prometheus duration (checked by checkThresholds). */
export function durationMs(d: string): number {
    const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
    let ms = 0;
    for (const m of d.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(m[1]) * unit[m[2]];
    return ms;
}

/**
 * Waits until gray answers through the canary header: `send` makes one such request and gives its
 * status. The gateway may take seconds to pick up gray's route; what gray then answers is for the
 * judgements to weigh. Throws with the last status after `seconds`.
 */
export async function waitForCanary(send: () => Promise<number>, what: string, seconds = 60, sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))): Promise<void> {
    const until = Date.now() + seconds * 1000;
    let last: string;
    for (;;) {
        try {
            const status = await send();
            if (status === 200) return;
            last = `HTTP ${status}`;
        } catch (e) {
            last = e instanceof Error ? e.message : String(e);
        }
        if (Date.now() > until) throw new Error(`${what}: not answered 200 within ${seconds} s (last: ${last})`);
        await sleep(1000);
    }
}

/** The release's effects on the two stacks. */
export function stackEffects(c: StackSetup): ReleaseEffects {
    const sleep = c.sleep ?? ((ms: number) => new Promise<void>(r => setTimeout(r, ms)));
    return {
        async deployed(): Promise<Deployed> {
            const prod = await lastUpdate(await c.open(c.prod, c.prodConfig ?? {}));
            if (prod === undefined) throw new Error(`${c.prod} is not deployed: a release starts from a running prod`);
            const gray = await lastUpdate(await c.open(c.gray, c.grayConfig ?? {}));
            const p = deployedFrom(prod, { imageTag: c.defaultImageTag });
            return { prod: p.images, weight: p.weight, gray: gray && deployedFrom(gray, { imageTag: c.defaultImageTag }).images };
        },
        async deployGray(images: Images): Promise<void> {
            await c.up(await c.open(c.gray, { ...c.grayConfig, ...imagesConfig(images) }));
        },
        tryCanary: () => c.tryCanary(),
        async updateProd(images: Images, weight: number): Promise<void> {
            await c.up(await c.open(c.prod, { ...c.prodConfig, ...imagesConfig(images), grayWeight: String(weight) }));
        },
        async judge() {
            // Only traffic at this weight: wait one interval, then look back over it.
            await sleep(durationMs(c.thresholds.interval));
            const [gray, prod] = await Promise.all([
                measure(c.query, c.namespaces.gray, c.thresholds.interval),
                measure(c.query, c.namespaces.prod, c.thresholds.interval),
            ]);
            return judge(gray, prod, c.thresholds);
        },
        log: c.log,
    };
}
