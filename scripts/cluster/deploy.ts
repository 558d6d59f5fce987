/**
 * Deploys a stack to the local cluster the way `pulumi up` would: the objects the real program
 * (index.ts) registers for the stack, in registration order, applied with server-side apply and
 * field manager `pulumi-kubernetes`, with real generated secrets. Run by `cluster.sh deploy|destroy`.
 *
 * The stack's own Pulumi.<stack>.yaml is used, with the settings a user would `pulumi config set`
 * for this cluster: clusterProfile local, its kube context, and the host <name>.<stack>.localhost,
 * which curl and Chromium resolve to loopback, where Traefik serves it.
 *
 *   ts-node scripts/cluster/deploy.ts deploy|destroy STACK [key=value ...]
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { KObj, MockOptions, plain, runStack } from "../../test/harness";
import { HTTP_PORT, kubectl, resourceRef, STATE, stackHost } from "./env";

/** Stacks that run on the local cluster: gray and prod target ACK (gray reads prod's outputs). */
export const LOCAL_STACKS = ["dev", "test"] as const;

/** The config a user sets to point a stack at the local cluster. */
export function localOverrides(stack: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return { clusterProfile: "local", kubeContext: "sample-app-local", host: stackHost(stack), ...extra };
}

/** Generated secrets survive re-deploys, as they do in a Pulumi state file. */
function passwords(stack: string): (name: string) => string {
    const file = path.join(STATE, "stacks", stack, "secrets.json");
    const saved: Record<string, string> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    return name => {
        if (saved[name] === undefined) {
            saved[name] = crypto.randomBytes(24).toString("base64url");
            fs.mkdirSync(path.dirname(file), { recursive: true });
            fs.writeFileSync(file, JSON.stringify(saved), { mode: 0o600 });
        }
        return saved[name];
    };
}

const ref = (o: KObj) => `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

/** What a deploy did. */
export interface Deployed {
    readonly objects: KObj[];
    /** Seconds from the apply to every Deployment and StatefulSet rolled out and Ready. */
    readonly readySeconds: number;
    readonly url: string;
    /** The stack's outputs, as `pulumi stack output` shows them (what a StackReference to it reads). */
    readonly outputs: Record<string, unknown>;
}

/** Applies the objects the program registers, in order, and waits until every pod is Ready. */
export async function deploy(
    stack: string,
    extra: Record<string, string | undefined> = {},
    log: (m: string) => void = console.log,
    options: Omit<MockOptions, "randomPassword"> = {},
): Promise<Deployed> {
    const run = await runStack(stack, localOverrides(stack, extra), { ...options, randomPassword: passwords(stack) });
    const objects = run.objects.map(o => plain(o) as KObj);
    const dir = path.join(STATE, "stacks", stack);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "objects.json"), JSON.stringify(objects.map(o => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }))));
    const t0 = Date.now();
    const docs = objects.map(o => yaml.dump(o, { noRefs: true, lineWidth: -1 })).join("---\n");
    kubectl(["apply", "--server-side", "--field-manager=pulumi-kubernetes", "--force-conflicts", "-f", "-"], docs);
    log(`${stack}: applied ${objects.length} objects (server-side, field manager pulumi-kubernetes)`);
    for (const o of objects.filter(x => x.kind === "Deployment" || x.kind === "StatefulSet")) {
        kubectl(["-n", o.metadata.namespace, "rollout", "status", `${o.kind.toLowerCase()}/${o.metadata.name}`, "--timeout=180s"]);
    }
    const readySeconds = (Date.now() - t0) / 1000;
    log(`${stack}: every pod Ready ${readySeconds.toFixed(1)}s after apply`);
    const url = `http://${String(run.outputs.host ?? stackHost(stack))}:${HTTP_PORT}/`;
    log(`${stack}: UI at ${url}`);
    return { objects, readySeconds, url, outputs: run.outputs };
}

/** Deletes what deploy applied, dependents first; returns how many objects. */
export function destroy(stack: string, log: (m: string) => void = console.log): number {
    const file = path.join(STATE, "stacks", stack, "objects.json");
    if (!fs.existsSync(file)) {
        throw new Error(`stack ${stack} is not deployed on the local cluster (no ${file})`);
    }
    const objects = JSON.parse(fs.readFileSync(file, "utf8")) as KObj[];
    // Reverse registration order, as Pulumi deletes dependents before what they depend on.
    for (const o of [...objects].reverse()) {
        const args = ["delete", "--ignore-not-found", "--wait=true", "--timeout=120s", resourceRef(o)];
        kubectl(o.metadata.namespace ? ["-n", o.metadata.namespace, ...args] : args);
    }
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    log(`${stack}: deleted ${objects.length} objects: ${objects.map(ref).slice(0, 3).join(", ")}, ...`);
    return objects.length;
}

async function main(argv: string[]): Promise<void> {
    const [command, stack, ...rest] = argv;
    if ((command !== "deploy" && command !== "destroy") || stack === undefined) {
        throw new Error("usage: deploy.ts deploy|destroy STACK [key=value ...]");
    }
    if (!(LOCAL_STACKS as readonly string[]).includes(stack)) {
        throw new Error(`stack ${JSON.stringify(stack)} does not run on the local cluster; local stacks: ${LOCAL_STACKS.join(", ")} (gray and prod target ACK)`);
    }
    const extra: Record<string, string> = {};
    for (const kv of rest) {
        const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(kv);
        if (!m) {
            throw new Error(`config override ${JSON.stringify(kv)} must look like key=value`);
        }
        extra[m[1]] = m[2];
    }
    if (command === "deploy") {
        await deploy(stack, extra);
    } else {
        destroy(stack);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch(e => {
        console.error(`deploy: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
    });
}
