/**
 * What a well-formed value looks like: the patterns the settings check
 * values against, and the parsers of Kubernetes quantities, CIDRs and labels.
 * Pure, so each is unit tested on its own (test/validate.spec.ts).
 */

/** A DNS label (RFC 1123): namespaces, Secrets and most object names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS subdomain (RFC 1123): Gateway, GatewayClass, VolumeSnapshot(Class) and Secret names. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
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
export const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** A Pulumi stack reference: `<stack>`, `<project>/<stack>` or `<org>/<project>/<stack>`. */
export const STACK_REF = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;
/** Five cron fields of numbers, `*`, ranges, lists and steps (what a CronJob accepts, without names or macros). */
export const CRON = /^([0-9*,/-]+\s+){4}[0-9*,/-]+$/;

const QUANTITY = /^([0-9]+(\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/;
const LABEL = /^((?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

const SUFFIX: Readonly<Record<string, number>> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`20Gi`, `500m`) as a number, or undefined when it is not one. */
export function parseQuantity(q: string): number | undefined {
    const m = QUANTITY.exec(q);
    return m ? Number(m[1]) * SUFFIX[m[3] ?? ""] : undefined;
}

/** Whether `c` is an IPv4 CIDR (`10.0.0.0/8`): four octets up to 255, a prefix up to 32. */
export function validCidr(c: string): boolean {
    const m = CIDR.exec(c);
    return m !== null && m.slice(1, 5).every(o => Number(o) <= 255) && Number(m[5]) <= 32;
}

/** A label written `key=value` (the value may be empty) as its key and value, or undefined when it is not one. */
export function parseLabel(item: string): { readonly key: string; readonly value: string } | undefined {
    const m = LABEL.exec(item);
    return m ? { key: m[1], value: m[4] ?? "" } : undefined;
}

/** Characters a supplied Redis password may use: it is written into redis.conf lines (`requirepass <password>`). */
export const PASSWORD = /^[\x21-\x7e]{16,512}$/;
