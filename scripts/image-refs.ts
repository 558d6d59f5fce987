/**
 * Prints the references the deploy workflow builds and pushes the api and web
 * images under for a stack, from its own config (Pulumi.yaml defaults, then
 * Pulumi.<stack>.yaml), without any digest, as GITHUB_OUTPUT lines:
 *
 *   registry=<registry host>
 *   api=<registry>/sample-app-api:<imageTag>
 *   web=<registry>/sample-app-web:<imageTag>
 *
 *   npx ts-node --transpile-only scripts/image-refs.ts <stack>
 */
import { parseSettings } from "../settings";
import { programConfig } from "../test/harness";

/** An image reference without its `@sha256:…` digest. */
export function withoutDigest(image: string): string {
    return image.replace(/@sha256:[a-f0-9]{64}$/, "");
}

function main(stack: string | undefined): void {
    if (!stack) {
        throw new Error("usage: image-refs.ts <stack>");
    }
    const raw = programConfig(stack);
    const s = parseSettings(raw, stack);
    if (!s.profile.registryRequired) {
        throw new Error(`stack ${stack} (profile ${s.profile.name}) runs local images; there is nothing to push`);
    }
    const api = withoutDigest(s.images.api);
    process.stdout.write(`registry=${api.split("/")[0]}\napi=${api}\nweb=${withoutDigest(s.images.web)}\n`);
}

if (require.main === module) {
    main(process.argv[2]);
}
