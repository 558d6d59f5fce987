/**
 * Reads raw config strings by key, falling back to each key's default and
 * recording a problem for each bad value, so that every problem is reported
 * at once (ConfigError) before the program registers a single resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, PROJECT } from "./keys";

/** Thrown with every configuration problem, one per line. */
export class ConfigError extends pulumi.RunError {
    constructor(public readonly problems: readonly string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** Reads raw config strings by key, recording a problem for each bad value. */
export class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: Readonly<Record<string, string>>) {
        for (const key of Object.keys(raw)) {
            if (!(key in CONFIG_KEYS)) {
                this.problems.push(`${PROJECT}:${key} is not a known key; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
            }
        }
    }

    problem(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${PROJECT}:${key} = ${JSON.stringify(value)}: ${allowed}`);
    }

    string(key: string): string {
        const v = this.raw[key];
        return v === undefined ? String(CONFIG_KEYS[key].default) : v.trim();
    }

    integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const v = this.raw[key];
        const fallback = CONFIG_KEYS[key].default as number;
        if (v === undefined) {
            return fallback;
        }
        const n = /^-?[0-9]+$/.test(v.trim()) ? Number(v) : NaN;
        if (!Number.isSafeInteger(n) || n < min || n > max) {
            this.problem(key, v, max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`);
            return fallback;
        }
        return n;
    }

    boolean(key: string): boolean {
        const v = this.raw[key];
        if (v === undefined) {
            return CONFIG_KEYS[key].default as boolean;
        }
        if (v !== "true" && v !== "false") {
            this.problem(key, v, "must be true or false");
            return CONFIG_KEYS[key].default as boolean;
        }
        return v === "true";
    }

    stringArray(key: string): string[] {
        const v = this.raw[key];
        if (v === undefined) {
            return [...(CONFIG_KEYS[key].default as readonly string[])];
        }
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every(x => typeof x === "string" && x.trim() !== "")) {
            this.problem(key, v, "must be a list of non-empty strings");
            return [];
        }
        return parsed.map(x => x.trim());
    }

    oneOf<T extends string>(key: string, value: string, allowed: readonly T[]): T {
        if (!(allowed as readonly string[]).includes(value)) {
            this.problem(key, value, `must be one of ${allowed.join(", ")}`);
            return allowed[0];
        }
        return value as T;
    }

    matching(key: string, value: string, pattern: RegExp, allowed: string): string {
        if (!pattern.test(value)) {
            this.problem(key, value, allowed);
        }
        return value;
    }
}
