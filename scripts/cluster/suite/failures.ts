/**
 * Why a write failed during a fault, from what the client saw: the failures a fault may cause, told
 * apart from those it may not. Pure functions; the fault scenarios (scenarios/faults.ts) use them.
 */
import * as fs from "fs";
import * as path from "path";
import type { Failure } from "./http";

/** A span of time, epoch ms. */
export interface Window {
    readonly from: number;
    readonly to: number;
}

/** What a write failure during a zone loss is allowed to be. */
export interface ZoneLossWindows {
    /** While the primary had no replica: prod's durability (WAIT 1) refuses writes, 503. */
    readonly alone: Window;
    /** From just before the zone was lost until it was back: its API pods hold requests that never answer. */
    readonly lost: Window;
    /** nginx's proxy_read_timeout for the API, ms: how long it waits for a request an API pod took. */
    readonly nginxReadTimeoutMs: number;
}

/** The kinds of write failure a zone loss may cause. */
export type ZoneLossCause = "refused while the primary had no replica" | "sent to an API pod of the lost zone";

/**
 * Why a failed write was allowed, or undefined when it was not:
 * - refused (503) while the primary had no replica, up to 5 s after one came back (a write whose WAIT
 *   was pending then);
 * - nginx's own 503 after its whole read timeout, for a write outstanding while the zone was lost (in
 *   flight at the loss, or sent after it): an API pod there took it and never answered (frozen, its
 *   link down), and nginx may not send a POST again, as the pod may have run it. A live API pod
 *   answers well within the timeout.
 */
export function zoneLossCause(f: Failure, w: ZoneLossWindows): ZoneLossCause | undefined {
    if (f.status !== 503) return undefined;
    if (w.alone.to > 0 && f.at >= w.alone.from && f.at <= w.alone.to + 5000) return "refused while the primary had no replica";
    const sent = f.at - f.ms;
    if (/"api unavailable"/.test(f.body) && f.ms >= w.nginxReadTimeoutMs && sent <= w.lost.to && f.at >= w.lost.from) {
        return "sent to an API pod of the lost zone";
    }
    return undefined;
}

/** nginx's proxy_read_timeout in the frontend's nginx.conf (app/web/nginx.conf), ms. */
export function nginxReadTimeoutMs(conf = fs.readFileSync(path.join(__dirname, "..", "..", "..", "app", "web", "nginx.conf"), "utf8")): number {
    const m = /^\s*proxy_read_timeout\s+(\d+)(ms|s)?;/m.exec(conf);
    if (!m) throw new Error("app/web/nginx.conf sets no proxy_read_timeout");
    return Number(m[1]) * (m[2] === "ms" ? 1 : 1000);
}
