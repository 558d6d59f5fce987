/**
 * The cluster suite's small runner: named checks grouped in phases, each printed as it ends with its
 * time, a summary line "N passed, M failed", and the exit status. Scenario files (scenarios/*.ts)
 * export functions that run checks against a shared World; main.ts puts them in order.
 */

interface Result { readonly name: string; readonly ok: boolean }
const results: Result[] = [];
const phases: Array<[string, number]> = [];

export function line(s: string): void {
    process.stdout.write(`${s}\n`);
}

/** A check: prints `ok`/`FAIL` with its number and time; a failure prints its message and does not stop the suite. */
export async function check(name: string, fn: () => Promise<void> | void): Promise<boolean> {
    const t = Date.now();
    try {
        await fn();
        results.push({ name, ok: true });
        line(`ok   ${String(results.length).padStart(2)} ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        return true;
    } catch (e) {
        results.push({ name, ok: false });
        line(`FAIL ${String(results.length).padStart(2)} ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        for (const l of String(e instanceof Error ? e.message : e).split("\n").slice(0, 40)) {
            line(`       ${l}`);
        }
        return false;
    }
}

/** A phase: its checks, then its time. */
export async function phase(name: string, fn: () => Promise<void>): Promise<void> {
    const t = Date.now();
    line(`::: ${name}`);
    try {
        await fn();
    } finally {
        const s = (Date.now() - t) / 1000;
        phases.push([name, s]);
        line(`::: ${name}: ${s.toFixed(1)}s`);
    }
}

export function assert(cond: unknown, message: string): asserts cond {
    if (!cond) {
        throw new Error(message);
    }
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** Polls `probe` until it holds (a thrown error counts as not yet); returns the seconds it took, or throws after `seconds`. */
export async function waitUntil(what: string, seconds: number, probe: () => Promise<boolean> | boolean, everyMs = 1000): Promise<number> {
    const t0 = Date.now();
    let last = "";
    for (;;) {
        try {
            if (await probe()) {
                return (Date.now() - t0) / 1000;
            }
        } catch (e) {
            last = String(e instanceof Error ? e.message : e).split("\n")[0];
        }
        if (Date.now() - t0 > seconds * 1000) {
            throw new Error(`${what}: not within ${seconds}s${last ? ` (last: ${last})` : ""}`);
        }
        await sleep(everyMs);
    }
}

/** Whether every check so far passed (a scenario that needs an earlier one's result asks this). */
export function allPassed(): boolean {
    return results.every(r => r.ok);
}

/** The summary, and the exit status: 0 only when at least one check ran and all passed. */
export function finish(started: number): void {
    const passed = results.filter(r => r.ok).length;
    line(`phases: ${phases.map(([n, s]) => `${n} ${s.toFixed(0)}s`).join(", ")}`);
    line(`cluster tests took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    line(`${passed} passed, ${results.length - passed} failed`);
    process.exitCode = results.length > 0 && passed === results.length ? 0 : 1;
}
