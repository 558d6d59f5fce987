/**
 * Where the local cluster keeps things, as lib.sh and versions.sh say: one source of truth for
 * the shell scripts and the TypeScript ones (deploy.ts, test.ts).
 */
import { execFileSync, ExecFileSyncOptions, spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const CLUSTER_DIR = __dirname;
export const REPO_ROOT = path.join(__dirname, "..", "..");

/** The `NAME=value` lines of versions.sh. */
export function versions(file = path.join(CLUSTER_DIR, "versions.sh")): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = /^([A-Z0-9_]+)=([^\s#]+)/.exec(line);
        if (m) {
            out[m[1]] = m[2];
        }
    }
    return out;
}

const V = versions();
export const K8S_VERSION = V.K8S_VERSION;
export const CACHE = process.env.SAMPLE_APP_CLUSTER_CACHE ?? path.join(os.homedir(), ".cache", "sample-app-cluster");
export const STATE = process.env.SAMPLE_APP_CLUSTER_STATE ?? "/var/lib/sample-app-cluster";
export const HTTP_PORT = Number(process.env.SAMPLE_APP_CLUSTER_HTTP_PORT ?? "18080");
export const KUBECTL = path.join(CACHE, "bin", `kubectl-${K8S_VERSION}`);
export const ADMIN_KUBECONFIG = path.join(STATE, "pki", "admin.kubeconfig");
export const RUN_DIR = process.env.SAMPLE_APP_CLUSTER_RUN ?? "/run/sample-app-cluster";
/** The kubeconfig deploy.ts hands the engine: contexts sample-app-local, minikube and ack-prod, all to this cluster (kubeconfig.sh). */
export const STACKS_KUBECONFIG = path.join(STATE, "stacks.kubeconfig");
/** The cluster CA, which signs the registry's certificate and the rehearsal's TLS certificate. */
export const CLUSTER_CA = path.join(STATE, "pki", "ca.crt");
/** The ALB stand-in's address (`up --like ack`), and the nodes' range it is on (lib.sh). */
export const ALB_IP = "10.77.0.100";
export const NODE_SUBNET = "10.77.0.0/24";
/** The public host prod (and gray, its canary) serves on the rehearsal cluster: what a user sets as `host`. */
export const ACK_HOST = "sample-app.ack.test";

/** The cluster's shape, as `up` recorded it in cluster.env (lib.sh). */
export interface ClusterShape { readonly nodes: number; readonly like: "local" | "ack"; readonly nodeSubnet: string }

export function clusterShape(file = path.join(STATE, "cluster.env")): ClusterShape {
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const nodes = Number(/^NODES=(\d+)$/m.exec(text)?.[1] ?? "1");
    const like = /^LIKE=ack$/m.test(text) ? "ack" : "local";
    return { nodes, like, nodeSubnet: NODE_SUBNET };
}

/** The name of node I (1-based) of a cluster of `nodes` nodes (lib.sh's node_name). */
export function nodeName(i: number, nodes = clusterShape().nodes): string {
    return nodes === 1 ? "sample-app-local" : `sample-app-local-${i}`;
}

/** The network namespace of the node with this name (lib.sh's node_netns), for `nsenter --net`. */
export function nodeNetns(name: string, nodes = clusterShape().nodes): string {
    for (let i = 1; i <= nodes; i++) {
        if (nodeName(i, nodes) === name) return `/run/netns/sa-node-${i}`;
    }
    throw new Error(`no node ${name} in a cluster of ${nodes}`);
}

/** kubectl as the cluster admin; returns stdout. */
export function kubectl(args: readonly string[], input?: string, options: ExecFileSyncOptions = {}): string {
    return execFileSync(KUBECTL, ["--kubeconfig", ADMIN_KUBECONFIG, ...args], {
        input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 << 20, ...options,
    }) as string;
}

/** kubectl as the cluster admin, for commands that are expected to fail: the exit status and both outputs. */
export function kubectlResult(args: readonly string[], input?: string): SpawnSyncReturns<string> {
    return spawnSync(KUBECTL, ["--kubeconfig", ADMIN_KUBECONFIG, ...args], { input, encoding: "utf8", maxBuffer: 64 << 20 });
}

/** `kind.group/name` (`kind/name` for the core group): how kubectl names one object of any API group. */
export function resourceRef(o: Readonly<Record<string, unknown>>): string {
    const apiVersion = String(o.apiVersion);
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    return `${String(o.kind)}${group ? `.${group}` : ""}/${String((o.metadata as { name?: unknown } | undefined)?.name)}`;
}

/** Where a stack's UI is served on this cluster, and how to reach it with its own host name. */
export interface Endpoint {
    /** The public host the stack serves (its `host`, or prod's for gray). */
    readonly host: string;
    /** `http(s)://host[:port]` (no trailing slash). */
    readonly url: string;
    /** The address and port a client connects to for that host on this machine. */
    readonly connect: { readonly address: string; readonly port: number; readonly tls: boolean };
    /** A curl command line that reaches it, for the user. */
    readonly howToReach: string;
}

/** The host a stack file sets (`sample-app:host`), if any. */
export function stackFileHost(stack: string): string | undefined {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) return undefined;
    return /^\s*sample-app:host:\s*(\S+)\s*$/m.exec(fs.readFileSync(file, "utf8"))?.[1];
}

/**
 * Where a stack is served: dev and test (and any stack with a host of its own) through the in-cluster
 * Traefik on 127.0.0.1:HTTP_PORT; gray and prod through the ALB stand-in, over HTTPS, on ACK_HOST.
 */
export function stackEndpoint(stack: string, host?: string): Endpoint {
    if (stack === "prod" || stack === "gray") {
        const h = host ?? ACK_HOST;
        return {
            host: h, url: `https://${h}`, connect: { address: ALB_IP, port: 443, tls: true },
            howToReach: `curl --resolve ${h}:443:${ALB_IP} --cacert ${CLUSTER_CA} https://${h}/healthz`,
        };
    }
    const h = host ?? stackFileHost(stack) ?? `sample-app.${stack}.local`;
    return {
        host: h, url: `http://${h}:${HTTP_PORT}`, connect: { address: "127.0.0.1", port: HTTP_PORT, tls: false },
        howToReach: `curl --resolve ${h}:${HTTP_PORT}:127.0.0.1 http://${h}:${HTTP_PORT}/healthz`,
    };
}
