/**
 * What a well-formed value looks like: the patterns the settings check
 * values against, and the parsers of Kubernetes quantities, CIDRs and labels.
 * Pure, so each is unit tested on its own (test/validate.spec.ts).
 */
import { DNS_SUBDOMAIN, LABEL_VALUE, validLabelKey } from "../components/labels";
import type { Reader } from "./reader";

/** A DNS label (RFC 1123): namespaces, Secrets and most object names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A public host name: lowercase DNS labels, at least two. */
export const HOST = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;
/** A network host: a DNS name or an IPv4 address, any case (a managed Redis endpoint). */
export const NETWORK_HOST = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;
/** An image tag. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An image digest. */
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** `name:tag`, `name:tag@sha256:…` or `name@sha256:…` (name: path segments, an optional registry host:port). */
export const IMAGE_REF = /^([a-z0-9.-]+(:[0-9]+)?\/)?[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** A registry prefix: host[:port] and optional path segments. */
export const REGISTRY = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]([-a-z0-9._]*[a-z0-9])?)*$/;
/** An HTTP header name (an RFC 9110 token). */
export const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
/** A Pulumi stack reference: `<stack>`, `<project>/<stack>` or `<org>/<project>/<stack>`. */
export const STACK_REF = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export { parseQuantity } from "../components/quantity";
export { DNS_SUBDOMAIN, LABEL_VALUE };

/** Whether `c` is an IPv4 CIDR (`10.0.0.0/8`): four octets up to 255, a prefix up to 32. */
export function validCidr(c: string): boolean {
    const m = CIDR.exec(c);
    return m !== null && m.slice(1, 5).every(o => Number(o) <= 255) && Number(m[5]) <= 32;
}

/** A label written `key=value` (the value may be empty) as its key and value, or undefined when it is not one. */
export function parseLabel(item: string): { readonly key: string; readonly value: string } | undefined {
    const at = item.indexOf("=");
    const [key, value] = at < 0 ? [item, undefined] : [item.slice(0, at), item.slice(at + 1)];
    return value !== undefined && validLabelKey(key) && LABEL_VALUE.test(value) ? { key, value } : undefined;
}

/** `key=value` label strings of `key` as a map; a problem for each malformed one. */
export function labelMap(r: Reader, key: "gatewayPodLabels" | "metricsPodMonitorLabels", items: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of items) {
        const label = parseLabel(item);
        if (!label) {
            r.problem(key, item, "must be labels written key=value, e.g. app.kubernetes.io/name=traefik");
        } else {
            out[label.key] = label.value;
        }
    }
    return out;
}

/**
 * A supplied Redis password: 16 to 512 printable ASCII characters, spaces and quotes included. The
 * start scripts quote it for redis.conf and sentinel.conf (test/consumers.spec.ts starts redis-server
 * and Sentinels with passwords on the edges), the API reads it from a file keeping every character.
 */
export const PASSWORD = /^[\x20-\x7e]{16,512}$/;

/** What a schedule may be, as a problem names it. */
export const CRON_PROBLEM = "must be a five-field cron schedule of numbers, `*`, ranges, lists and steps, such as \"0 3 * * *\" (03:00 every day)";

/** The fields of a standard cron schedule: minute, hour, day of month, month, day of week (0 is Sunday; 7 is not a day). */
const CRON_FIELDS: readonly { readonly name: string; readonly min: number; readonly max: number }[] = [
    { name: "minute", min: 0, max: 59 }, { name: "hour", min: 0, max: 23 }, { name: "day of month", min: 1, max: 31 },
    { name: "month", min: 1, max: 12 }, { name: "day of week", min: 0, max: 6 },
];

/**
 * Why a CronJob's schedule is refused, or undefined when it is accepted: the rules of
 * `cron.ParseStandard` (robfig/cron v3, which the API server validates CronJobs with) for schedules
 * of digits, `*`, `,`, `/`, `-`, spaces and tabs. Names (`MON`), `?` and macros (`@daily`) are not
 * taken, though the API server would. test/consumers.spec.ts compares this with robfig/cron itself.
 */
export function cronProblem(schedule: string): string | undefined {
    if (!/^[0-9*,/\- \t]*$/.test(schedule)) {
        return "only digits, *, ',', '/', '-' and spaces are allowed";
    }
    const fields = schedule.split(/[ \t]+/).filter(f => f !== "");
    if (fields.length !== 5) {
        return `it has ${fields.length} fields, not 5`;
    }
    for (const [i, field] of fields.entries()) {
        // Go's strings.FieldsFunc: empty items of a list are skipped.
        for (const item of field.split(",").filter(x => x !== "")) {
            const problem = cronRangeProblem(item, CRON_FIELDS[i]);
            if (problem) {
                return `${CRON_FIELDS[i].name} ${JSON.stringify(item)}: ${problem}`;
            }
        }
    }
    return undefined;
}

/** robfig/cron's getRange for one item of a field: `*`, `N`, `N-M`, each with an optional `/step`. */
function cronRangeProblem(item: string, bounds: { readonly min: number; readonly max: number }): string | undefined {
    const rangeAndStep = item.split("/");
    const lowAndHigh = rangeAndStep[0].split("-");
    // Go's strconv.Atoi: digits within int64.
    const int = (s: string): number | undefined => (/^[0-9]+$/.test(s) && BigInt(s) <= 9223372036854775807n ? Number(s) : undefined);
    let start: number | undefined;
    let end: number | undefined;
    if (lowAndHigh[0] === "*") {
        [start, end] = [bounds.min, bounds.max];
    } else {
        start = int(lowAndHigh[0]);
        if (lowAndHigh.length > 2) {
            return "too many hyphens";
        }
        end = lowAndHigh.length === 2 ? int(lowAndHigh[1]) : start;
    }
    if (start === undefined || end === undefined) {
        return "not a number";
    }
    if (rangeAndStep.length > 2) {
        return "too many slashes";
    }
    const step = rangeAndStep.length === 2 ? int(rangeAndStep[1]) : 1;
    if (step === undefined) {
        return "the step is not a number";
    }
    if (rangeAndStep.length === 2 && lowAndHigh.length === 1) {
        end = bounds.max; // "N/step" means "N-max/step"
    }
    if (start < bounds.min) {
        return `below the minimum ${bounds.min}`;
    }
    if (end > bounds.max) {
        return `above the maximum ${bounds.max}`;
    }
    if (start > end) {
        return "the range starts after it ends";
    }
    return step === 0 ? "a step of 0" : undefined;
}

