/**
 * The images the stack runs: the app's own (`api`, `web`) built from app/ and
 * named from `imageRegistry` and `imageTag`, optionally pinned by digest, and
 * the third-party ones (Redis, kubectl), pinned by tag or digest and pulled
 * from the registry's mirror when there is one.
 */
import { PROJECT } from "./keys";
import type { ClusterProfile } from "./profiles";
import { Reader } from "./reader";
import { DIGEST, IMAGE_REF, IMAGE_TAG, REGISTRY } from "./validate";

/** Full image references, ready for a container spec. */
export interface ImageSettings { readonly api: string; readonly web: string; readonly redis: string; readonly kubectl: string }

/** Which third-party images the stack runs: Redis (its own Redis), kubectl (its backup Job). */
export interface ThirdPartyUse { readonly redis: boolean; readonly kubectl: boolean }

/** The images from the `image*`, `*ImageDigest`, `redisImage` and `kubectlImage` keys (the last two read only where used). */
export function imageSettings(r: Reader, profile: ClusterProfile, uses: ThirdPartyUse): ImageSettings {
    const registry = r.string("imageRegistry").replace(/\/+$/, "");
    if (registry === "" && profile.registryRequired) {
        r.problem("imageRegistry", "", `is required for cluster profile ${profile.name}: the registry prefix the images are pushed to, e.g. registry.cn-hangzhou.aliyuncs.com/my-team`);
    } else if (registry !== "") {
        r.matching("imageRegistry", registry, REGISTRY, "must be a registry prefix such as registry.cn-hangzhou.aliyuncs.com/my-team");
    }
    const tag = r.matching("imageTag", r.string("imageTag"), IMAGE_TAG, "must be an image tag ([A-Za-z0-9_.-], at most 128)");
    if (tag === "latest") {
        r.problem("imageTag", tag, "must pin a version: `latest` is not allowed");
    }
    const digest = (key: "apiImageDigest" | "webImageDigest"): string => {
        const d = r.string(key);
        return d === "" ? "" : `@${r.matching(key, d, DIGEST, "must be an image digest sha256:<64 lowercase hex digits>, as `docker buildx build --push` prints it")}`;
    };
    // Third-party images: pinned by tag, or by digest too; with imageRegistry, pulled from its mirror under the same name.
    const thirdParty = (key: "redisImage" | "kubectlImage", example: string, used: boolean): string => {
        const image = r.string(key);
        if (!used) {
            return image;
        }
        const ref = /^(.*?)(?::([^/:@]+))?(@.*)?$/.exec(image)!;
        if (ref[3] !== undefined && !DIGEST.test(ref[3].slice(1))) {
            r.problem(key, image, "has a malformed digest: want <name>:<tag>@sha256:<64 lowercase hex digits>");
        } else if (!IMAGE_REF.test(image) || (ref[3] === undefined && (ref[2] === undefined || ref[2] === "latest"))) {
            r.problem(key, image, `must be an image pinned by tag or digest, e.g. ${example} or ${example}@sha256:<64 hex digits>`);
        }
        return registry === "" ? image : `${registry}/${image.split("/").pop()}`;
    };
    const prefix = registry === "" ? `${PROJECT}/` : `${registry}/${PROJECT}-`;
    return {
        api: `${prefix}api:${tag}${digest("apiImageDigest")}`,
        web: `${prefix}web:${tag}${digest("webImageDigest")}`,
        redis: thirdParty("redisImage", "redis:7.4.2-alpine", uses.redis),
        kubectl: thirdParty("kubectlImage", "registry.k8s.io/kubectl:v1.33.3", uses.kubectl),
    };
}
