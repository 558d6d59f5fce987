/**
 * The release through gray, as steps on two stacks: deploy the candidate to gray, try it through the
 * canary header, step prod's `grayWeight` through a schedule and judge gray against prod at each
 * step, then promote (prod runs the candidate, the weight goes back to 0) or roll back (the weight
 * goes to 0 at once). Every change is a `pulumi up` of one stack, done by the `ReleaseEffects` the
 * caller gives, so the same steps run against ACK and against the local cluster, and under test.
 *
 * It starts from what is deployed, never from memory: a run that was stopped at any point is taken
 * up by the next start. A weight on something that is not the candidate goes to 0 first; a weight on
 * the candidate is judged again before the schedule goes on. No path leaves a weight on a candidate
 * that failed a judgement.
 */
import { describeVerdict, Verdict } from "./judge";

/** The images a stack runs: a tag, and the digests that pin it when the images were pushed by digest. */
export interface Images {
    readonly imageTag: string;
    readonly apiImageDigest?: string;
    readonly webImageDigest?: string;
}

/** What is deployed, as the stacks' last updates say. */
export interface Deployed {
    readonly prod: Images;
    /** undefined: gray is not deployed. */
    readonly gray: Images | undefined;
    /** prod's grayWeight. */
    readonly weight: number;
}

/** What a release does, one `pulumi up` or one look each. */
export interface ReleaseEffects {
    /** What is deployed now. */
    deployed(): Promise<Deployed>;
    /** `pulumi up` of gray with these images. */
    deployGray(images: Images): Promise<void>;
    /** Requests with the canary header reach gray and succeed; throws with what failed. */
    tryCanary(): Promise<void>;
    /** `pulumi up` of prod with these images and this grayWeight (new images: a rolling update). */
    updateProd(images: Images, weight: number): Promise<void>;
    /** Waits out one interval at the current weight and judges gray against prod. */
    judge(): Promise<Verdict>;
    /** One line for the user. */
    log(line: string): void;
}

/** The schedule: the weights to step through, and how many inconclusive judgements a step may have. */
export interface Schedule {
    /** Percent of plain requests sent to gray at each step, rising, each 1–100. Default 5, 25, 50. */
    readonly weights: readonly number[];
    /** Judgements in a row that may find too little traffic before a step counts as failed. Default 3. */
    readonly maxInconclusive: number;
}

export const DEFAULT_SCHEDULE: Schedule = { weights: [5, 25, 50], maxInconclusive: 3 };

/** The schedule, or an error naming each value that cannot be used. */
export function checkSchedule(s: Schedule): Schedule {
    const problems: string[] = [];
    if (s.weights.length === 0) problems.push("weights is empty: give at least one step, such as 5,25,50");
    s.weights.forEach((w, i) => {
        if (!Number.isInteger(w) || w < 1 || w > 100) problems.push(`weight ${String(w)} is not a whole percent from 1 to 100`);
        else if (i > 0 && w <= s.weights[i - 1]) problems.push(`weight ${w} does not rise above ${s.weights[i - 1]}`);
    });
    if (!Number.isInteger(s.maxInconclusive) || s.maxInconclusive < 1) problems.push(`maxInconclusive ${String(s.maxInconclusive)} is not a whole number of at least 1`);
    if (problems.length > 0) throw new Error(`release schedule: ${problems.join("; ")}`);
    return s;
}

/** How a release ended. */
export type ReleaseResult =
    | { readonly outcome: "promoted"; readonly verdicts: readonly Verdict[] }
    | { readonly outcome: "rolled back"; readonly weight: number; readonly verdict: Verdict; readonly verdicts: readonly Verdict[] };

export function sameImages(a: Images | undefined, b: Images): boolean {
    return a !== undefined && a.imageTag === b.imageTag && (a.apiImageDigest ?? "") === (b.apiImageDigest ?? "") && (a.webImageDigest ?? "") === (b.webImageDigest ?? "");
}

export function describeImages(i: Images): string {
    const digests = [i.apiImageDigest && `api@${i.apiImageDigest.slice(0, 19)}`, i.webImageDigest && `web@${i.webImageDigest.slice(0, 19)}`].filter(Boolean);
    return digests.length > 0 ? `${i.imageTag} (${digests.join(", ")})` : i.imageTag;
}

/** Judges at the current weight until a verdict is not inconclusive, or too many were; too little traffic counts as a failure. */
async function judgeStep(fx: ReleaseEffects, weight: number, schedule: Schedule, verdicts: Verdict[]): Promise<Verdict> {
    for (let i = 1; ; i++) {
        const v = await fx.judge();
        verdicts.push(v);
        fx.log(`  judgement at ${weight} %: ${describeVerdict(v).replace(/\n/g, "\n  ")}`);
        if (v.outcome !== "inconclusive") return v;
        if (i >= schedule.maxInconclusive) {
            return { ...v, outcome: "fail", reasons: [...v.reasons, `${i} judgements in a row found too little traffic to judge`] };
        }
    }
}

/**
 * Releases `candidate` through gray. Resolves with the outcome (a rollback is an outcome, not an
 * error); rejects when a step itself fails (a `pulumi up`, the canary check), after setting the weight
 * to 0 if it may not be.
 */
export async function release(candidate: Images, schedule: Schedule, fx: ReleaseEffects): Promise<ReleaseResult> {
    checkSchedule(schedule);
    const verdicts: Verdict[] = [];
    const start = await fx.deployed();
    fx.log(`deployed: prod ${describeImages(start.prod)}, gray ${start.gray ? describeImages(start.gray) : "not deployed"}, grayWeight ${start.weight}`);
    let prod = start.prod;
    let weight = start.weight;
    const setWeight = async (w: number) => {
        await fx.updateProd(prod, w);
        weight = w;
    };
    const toZero = async (why: string) => {
        fx.log(`weight 0: ${why}`);
        await setWeight(0);
    };
    if (sameImages(start.prod, candidate)) {
        fx.log(`prod already runs ${describeImages(candidate)}: promoted before`);
        if (weight > 0) await toZero("prod and gray run the same images; the weight has nothing left to do");
        return { outcome: "promoted", verdicts };
    }
    try {
        let from = 0;
        if (weight > 0 && !sameImages(start.gray, candidate)) {
            await toZero(`prod sends ${weight} % to gray, which runs ${start.gray ? describeImages(start.gray) : "nothing"}, not the candidate`);
        } else if (weight > 0) {
            // An earlier run stopped here: the candidate has had this share; judge it before going on.
            fx.log(`resuming: prod already sends ${weight} % to the candidate (an earlier run stopped); judging it there first`);
            const v = await judgeStep(fx, weight, schedule, verdicts);
            if (v.outcome === "fail") {
                const at = weight;
                await toZero("the candidate failed its judgement");
                return { outcome: "rolled back", weight: at, verdict: v, verdicts };
            }
            from = weight;
        }
        if (from === 0) {
            fx.log(`gray: deploying ${describeImages(candidate)}`);
            await fx.deployGray(candidate);
            await fx.tryCanary();
            fx.log("gray: answers through the canary header");
        }
        for (const w of schedule.weights.filter(x => x > from)) {
            fx.log(`weight ${w}: pulumi up of prod`);
            await setWeight(w);
            const v = await judgeStep(fx, w, schedule, verdicts);
            if (v.outcome === "fail") {
                await toZero("the candidate failed its judgement");
                return { outcome: "rolled back", weight: w, verdict: v, verdicts };
            }
        }
        fx.log(`promoting: prod rolls to ${describeImages(candidate)} at ${weight} %`);
        await fx.updateProd(candidate, weight);
        prod = candidate;
        await toZero("promoted: prod runs the candidate");
        return { outcome: "promoted", verdicts };
    } catch (e) {
        if (weight > 0) {
            fx.log(`a step failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)}): setting the weight to 0`);
            await fx.updateProd(prod, 0).catch((z: unknown) => fx.log(`setting the weight to 0 failed too: ${String(z)}; run the release again, or set prod's grayWeight to 0 yourself`));
        }
        throw e;
    }
}
