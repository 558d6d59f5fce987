/**
 * Requests to a stack the way a user sends them: to the address its host leads to on this machine
 * (127.0.0.1 for the in-cluster gateway, the ALB stand-in for gray and prod), with the host in Host
 * (and in SNI over HTTPS, trusting the cluster CA), one connection per request. And the load that the
 * rehearsal's faults run under: readers and writers that count what was sent, what failed, what was
 * slow, and which acknowledged writes can be read back afterwards.
 */
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { CLUSTER_CA, Endpoint, stackEndpoint } from "../env";

/** Where requests for a host go. */
export interface Target { readonly host: string; readonly address: string; readonly port: number; readonly tls: boolean }

export function target(e: Endpoint | string): Target {
    const ep = typeof e === "string" ? stackEndpoint(e) : e;
    return { host: ep.host, ...ep.connect };
}

export interface Reply { readonly status: number; readonly body: string; readonly ms: number }

export interface RequestOptions {
    readonly method?: string;
    readonly body?: string;
    readonly headers?: Record<string, string>;
    readonly timeoutMs?: number;
}

let ca: Buffer | undefined;

/** One request on a new connection. */
export function request(t: Target, pathAndQuery: string, o: RequestOptions = {}): Promise<Reply> {
    const t0 = Date.now();
    const timeoutMs = o.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
        const options: https.RequestOptions = {
            host: t.address, port: t.port, path: pathAndQuery, method: o.method ?? "GET", timeout: timeoutMs, agent: false,
            headers: {
                Host: t.tls && t.port === 443 ? t.host : `${t.host}:${t.port}`, Accept: "application/json",
                ...(o.body ? { "Content-Type": "application/json" } : {}), ...(o.headers ?? {}),
            },
        };
        const done = (res: http.IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on("data", c => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: Date.now() - t0 }));
            res.on("error", reject);
        };
        const req = t.tls
            ? https.request({ ...options, servername: t.host, ca: (ca ??= fs.readFileSync(CLUSTER_CA)) }, done)
            : http.request(options, done);
        req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(o.body);
    });
}

/** What a load run saw. */
export interface LoadReport {
    readonly sent: number;
    readonly failed: number;
    /** Answered, but slower than the run's `slowMs`. */
    readonly slow: number;
    /** Seconds from the first failure to the last (0 when none). */
    readonly failingSeconds: number;
    /** When the first and the last failure happened (epoch ms; 0 when none). */
    readonly firstFailedAt: number;
    readonly lastFailedAt: number;
    /** The HTTP statuses of the failures; 0 for a failure without an answer. */
    readonly failedStatuses: ReadonlySet<number>;
    /** Every failure, in order. */
    readonly failures: readonly Failure[];
    readonly errors: string[];
    readonly p99Ms: number;
}

/** One failed request. */
export interface Failure {
    /** When it failed (epoch ms). */
    readonly at: number;
    /** Its HTTP status; 0 without an answer. */
    readonly status: number;
    /** How long it waited for the answer, ms (0 without one). */
    readonly ms: number;
    /** The answer's body, or why there was none. */
    readonly body: string;
}

export function describeLoad(r: LoadReport): string {
    return `${r.sent} sent, ${r.failed} failed${r.failed ? ` over ${r.failingSeconds.toFixed(1)}s` : ""}, ${r.slow} slow, p99 ${r.p99Ms} ms`;
}

class Counter {
    sent = 0;
    slow = 0;
    readonly errors: string[] = [];
    readonly failures: Failure[] = [];
    readonly ms: number[] = [];
    constructor(private readonly slowMs: number) {}
    ok(ms: number): void {
        this.sent++;
        this.ms.push(ms);
        if (ms > this.slowMs) this.slow++;
    }
    fail(why: string, status = 0, ms = 0, body = why): void {
        this.sent++;
        const now = Date.now();
        this.failures.push({ at: now, status, ms, body });
        if (this.errors.length < 10) this.errors.push(`${new Date(now).toISOString().slice(11, 23)} ${why}`);
    }
    report(): LoadReport {
        const sorted = [...this.ms].sort((a, b) => a - b);
        const first = this.failures[0]?.at ?? 0;
        const last = this.failures.at(-1)?.at ?? 0;
        return {
            sent: this.sent, failed: this.failures.length, slow: this.slow, errors: this.errors,
            failingSeconds: (last - first) / 1000,
            firstFailedAt: first, lastFailedAt: last, failedStatuses: new Set(this.failures.map(f => f.status)), failures: this.failures,
            p99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0,
        };
    }
}

/**
 * Continuous GETs of `paths` (in turn) from `workers` loops until stopped; a non-200 answer, or none
 * within 30 s (a user's patience; anything over `slowMs` counts as slow), counts as failed.
 */
export function load(t: Target, paths: readonly string[], o: { workers?: number; headers?: Record<string, string>; slowMs?: number; timeoutMs?: number } = {}): { stop: () => Promise<LoadReport> } {
    let running = true;
    const c = new Counter(o.slowMs ?? 1000);
    let n = 0;
    const loops = Array.from({ length: o.workers ?? 4 }, async () => {
        while (running) {
            const p = paths[n++ % paths.length];
            try {
                const r = await request(t, p, { headers: o.headers, timeoutMs: o.timeoutMs ?? 30000 });
                if (r.status === 200) c.ok(r.ms);
                else c.fail(`GET ${p}: HTTP ${r.status} ${r.body.slice(0, 100)}`, r.status, r.ms, r.body);
            } catch (e) {
                c.fail(`GET ${p}: ${e instanceof Error ? e.message : String(e)}`);
            }
        }
    });
    return { stop: async () => { running = false; await Promise.all(loops); return c.report(); } };
}

/** What the writers saw, and what can be read back of it. */
export interface WriteReport extends LoadReport {
    /** Writes the API acknowledged (201), by id, with the email they wrote. */
    readonly acknowledged: ReadonlyMap<string, string>;
    /** The longest time between two acknowledged writes, seconds. */
    readonly longestGapSeconds: number;
}

/** `workers` loops creating users until stopped, recording every acknowledged write. */
export function writers(t: Target, o: { workers?: number; slowMs?: number; tag?: string } = {}): { stop: () => Promise<WriteReport> } {
    let running = true;
    const c = new Counter(o.slowMs ?? 1000);
    const acknowledged = new Map<string, string>();
    let lastAck = Date.now();
    let gap = 0;
    let n = 0;
    // Unique to this run: a stack that already holds users (an earlier run's) never sees the same email twice.
    const tag = `${o.tag ?? "w"}-${Date.now()}`;
    const loops = Array.from({ length: o.workers ?? 2 }, async () => {
        while (running) {
            const email = `${tag}-${n++}@example.com`;
            try {
                const r = await request(t, "/api/users", { method: "POST", body: JSON.stringify({ name: "Rehearsal Writer", email }), timeoutMs: 30000 });
                if (r.status === 201) {
                    c.ok(r.ms);
                    acknowledged.set((JSON.parse(r.body) as { id: string }).id, email);
                    const now = Date.now();
                    gap = Math.max(gap, (now - lastAck) / 1000);
                    lastAck = now;
                } else {
                    c.fail(`POST: HTTP ${r.status} ${r.body.slice(0, 100)}`, r.status, r.ms, r.body);
                }
            } catch (e) {
                c.fail(`POST: ${e instanceof Error ? e.message : String(e)}`);
            }
        }
    });
    return {
        stop: async () => {
            running = false;
            await Promise.all(loops);
            return { ...c.report(), acknowledged, longestGapSeconds: Math.max(gap, (Date.now() - lastAck) / 1000) };
        },
    };
}

/** The acknowledged writes that cannot be read back with what was written (lost writes). */
export async function lostWrites(t: Target, acknowledged: ReadonlyMap<string, string>): Promise<string[]> {
    const lost: string[] = [];
    for (const [id, email] of acknowledged) {
        let r: Reply | undefined;
        for (let attempt = 0; attempt < 3 && r?.status !== 200; attempt++) {
            r = await request(t, `/api/users/${id}`).catch(() => undefined);
        }
        if (r?.status !== 200 || (JSON.parse(r.body) as { email?: string }).email !== email) {
            lost.push(`${id} (${email}): ${r ? `HTTP ${r.status}` : "no answer"}`);
        }
    }
    return lost;
}
