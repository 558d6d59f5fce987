/**
 * A release's settings, from prod's stack file under the `release:` namespace (the program itself
 * reads none of them), each with its default:
 *
 *   release:weights                [5, 25, 50]  prod's grayWeight at each step, rising, 1-100
 *   release:maxInconclusive        3            judgements in a row with too little traffic before a step fails
 *   release:interval               30s          the window of each judgement (a Prometheus duration)
 *   release:maxErrorRatioIncrease  0.01         gray's error ratio may exceed prod's by this much
 *   release:maxLatencyRatio        1.5          gray's p99 may reach prod's times this
 *   release:latencyFloorMs         100          a p99 below this always passes
 *   release:minRequests            20           the fewest requests gray must serve in an interval to be judged
 *   release:prometheusUrl          (none)       the Prometheus HTTP API to query (ARMS: its HTTP API address)
 */
import { checkThresholds, DEFAULT_THRESHOLDS, Thresholds } from "./judge";
import { checkSchedule, DEFAULT_SCHEDULE, Schedule } from "./stepper";

export interface ReleaseConfig {
    readonly schedule: Schedule;
    readonly thresholds: Thresholds;
    /** undefined: none in the stack file (the command's --prometheus gives one). */
    readonly prometheusUrl: string | undefined;
}

const KEYS = ["weights", "maxInconclusive", "interval", "maxErrorRatioIncrease", "maxLatencyRatio", "latencyFloorMs", "minRequests", "prometheusUrl"] as const;
type Key = (typeof KEYS)[number];

/** A number from YAML: a number, or a string that is one. */
function numberOf(key: Key, v: unknown): number {
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new Error(`release:${key} is ${JSON.stringify(v)}, not a number`);
    return n;
}

/** The weights: a YAML list of numbers, or a comma-separated string (`pulumi config set release:weights 5,25,50`). */
function weightsOf(v: unknown): number[] {
    const list = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : undefined;
    if (list === undefined) throw new Error(`release:weights is ${JSON.stringify(v)}: give a list such as [5, 25, 50]`);
    return list.map(x => numberOf("weights", typeof x === "string" ? x.trim() : x));
}

/** The release settings in a stack file's `config:` (keys as the file holds them, `release:weights`). */
export function releaseConfig(config: Readonly<Record<string, unknown>>): ReleaseConfig {
    const given = new Map<Key, unknown>();
    for (const [k, v] of Object.entries(config)) {
        if (!k.startsWith("release:")) continue;
        const key = k.slice("release:".length);
        if (!(KEYS as readonly string[]).includes(key)) {
            throw new Error(`${k} is not a release setting: use one of ${KEYS.map(x => `release:${x}`).join(", ")}`);
        }
        if (typeof v === "object" && v !== null && !Array.isArray(v)) throw new Error(`${k} is secret or structured: give a plain value`);
        given.set(key as Key, v);
    }
    const num = (key: Key, dflt: number) => (given.has(key) ? numberOf(key, given.get(key)) : dflt);
    const interval = given.get("interval");
    const schedule = checkSchedule({
        weights: given.has("weights") ? weightsOf(given.get("weights")) : DEFAULT_SCHEDULE.weights,
        maxInconclusive: num("maxInconclusive", DEFAULT_SCHEDULE.maxInconclusive),
    });
    const thresholds = checkThresholds({
        interval: interval === undefined ? DEFAULT_THRESHOLDS.interval : String(interval),
        maxErrorRatioIncrease: num("maxErrorRatioIncrease", DEFAULT_THRESHOLDS.maxErrorRatioIncrease),
        maxLatencyRatio: num("maxLatencyRatio", DEFAULT_THRESHOLDS.maxLatencyRatio),
        latencyFloorMs: num("latencyFloorMs", DEFAULT_THRESHOLDS.latencyFloorMs),
        minRequests: num("minRequests", DEFAULT_THRESHOLDS.minRequests),
    });
    const url = given.get("prometheusUrl");
    return { schedule, thresholds, prometheusUrl: url === undefined || url === "" ? undefined : String(url) };
}
