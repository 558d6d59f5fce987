/**
 * Kubernetes quantities (`20Gi`, `500m`) as numbers: what the components check their args with,
 * and settings/validate.ts re-exports.
 */

const QUANTITY = /^([0-9]+(\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$/;

const SUFFIX: Readonly<Record<string, number>> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity (`20Gi`, `500m`) as a number, or undefined when it is not one. */
export function parseQuantity(q: string): number | undefined {
    const m = QUANTITY.exec(q);
    return m ? Number(m[1]) * SUFFIX[m[3] ?? ""] : undefined;
}
