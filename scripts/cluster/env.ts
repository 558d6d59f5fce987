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
export const CONTAINERD_SOCK = path.join(process.env.SAMPLE_APP_CLUSTER_RUN ?? "/run/sample-app-cluster", "containerd", "containerd.sock");

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

/** The URL a stack's UI is served on by the cluster's ingress controller. */
export function stackUrl(stack: string): string {
    return `http://${stackHost(stack)}:${HTTP_PORT}`;
}

/** The host a stack gets on the local cluster: a *.localhost name, which resolves to loopback. */
export function stackHost(stack: string): string {
    return `sample-app.${stack}.localhost`;
}
