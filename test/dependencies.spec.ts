/**
 * A `pulumi up` that waits only for what each object needs: the engine
 * creates an object once every resource its inputs come from is done, and
 * the kubernetes provider is done with a Deployment or StatefulSet when its
 * pods are ready, and with a Service when it has ready endpoints (unless
 * `pulumi.com/skipAwait`). So the dependencies the program declares decide
 * what waits for what. Read here from the RegisterResource requests the mock
 * monitor receives (test/urns.ts), for every stack and Redis mode.
 *
 * What each workload must have before it starts, and nothing more:
 *  - the API: its namespace, ServiceAccount and the Redis password's Secret;
 *    Redis's address and port are names, known before anything exists;
 *  - the frontend: also the API's Service to exist (nginx resolves its
 *    upstream when it starts), but not the API to be ready;
 *  - Redis: its ConfigMap, Secret and headless Service.
 */
import * as assert from "assert";
import { EngineResource } from "./urns";
import { KObj, redisModeOverrides, runStack, StackRun } from "./harness";

/** The engine resource of the object of this kind and name. */
function find(run: StackRun, kind: string, name: string): EngineResource {
    const r = run.engine.find(e => e.type.endsWith(`:${kind}`) && (e.name === name || e.name.endsWith(`-${name}`)));
    assert.ok(r, `${run.stack}: no ${kind} ${name}`);
    return r;
}

/** `kind name` of each resource a resource depends on. */
function dependenciesOf(run: StackRun, r: EngineResource): string[] {
    return r.dependencies.map(urn => {
        const dep = run.engine.find(e => e.urn === urn);
        return dep ? `${dep.type.split(":").pop()} ${dep.name}` : urn;
    }).sort();
}

const CASES: [string, string, Record<string, unknown>][] = [
    ["dev", "statefulset", {}],
    ["test", "statefulset", {}],
    ["prod", "sentinel", {}],
    ["gray", "prod's", {}],
    ["dev", "sentinel", redisModeOverrides("dev", "sentinel")],
    ["prod", "managed", { ...redisModeOverrides("prod", "managed"), redisHost: "r-bp1.redis.rds.aliyuncs.com", redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"] }],
];

describe("what each object waits for in a pulumi up", () => {
    for (const [stack, mode, overrides] of CASES) {
        describe(`${stack} with ${mode} Redis`, () => {
            let run: StackRun;
            before(async () => { run = await runStack(stack, overrides); });

            it("starts the API as soon as its namespace, ServiceAccount and password Secret exist: nothing of Redis, whose address is a name", () => {
                const deps = dependenciesOf(run, find(run, "Deployment", "user-api"));
                assert.deepStrictEqual(deps.filter(d => !/^(Namespace|ServiceAccount) /.test(d)), mode === "managed" ? [] : ["Secret redis-auth"], deps.join(", "));
            });

            it("starts the frontend once the API's Service exists, which it does at once (skipAwait), not once the API is ready", () => {
                const deps = dependenciesOf(run, find(run, "Deployment", "frontend"));
                assert.ok(deps.includes("Service user-api"), deps.join(", "));
                assert.ok(!deps.some(d => d.startsWith("Deployment ") || d.startsWith("StatefulSet ")), deps.join(", "));
            });

            it("lets no object wait for a Service's endpoints: every Service is done once it exists", () => {
                for (const service of run.objects.filter((o: KObj) => o.kind === "Service")) {
                    assert.strictEqual(service.metadata.annotations?.["pulumi.com/skipAwait"], "true", `Service ${service.metadata.name}`);
                }
            });

            it("never makes one workload wait for another's pods", () => {
                for (const w of run.engine.filter(e => /:(Deployment|StatefulSet)$/.test(e.type))) {
                    const deps = dependenciesOf(run, w);
                    assert.ok(!deps.some(d => /^(Deployment|StatefulSet|HorizontalPodAutoscaler|PodDisruptionBudget) /.test(d)), `${w.name}: ${deps.join(", ")}`);
                }
            });
        });
    }
});
