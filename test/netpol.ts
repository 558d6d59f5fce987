/**
 * A small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) for
 * asserting which flows the rendered policies allow.
 */
import { KObj } from "./harness";

export interface Endpoint {
    readonly id: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    /** Set for traffic from outside the cluster (matched by ipBlock). */
    readonly ip?: string;
}

export interface Port {
    readonly port: number;
    readonly protocol: "TCP" | "UDP";
}

function matchLabels(selector: KObj | undefined, labels: Record<string, string>): boolean {
    if (selector?.matchExpressions?.length) {
        throw new Error("matchExpressions are not supported by this evaluator");
    }
    return Object.entries((selector?.matchLabels ?? {}) as Record<string, string>).every(([k, v]) => labels[k] === v);
}

function ipInCidr(ip: string, cidr: string): boolean {
    const [base, bitsText] = cidr.split("/");
    const bits = Number(bitsText);
    const toInt = (a: string) => a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0) >>> 0;
    return bits === 0 || toInt(ip) >>> (32 - bits) === toInt(base) >>> (32 - bits);
}

function peerMatches(peer: KObj, policyNamespace: string, other: Endpoint): boolean {
    if (peer.ipBlock) {
        return other.ip !== undefined && ipInCidr(other.ip, peer.ipBlock.cidr);
    }
    if (other.ip !== undefined) {
        return false;
    }
    const nsOk = peer.namespaceSelector
        ? matchLabels(peer.namespaceSelector, { "kubernetes.io/metadata.name": other.namespace })
        : other.namespace === policyNamespace;
    const podOk = peer.podSelector ? matchLabels(peer.podSelector, other.labels) : true;
    return nsOk && podOk;
}

function portMatches(ports: KObj[] | undefined, p: Port): boolean {
    return !ports || ports.length === 0 || ports.some(x => (x.protocol ?? "TCP") === p.protocol && (x.port === undefined || x.port === p.port));
}

function direction(policies: KObj[], self: Endpoint, other: Endpoint, p: Port, type: "Ingress" | "Egress"): boolean {
    const selecting = policies.filter(np =>
        np.metadata.namespace === self.namespace
        && matchLabels(np.spec.podSelector, self.labels)
        && (np.spec.policyTypes as string[]).includes(type));
    if (selecting.length === 0) {
        return true; // not isolated in this direction
    }
    const key = type === "Ingress" ? "from" : "to";
    return selecting.some(np => ((np.spec[type.toLowerCase()] ?? []) as KObj[]).some(rule =>
        (!rule[key] || (rule[key] as KObj[]).some(peer => peerMatches(peer, np.metadata.namespace, other)))
        && portMatches(rule.ports, p)));
}

/** Whether `policies` let `src` open a connection to `dst` on `p` (both ends' policies apply). */
export function allowed(policies: KObj[], src: Endpoint, dst: Endpoint, p: Port): boolean {
    const egress = src.ip !== undefined || direction(policies, src, dst, p, "Egress");
    const ingress = dst.ip !== undefined || direction(policies, dst, src, p, "Ingress");
    return egress && ingress;
}

/** Every allowed flow among `endpoints` on `ports` touching `namespace`, as `src -> dst:port/proto`. */
export function allowedFlows(policies: KObj[], endpoints: Endpoint[], ports: Port[], namespace: string): string[] {
    const flows: string[] = [];
    for (const src of endpoints) {
        for (const dst of endpoints) {
            if (src === dst || (src.namespace !== namespace && dst.namespace !== namespace)) {
                continue;
            }
            for (const p of ports) {
                if (allowed(policies, src, dst, p)) {
                    flows.push(`${src.id} -> ${dst.id}:${p.port}/${p.protocol}`);
                }
            }
        }
    }
    return flows.sort();
}
