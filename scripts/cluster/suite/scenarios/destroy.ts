/**
 * `protect` and `pulumi destroy`: a destroy of a protected stack stops at the protected objects and
 * loses no data; a destroy of an unprotected stack leaves no object with its labels and no volume.
 */
import { deploy, destroy } from "../../deploy";
import { kubectlResult } from "../../env";
import { allReady, labelledObjects, podExec, pods, isReady } from "../kube";
import { assert, check, line, phase, waitUntil } from "../runner";
import { quiet, World } from "../world";
import { removeStack } from "./canary";

/** Keys in the stack's Redis (its primary's DBSIZE), read in the Redis pod with the password from its Secret file. */
export function redisKeys(ns: string, pod = "redis-0"): number {
    return Number(podExec(ns, pod, "redis", "redis-cli --no-auth-warning -a \"$(cat /etc/redis/auth/password)\" DBSIZE").trim());
}

/**
 * With protect set, `pulumi destroy` deletes what is not protected and fails at the protected
 * namespace and Redis; they, the Secret, the volumes and the data stay. `extra` is the stack's config
 * (protect comes from it or from the stack file).
 */
export async function protectHolds(stack: string, ns: string, extra: Record<string, string | undefined>, keysOf: () => number): Promise<void> {
    const keys = keysOf();
    assert(keys > 0, `Redis holds no keys before the destroy (${keys})`);
    const refused = await destroy(stack, extra, quiet).then(() => undefined, (e: unknown) => String(e instanceof Error ? e.message : e));
    assert(refused !== undefined, "destroy of a protected stack succeeded");
    assert(/cannot be deleted/.test(refused) && /protect/.test(refused), `destroy failed for another reason:\n${refused.slice(-1500)}`);
    for (const [kind, name] of [["namespace", ns], ["statefulset", "redis"], ["secret", "redis-auth"], ["pvc", "data-redis-0"]]) {
        assert(kubectlResult([...(kind === "namespace" ? [] : ["-n", ns]), "get", kind, name]).status === 0, `${kind} ${name} was deleted`);
    }
    await waitUntil("Redis Ready", 120, () => pods(ns, "redis").every(isReady), 2000);
    assert(keysOf() === keys, `Redis held ${keys} keys before the refused destroy, ${keysOf()} after`);
    line(`       refused at the protected objects; namespace, Redis, its Secret and volume stay with ${keys} keys`);
}

export async function destroyDevAndTest(w: World): Promise<void> {
    const devNs = "sample-app-dev";
    await phase("destroy", async () => {
        if (w.dev !== undefined) {
            await check("with protect set, pulumi destroy of dev stops at the protected namespace and Redis: they, the volume and the data stay; an up that lifts protect brings the rest back", async () => {
                await deploy("dev", { imageTag: "0.1.0-rollout", protect: "true" }, quiet);
                try {
                    await protectHolds("dev", devNs, { imageTag: "0.1.0-rollout", protect: "true" }, () => redisKeys(devNs));
                } finally {
                    await deploy("dev", { imageTag: "0.1.0-rollout", protect: "false" }, quiet);
                }
                assert(allReady(devNs), "dev is not whole again after the up without protect");
            });
        }
        for (const stack of ["test", "dev"] as const) {
            if (w[stack] === undefined) continue;
            await check(`pulumi destroy of ${stack} leaves no object with its labels, namespaced or cluster-scoped, and no volume`, async () => {
                line(`       ${await removeStack(stack)} volume(s) reclaimed`);
                w[stack] = undefined;
                const left = labelledObjects(stack);
                assert(left.length === 0, `left behind: ${left.join(", ")}`);
            });
        }
    });
}
