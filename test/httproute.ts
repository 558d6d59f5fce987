/**
 * A small evaluator of Gateway API HTTPRoute matching (v1.4 semantics), for
 * asserting where a request lands: which routes attach to a Gateway, which
 * rule wins (hostname, then Exact path, longest prefix, most header matches,
 * then route age/name, then rule order), and how the winning rule's weights
 * split the requests among backends, with invalid backends (a missing
 * Service, a cross-namespace reference without a ReferenceGrant) answering 500
 * as the spec requires.
 */
import { KObj } from "./harness";

const GROUP = "gateway.networking.k8s.io";

export interface HttpRequest {
    readonly host: string;
    readonly path: string;
    /** Header names are matched case-insensitively. */
    readonly headers?: Record<string, string>;
}

export interface GatewayId {
    readonly namespace: string;
    readonly name: string;
}

/** Where requests land: `namespace/service` (or "404", "500") → share of requests (0 to 1). */
export type Shares = Record<string, number>;

/** One match of one rule of one route, with its precedence. */
interface Candidate {
    readonly route: KObj;
    readonly ruleIndex: number;
    readonly match: KObj;
    readonly hostScore: [number, number];
}

function kindOf(o: KObj): string {
    return `${String(o.apiVersion).split("/")[0]}/${o.kind}`;
}

function routes(objects: KObj[]): KObj[] {
    return objects.filter(o => kindOf(o) === `${GROUP}/HTTPRoute`);
}

/** Whether the Gateway (when it is one of `objects`) lets a route of `namespace` attach to it. */
function admits(objects: KObj[], gw: GatewayId, namespace: string): boolean {
    const gateway = objects.find(o => kindOf(o) === `${GROUP}/Gateway` && o.metadata.name === gw.name && o.metadata.namespace === gw.namespace);
    if (!gateway) {
        return true; // a shared Gateway we do not render: assume its owner admits the route
    }
    return (gateway.spec.listeners as KObj[]).some(l => {
        const ns = l.allowedRoutes?.namespaces ?? { from: "Same" };
        if (ns.from === "All") {
            return true;
        }
        if (ns.from === "Same") {
            return namespace === gw.namespace;
        }
        return ((ns.selector?.matchExpressions ?? []) as KObj[]).every(e =>
            e.key === "kubernetes.io/metadata.name" && e.operator === "In" && (e.values as string[]).includes(namespace))
            && Object.entries((ns.selector?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => k === "kubernetes.io/metadata.name" && v === namespace);
    });
}

/** Routes attached to the Gateway (a parentRef naming it, and the Gateway admitting the route's namespace). */
export function attachedRoutes(objects: KObj[], gw: GatewayId): KObj[] {
    return routes(objects).filter(r => (r.spec.parentRefs as KObj[]).some(p =>
        (p.group ?? GROUP) === GROUP && (p.kind ?? "Gateway") === "Gateway"
        && p.name === gw.name && (p.namespace ?? r.metadata.namespace) === gw.namespace)
        && admits(objects, gw, r.metadata.namespace));
}

/** [characters of a matching non-wildcard hostname, characters of the matching hostname], or undefined. */
function hostScore(route: KObj, host: string): [number, number] | undefined {
    const names = (route.spec.hostnames ?? []) as string[];
    if (names.length === 0) {
        return [0, 0];
    }
    let best: [number, number] | undefined;
    for (const n of names) {
        const exact = n === host;
        const wild = n.startsWith("*.") && host.endsWith(n.slice(1)) && host.length > n.length - 1;
        if (exact || wild) {
            const score: [number, number] = [exact ? n.length : 0, n.length];
            if (!best || score[0] > best[0] || (score[0] === best[0] && score[1] > best[1])) {
                best = score;
            }
        }
    }
    return best;
}

function pathMatches(m: KObj, path: string): boolean {
    const type = m.path?.type ?? "PathPrefix";
    const value: string = m.path?.value ?? "/";
    if (type === "Exact") {
        return path === value;
    }
    if (type !== "PathPrefix") {
        throw new Error(`path match type ${type} is not supported by this evaluator`);
    }
    const prefix = value.replace(/\/+$/, "");
    return prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
}

function headersMatch(m: KObj, headers: Record<string, string>): boolean {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return ((m.headers ?? []) as KObj[]).every(h => {
        if ((h.type ?? "Exact") !== "Exact") {
            throw new Error(`header match type ${h.type} is not supported by this evaluator`);
        }
        return lower[String(h.name).toLowerCase()] === h.value;
    });
}

function matchesOf(rule: KObj): KObj[] {
    return rule.matches?.length ? rule.matches : [{ path: { type: "PathPrefix", value: "/" } }];
}

/** The precedence of a match, most significant first (higher wins); equal keys tie. */
function precedence(c: Candidate): number[] {
    const m = c.match;
    const exact = m.path?.type === "Exact" ? 1 : 0;
    const prefixLength = (m.path?.value ?? "/").length;
    return [...c.hostScore, exact, prefixLength, m.method ? 1 : 0, (m.headers ?? []).length, (m.queryParams ?? []).length];
}

function compare(a: number[], b: number[]): number {
    for (let i = 0; i < a.length; i++) {
        if (a[i] !== b[i]) {
            return b[i] - a[i];
        }
    }
    return 0;
}

function routeKey(r: KObj): string {
    return `${r.metadata.namespace}/${r.metadata.name}`;
}

/** Every match of an attached route that a request satisfies, best first. */
function candidates(objects: KObj[], gw: GatewayId, req: HttpRequest): Candidate[] {
    const out: Candidate[] = [];
    for (const route of attachedRoutes(objects, gw)) {
        const score = hostScore(route, req.host);
        if (!score) {
            continue;
        }
        (route.spec.rules as KObj[]).forEach((rule, ruleIndex) => {
            for (const match of matchesOf(rule)) {
                if (pathMatches(match, req.path) && headersMatch(match, req.headers ?? {})) {
                    out.push({ route, ruleIndex, match, hostScore: score });
                }
            }
        });
    }
    // Ties across routes: the oldest route (all ours are created together, so equal), then namespace/name; within a route, rule order.
    return out.sort((a, b) => compare(precedence(a), precedence(b))
        || routeKey(a.route).localeCompare(routeKey(b.route))
        || a.ruleIndex - b.ruleIndex);
}

/** Whether a cross-namespace reference from an HTTPRoute in `from` to Service `name` in `to` is granted. */
function granted(objects: KObj[], from: string, to: string, name: string): boolean {
    return objects.some(o => kindOf(o) === `${GROUP}/ReferenceGrant` && o.metadata.namespace === to
        && (o.spec.from as KObj[]).some(f => f.group === GROUP && f.kind === "HTTPRoute" && f.namespace === from)
        && (o.spec.to as KObj[]).some(t => (t.group ?? "") === "" && t.kind === "Service" && (t.name === undefined || t.name === name)));
}

function backendValid(objects: KObj[], route: KObj, ref: KObj): boolean {
    if ((ref.group ?? "") !== "" || (ref.kind ?? "Service") !== "Service") {
        return false;
    }
    const from = route.metadata.namespace;
    const ns = ref.namespace ?? from;
    const service = objects.find(o => o.kind === "Service" && o.apiVersion === "v1" && o.metadata.name === ref.name && o.metadata.namespace === ns);
    const portOk = service !== undefined && (service.spec.ports as KObj[]).some(p => p.port === ref.port);
    return portOk && (ns === from || granted(objects, from, ns, ref.name));
}

/**
 * Where a request sent to the Gateway lands, as shares of requests: the
 * winning rule's backends by weight, `500` for the share of invalid backends,
 * `404` when no rule matches.
 */
export function route(objects: KObj[], gw: GatewayId, req: HttpRequest): Shares {
    const winner = candidates(objects, gw, req)[0];
    if (!winner) {
        return { 404: 1 };
    }
    const refs = (winner.route.spec.rules[winner.ruleIndex].backendRefs ?? []) as KObj[];
    const total = refs.reduce((acc, r) => acc + (r.weight ?? 1), 0);
    if (total === 0) {
        return { 500: 1 };
    }
    const shares: Shares = {};
    for (const ref of refs) {
        const weight = ref.weight ?? 1;
        if (weight === 0) {
            continue;
        }
        const key = backendValid(objects, winner.route, ref) ? `${ref.namespace ?? winner.route.metadata.namespace}/${ref.name}` : "500";
        shares[key] = (shares[key] ?? 0) + weight / total;
    }
    return shares;
}

/** A match condition as text: hostnames, path and headers, in a canonical order. */
function condition(host: string, m: KObj): string {
    const headers = ((m.headers ?? []) as KObj[]).map(h => `${String(h.name).toLowerCase()}=${h.value}`).sort();
    return `${host} ${m.path?.type ?? "PathPrefix"} ${m.path?.value ?? "/"} [${headers.join(",")}] ${m.method ?? ""}`;
}

/**
 * Pairs of routes attached to the Gateway that claim the very same match
 * (hostname, path, headers): only route age or name would decide between
 * them, i.e. they fight over it.
 */
export function conflicts(objects: KObj[], gw: GatewayId): string[] {
    const owner = new Map<string, string>();
    const found: string[] = [];
    for (const r of attachedRoutes(objects, gw)) {
        const seenHere = new Set<string>();
        for (const host of (r.spec.hostnames ?? ["*"]) as string[]) {
            for (const rule of r.spec.rules as KObj[]) {
                for (const m of matchesOf(rule)) {
                    const c = condition(host, m);
                    const other = owner.get(c);
                    if (other !== undefined && other !== routeKey(r)) {
                        found.push(`${other} and ${routeKey(r)} both match ${c}`);
                    }
                    if (!seenHere.has(c)) {
                        owner.set(c, routeKey(r));
                        seenHere.add(c);
                    }
                }
            }
        }
    }
    return found;
}

/**
 * Whether `hits` of `total` requests is a plausible outcome of sending each
 * request to a backend with probability `share` (a weighted split): within
 * `sigmas` standard deviations of the binomial mean. For a test against a real
 * Gateway (e.g. 1000 requests at 10 %: 100 ± 38 with 4 sigmas).
 */
export function withinTolerance(hits: number, total: number, share: number, sigmas = 4): boolean {
    const sd = Math.sqrt(total * share * (1 - share));
    return Math.abs(hits - total * share) <= sigmas * sd;
}
