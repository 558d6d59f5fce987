/**
 * The mode a stack is in, and the one check that every key set in it does
 * something there: each key's `appliesTo` (settings/keys.ts) against the
 * mode. A key set to anything but its default in a stack it does nothing in
 * is a problem naming the key, its value, where it applies and what this
 * stack is.
 */
import { CONFIG_KEYS, ConfigKey, keySpec, RedisKind, Scope } from "./keys";
import type { Reader } from "./reader";

/** What decides which keys a stack uses. */
export interface StackMode {
    /** A canary of another stack (`prodStack` set). */
    readonly canary: boolean;
    readonly redis: RedisKind;
    readonly routing: "gateway" | "ingress";
    /** With routing gateway: a Gateway the stack creates, or a shared one. */
    readonly gateway?: "created" | "shared";
    /** The stack runs the Redis backup. */
    readonly backup: boolean;
    /** Where the proxies that forward public traffic run. */
    readonly proxy: "in-cluster" | "outside";
    readonly autoscaling: boolean;
    /** How a Prometheus finds the API's pods; none: nothing may scrape them. */
    readonly metrics: "none" | "annotations" | "podMonitor";
}

/** Whether the conditions of one scope hold in `mode`. */
function holds(scope: Scope, mode: StackMode): boolean {
    return (scope.canary === undefined || scope.canary === mode.canary)
        && (scope.redis === undefined || scope.redis.includes(mode.redis))
        && (scope.routing === undefined || scope.routing === mode.routing)
        && (scope.gateway === undefined || scope.gateway === mode.gateway)
        && (scope.backup === undefined || mode.backup)
        && (scope.proxy === undefined || scope.proxy === mode.proxy)
        && (scope.autoscaling === undefined || mode.autoscaling)
        && (scope.metrics === undefined || (scope.metrics === "scraped" ? mode.metrics !== "none" : mode.metrics === scope.metrics));
}

/** The scopes of a key, any of which it applies in; none: it applies everywhere. */
function scopesOf(key: ConfigKey): readonly Scope[] {
    const scope = keySpec(key).appliesTo;
    return scope === undefined ? [] : Array.isArray(scope) ? scope : [scope as Scope];
}

/** Whether `key` does something in a stack of `mode`. */
export function applies(key: ConfigKey, mode: StackMode): boolean {
    const scopes = scopesOf(key);
    return scopes.length === 0 || scopes.some(s => holds(s, mode));
}

const REDIS_WORDS: Readonly<Record<RedisKind, string>> = {
    statefulset: "redisMode statefulset",
    sentinel: "redisMode sentinel",
    managed: "redisMode managed",
    prod: "prod's Redis (a canary)",
};

/** A scope in words: "with redisMode managed, in a canary stack (prodStack set)". */
function describeScope(scope: Scope): string {
    const parts: string[] = [];
    if (scope.canary !== undefined) {
        parts.push(scope.canary ? "in a canary stack (prodStack set)" : "outside a canary stack (prodStack unset)");
    }
    if (scope.redis) {
        parts.push(`with ${scope.redis.map(k => REDIS_WORDS[k]).join(" or ")}`);
    }
    if (scope.routing) {
        parts.push(`with routing ${scope.routing}`);
    }
    if (scope.gateway) {
        parts.push("to a Gateway the stack creates (gatewayClass, not gatewayName)");
    }
    if (scope.backup) {
        parts.push("where the stack backs its own Redis up (a VolumeSnapshotClass for its storage class)");
    }
    if (scope.proxy) {
        parts.push("where public traffic comes from outside the cluster (ALB), not from in-cluster proxy pods");
    }
    if (scope.autoscaling) {
        parts.push("with autoscaling true");
    }
    if (scope.metrics) {
        parts.push(scope.metrics === "scraped" ? "where a Prometheus scrapes the API (metricsNamespace set)" : "where a Prometheus finds the API by PodMonitor (metricsNamespace set, metricsDiscovery podMonitor)");
    }
    return parts.join(", ");
}

/** The mode in words, for a message. */
export function describeMode(mode: StackMode): string {
    return [
        mode.canary ? "a canary stack using prod's Redis" : `${REDIS_WORDS[mode.redis]}`,
        `routing ${mode.routing}${mode.gateway ? ` (${mode.gateway} Gateway)` : ""}`,
        mode.backup ? "Redis backups on" : "no Redis backup",
        mode.proxy === "outside" ? "traffic from outside the cluster" : "traffic from in-cluster proxy pods",
        mode.autoscaling ? "autoscaling" : "fixed replicas",
        mode.metrics === "none" ? "no metrics scraping" : `metrics found by ${mode.metrics === "podMonitor" ? "PodMonitor" : "annotations"}`,
    ].join(", ");
}

/** The one check: every key set in a stack where it does nothing is a problem. */
export function scopeProblems(r: Reader, mode: StackMode): void {
    for (const key of Object.keys(CONFIG_KEYS) as ConfigKey[]) {
        if (r.isSet(key) && !applies(key, mode)) {
            const why = keySpec(key).why;
            r.problem(key, r.shown(key), `does nothing in this stack (${describeMode(mode)}): it applies only ${scopesOf(key).map(describeScope).join("; or ")}${why ? ` (${why})` : ""}. Remove it`);
        }
    }
}
