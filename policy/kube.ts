/**
 * Pure helpers the policies share: what kind of Kubernetes object a Pulumi
 * resource is, where its pod spec and containers are, how an image reference
 * is pinned, and what looks like a credential. No Pulumi runtime here, so every
 * rule is unit tested with plain objects.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are checked structurally. */
export type Obj = Record<string, any>;

/** `kubernetes:apps/v1:Deployment` → group `apps`, version `v1`, kind `Deployment` (core group: ""). */
export interface KubeType {
    readonly group: string;
    readonly version: string;
    readonly kind: string;
}

const KUBE_TYPE = /^kubernetes:([a-z0-9.]*)\/(v[0-9a-z]+):([A-Za-z]+)$/;

/** The Kubernetes group/version/kind of a Pulumi type token, or undefined for anything else. */
export function kubeType(pulumiType: string): KubeType | undefined {
    const m = KUBE_TYPE.exec(pulumiType);
    return m ? { group: m[1] === "core" ? "" : m[1], version: m[2], kind: m[3] } : undefined;
}

/** Reads a path, returning undefined when any step is missing. */
export function at(obj: unknown, ...path: (string | number)[]): any {
    let cur: any = obj;
    for (const key of path) {
        if (cur === undefined || cur === null || typeof cur !== "object") {
            return undefined;
        }
        cur = cur[key];
    }
    return cur;
}

/**
 * How to name an object in a message: `Deployment "user-api"`. Uses
 * metadata.name, falling back to the Pulumi resource name; never throws, even
 * when the name is unknown during a preview.
 */
export function describe(kind: string, props: Obj, resourceName: string): string {
    let name: unknown;
    try {
        name = at(props, "metadata", "name");
    } catch {
        name = undefined;
    }
    return `${kind} "${typeof name === "string" && name !== "" ? name : resourceName}"`;
}

/** Where the pod spec is, by `group/kind`. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
    "/Pod": ["spec"],
    "/PodTemplate": ["template", "spec"],
    "/ReplicationController": ["spec", "template", "spec"],
    "apps/Deployment": ["spec", "template", "spec"],
    "apps/StatefulSet": ["spec", "template", "spec"],
    "apps/DaemonSet": ["spec", "template", "spec"],
    "apps/ReplicaSet": ["spec", "template", "spec"],
    "batch/Job": ["spec", "template", "spec"],
    "batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** The pod spec of a workload, or undefined when the object has none (or is not a workload). */
export function podSpec(t: KubeType, props: Obj): Obj | undefined {
    const path = POD_SPEC_PATHS[`${t.group}/${t.kind}`];
    return path ? at(props, ...path) : undefined;
}

export interface ContainerRef {
    /** `container "api"` or `init container "migrate"`. */
    readonly label: string;
    readonly container: Obj;
    readonly init: boolean;
}

/** Containers and init containers of a pod spec. */
export function containersOf(spec: Obj): ContainerRef[] {
    const list = (key: string, init: boolean) =>
        ((spec[key] ?? []) as Obj[]).map(container => ({
            label: `${init ? "init container" : "container"} "${container.name}"`,
            container,
            init,
        }));
    return [...list("initContainers", true), ...list("containers", false)];
}

/** How an image reference is pinned. */
export type ImagePin = { pinned: true; by: "digest" | "tag"; tag?: string } | { pinned: false; reason: string };

/**
 * Whether an image reference is pinned: by digest (`name@sha256:…`) or by a tag
 * other than `latest`. A registry port (`registry:5000/app`) is not a tag.
 */
export function imagePin(image: unknown): ImagePin {
    if (typeof image !== "string" || image.trim() === "") {
        return { pinned: false, reason: "has no image" };
    }
    const atSign = image.indexOf("@");
    if (atSign >= 0) {
        const digest = image.slice(atSign + 1);
        return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(digest)
            ? { pinned: true, by: "digest" }
            : { pinned: false, reason: `has a malformed digest "${digest}"` };
    }
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.lastIndexOf(":");
    if (colon < 0) {
        return { pinned: false, reason: "has no tag (it means :latest)" };
    }
    const tag = lastSegment.slice(colon + 1);
    if (tag === "") {
        return { pinned: false, reason: "has an empty tag" };
    }
    if (tag.toLowerCase() === "latest") {
        return { pinned: false, reason: "uses the tag latest" };
    }
    return { pinned: true, by: "tag", tag };
}

/** Words that make a ConfigMap key look like it holds a credential. */
const CREDENTIAL_WORDS = new Set([
    "password", "passwd", "pwd", "passphrase", "secret", "token", "key", "apikey", "credential", "credentials", "privatekey",
]);

/** Lower-case words of a key: `dbPassword` → db, password; `api-key` → api, key; `tls.key` → tls, key. */
export function keyWords(key: string): string[] {
    return key
        .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
        .split(/[^A-Za-z0-9]+/)
        .filter(w => w !== "")
        .map(w => w.toLowerCase());
}

/** Whether a ConfigMap key name says its value is a credential (`password`, `api-key`, `tls.key`; not `public-key`). */
export function isCredentialKey(key: string): boolean {
    const words = keyWords(key);
    return !words.includes("public") && words.some(w => CREDENTIAL_WORDS.has(w));
}

/** A value that is only a reference to be filled elsewhere (`${VAR}`, `$VAR`, `<placeholder>`), not a credential. */
function isReference(value: string): boolean {
    return /^(\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|<[^>]*>)$/.test(value);
}

const CONTENT_RULES: readonly { readonly what: string; readonly test: (line: string) => boolean }[] = [
    {
        what: "a Redis password (requirepass/masterauth)",
        test: line => {
            const m = /^\s*(requirepass|masterauth)\s+("?)([^"\s]+)\2\s*$/i.exec(line);
            return m !== null && !isReference(m[3]);
        },
    },
    {
        what: "a credential assignment (password/secret/token/key = value)",
        test: line => {
            const re = /(?:^|[\s"'{,;])["']?([A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key))["']?\s*[:=]\s*["']?([^\s"',;#}]+)/gi;
            for (const m of line.matchAll(re)) {
                if (isCredentialKey(m[1]) && !isReference(m[2])) {
                    return true;
                }
            }
            return false;
        },
    },
    { what: "a PEM private key", test: line => /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/.test(line) },
    { what: "a URL with an inline password (scheme://user:password@host)", test: line => /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i.test(line) },
];

/**
 * Why a ConfigMap entry looks like it carries a credential, or undefined. The
 * reason names the pattern, never the value, so the message leaks nothing.
 */
export function credentialIn(key: string, value: unknown): string | undefined {
    const text = typeof value === "string" ? value : "";
    if (isCredentialKey(key) && text.trim() !== "" && !isReference(text.trim())) {
        return `its key name "${key}" says it holds a credential`;
    }
    for (const line of text.split(/\r?\n/)) {
        const rule = CONTENT_RULES.find(r => r.test(line));
        if (rule) {
            return `its value contains ${rule.what}`;
        }
    }
    return undefined;
}
