/**
 * Reads raw config strings by key, falling back to each key's default and
 * recording a problem for each bad value, so that every problem is reported
 * at once (ConfigError) before the program registers a single resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, ConfigKey, isConfigKey, keySpec, PROJECT } from "./keys";

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
            if (!isConfigKey(key)) {
                this.problems.push(`${PROJECT}:${key} is not a known key; known keys: ${Object.keys(CONFIG_KEYS).join(", ")}`);
            }
        }
    }

    problem(key: ConfigKey, value: unknown, allowed: string): void {
        this.problems.push(`${PROJECT}:${key} = ${keySpec(key).secret ? JSON.stringify("[secret]") : JSON.stringify(value)}: ${allowed}`);
    }

    /** Whether the stack sets `key` to anything but its default (the only way a program can tell it was set). */
    isSet(key: ConfigKey): boolean {
        const v = this.raw[key];
        if (v === undefined) {
            return false;
        }
        const d = keySpec(key).default;
        if (Array.isArray(d)) {
            try {
                return JSON.stringify(JSON.parse(v)) !== JSON.stringify(d);
            } catch {
                return true;
            }
        }
        return keySpec(key).secret ? v !== d : v.trim() !== String(d);
    }

    /** The value as the stack wrote it, for a message. */
    shown(key: ConfigKey): unknown {
        const v = this.raw[key];
        if (v === undefined) {
            return keySpec(key).default;
        }
        if (keySpec(key).type === "array") {
            try {
                return JSON.parse(v);
            } catch {
                return v;
            }
        }
        return v;
    }

    string(key: ConfigKey): string {
        const v = this.raw[key];
        return v === undefined ? String(keySpec(key).default) : v.trim();
    }

    /** A secret string exactly as set (no trimming: a password's spaces are its own); "" when unset. */
    secretString(key: ConfigKey): string {
        return this.raw[key] ?? String(keySpec(key).default);
    }

    integer(key: ConfigKey, min: number, max = Number.MAX_SAFE_INTEGER): number {
        const v = this.raw[key];
        const fallback = keySpec(key).default as number;
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

    boolean(key: ConfigKey): boolean {
        const v = this.raw[key];
        if (v === undefined) {
            return keySpec(key).default as boolean;
        }
        if (v !== "true" && v !== "false") {
            this.problem(key, v, "must be true or false");
            return keySpec(key).default as boolean;
        }
        return v === "true";
    }

    stringArray(key: ConfigKey): string[] {
        const v = this.raw[key];
        if (v === undefined) {
            return [...(keySpec(key).default as readonly string[])];
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

    oneOf<T extends string>(key: ConfigKey, value: string, allowed: readonly T[]): T {
        if (!(allowed as readonly string[]).includes(value)) {
            this.problem(key, value, `must be one of ${allowed.join(", ")}`);
            return allowed[0];
        }
        return value as T;
    }

    matching(key: ConfigKey, value: string, pattern: RegExp, allowed: string): string {
        if (!pattern.test(value)) {
            this.problem(key, value, allowed);
        }
        return value;
    }
}
