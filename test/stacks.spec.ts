import * as assert from "assert";
import { isSecretValue, KObj, one, reveal, ofKind, PROD_OUTPUTS, routingOverrides, runStack, STACKS, StackRun, workloads, MOCK_PASSWORD } from "./harness";
import { parseQuantity } from "../settings";
import { stackRun } from "./runs";

function hpaOf(run: StackRun, deployment: string): KObj | undefined {
    return ofKind(run, "HorizontalPodAutoscaler").find(h => h.spec.scaleTargetRef.name === deployment);
}

function envOf(container: KObj, name: string): KObj | undefined {
    return (container.env as KObj[]).find(e => e.name === name);
}

function annotationKeys(run: StackRun): string[] {
    return run.objects.flatMap(o => Object.keys(o.metadata?.annotations ?? {}));
}

describe("the environment matrix", () => {
    describe("dev", () => {
        let run: StackRun;
        before(async () => { run = await stackRun("dev"); });

        it("runs one frontend and one api replica with no HPA and no PDB", () => {
            assert.strictEqual(one(run, "Deployment", "frontend").spec.replicas, 1);
            assert.strictEqual(one(run, "Deployment", "user-api").spec.replicas, 1);
            assert.deepStrictEqual(ofKind(run, "HorizontalPodAutoscaler"), []);
            assert.deepStrictEqual(ofKind(run, "PodDisruptionBudget"), []);
        });

        it("gives Redis its own 1Gi volume on the standard class", () => {
            const vct = one(run, "StatefulSet", "redis").spec.volumeClaimTemplates[0];
            assert.strictEqual(vct.spec.storageClassName, "standard");
            assert.strictEqual(vct.spec.resources.requests.storage, "1Gi");
        });

        it("publishes sample-app.dev.local through its own Gateway of class traefik, HTTP only, and no Ingress", () => {
            const gw = one(run, "Gateway", "sample-app");
            assert.strictEqual(gw.spec.gatewayClassName, "traefik");
            assert.deepStrictEqual(gw.spec.listeners.map((l: KObj) => [l.name, l.protocol, l.port, l.hostname]), [["http", "HTTP", 8000, "sample-app.dev.local"]], "the port of Traefik's web entryPoint");
            const route = one(run, "HTTPRoute", "sample-app");
            assert.deepStrictEqual(route.spec.hostnames, ["sample-app.dev.local"]);
            assert.deepStrictEqual(route.spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "sample-app" }]);
            assert.deepStrictEqual(ofKind(run, "Ingress"), []);
            assert.strictEqual(run.outputs.publicUrl, "http://sample-app.dev.local/");
        });

        it("publishes sample-app.dev.local on the nginx ingress class without TLS with routing ingress", async () => {
            const ingressRun = await stackRun("dev", "ingress");
            assert.deepStrictEqual(ingressRun.objects.filter(o => o.apiVersion.startsWith("gateway.networking.k8s.io/")), []);
            const ing = one(ingressRun, "Ingress", "sample-app");
            assert.strictEqual(ing.spec.ingressClassName, "nginx");
            assert.strictEqual(ing.spec.rules[0].host, "sample-app.dev.local");
            assert.strictEqual(ing.spec.tls, undefined);
            assert.strictEqual(ingressRun.outputs.publicUrl, "http://sample-app.dev.local/");
        });

        it("uses local images that minikube already has", () => {
            const images = workloads(run).map(w => w.spec.template.spec.containers[0].image).sort();
            assert.deepStrictEqual(images, ["redis:7.4.2-alpine", "sample-app/api:0.1.0", "sample-app/web:0.1.0"]);
            for (const w of workloads(run)) {
                assert.strictEqual(w.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
            }
        });

        it("protects nothing, so a laptop stack can be destroyed", () => {
            assert.deepStrictEqual(run.resources.filter(r => r.protect).map(r => r.name), []);
        });

        it("pins the provider to the minikube kube context", () => {
            const provider = run.resources.find(r => r.type === "pulumi:providers:kubernetes");
            assert.strictEqual(provider?.inputs.context, "minikube");
            const k8sResources = run.resources.filter(r => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(k8sResources.length > 20);
            assert.ok(k8sResources.every(r => r.provider.includes("pulumi:providers:kubernetes::cluster")), "every object goes through the explicit provider");
        });

        it("takes back the fields it sets from another field manager (kubectl edit), so up puts drift back instead of failing on a conflict", () => {
            const objects = run.resources.filter(r => r.custom && r.type.startsWith("kubernetes:"));
            assert.ok(objects.length > 20);
            const unforced = objects.filter(r => (r.inputs.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.["pulumi.com/patchForce"] !== "true");
            assert.deepStrictEqual(unforced.map(r => `${r.type} ${r.name}`), []);
            const provider = run.resources.find(r => r.type === "pulumi:providers:kubernetes");
            assert.strictEqual(String(provider?.inputs.enableServerSideApply), "true");
        });
    });

    describe("test", () => {
        let run: StackRun;
        before(async () => { run = await stackRun("test"); });

        it("autoscales frontend and api from 2 to 4 and leaves spec.replicas to the HPA", () => {
            for (const name of ["frontend", "user-api"]) {
                const hpa = hpaOf(run, name);
                assert.ok(hpa, `HPA for ${name}`);
                assert.strictEqual(hpa.spec.minReplicas, 2);
                assert.strictEqual(hpa.spec.maxReplicas, 4);
                assert.deepStrictEqual(hpa.spec.metrics.map((m: KObj) => m.resource.name), ["cpu", "memory"]);
                assert.ok(!("replicas" in one(run, "Deployment", name).spec));
            }
        });

        it("protects frontend and api with PodDisruptionBudgets", () => {
            assert.deepStrictEqual(ofKind(run, "PodDisruptionBudget").map(p => p.metadata.name).sort(), ["frontend", "user-api"]);
        });

        it("keeps its own 1Gi Redis and publishes sample-app.test.local", async () => {
            assert.strictEqual(one(run, "StatefulSet", "redis").spec.volumeClaimTemplates[0].spec.resources.requests.storage, "1Gi");
            assert.deepStrictEqual(one(run, "HTTPRoute", "sample-app").spec.hostnames, ["sample-app.test.local"]);
            assert.strictEqual(one(await stackRun("test", "ingress"), "Ingress", "sample-app").spec.rules[0].host, "sample-app.test.local");
        });
    });

    describe("gray", () => {
        let run: StackRun;
        before(async () => { run = await stackRun("gray"); });

        it("has no Redis of its own", () => {
            assert.deepStrictEqual(ofKind(run, "StatefulSet"), []);
            assert.ok(!run.resources.some(r => r.type === "sample-app:index:Redis"));
            assert.ok(!ofKind(run, "Service").some(s => s.metadata.name.startsWith("redis")));
        });

        it("reads prod's Redis address and password through a StackReference", () => {
            const ref = run.resources.find(r => r.type === "pulumi:pulumi:StackReference");
            assert.strictEqual(ref?.inputs.name, "organization/sample-app/prod");
            const api = one(run, "Deployment", "user-api").spec.template.spec.containers[0];
            // prod runs Sentinel: gray's API follows prod's primary through prod's Sentinels, and REDIS_ADDR stays empty.
            assert.strictEqual(envOf(api, "REDIS_ADDR")?.value, "");
            assert.strictEqual(envOf(api, "REDIS_SENTINEL_ADDRS")?.value, PROD_OUTPUTS.redisSentinelAddrs);
            assert.strictEqual(envOf(api, "REDIS_SENTINEL_MASTER")?.value, "mymaster");
            assert.strictEqual(envOf(api, "REDIS_WAIT_REPLICAS")?.value, "1");
            assert.strictEqual(envOf(api, "REDIS_PASSWORD_FILE")?.value, "/etc/sample-app/redis/password");
            assert.strictEqual(envOf(api, "REDIS_SENTINEL_PASSWORD_FILE")?.value, "/etc/sample-app/redis/sentinel-password");
            const auth = (one(run, "Deployment", "user-api").spec.template.spec.volumes as KObj[]).find(v => v.secret);
            assert.strictEqual(auth?.secret.secretName, "redis-auth", "the API mounts the copied passwords");
            assert.deepStrictEqual(auth?.secret.items, [{ key: "password", path: "password" }, { key: "sentinel-password", path: "sentinel-password" }]);
            const stringData = one(run, "Secret", "redis-auth").stringData;
            assert.ok(isSecretValue(stringData), "the copied passwords stay a Pulumi secret");
            assert.strictEqual(reveal(stringData).password, MOCK_PASSWORD);
            assert.strictEqual(reveal(stringData)["sentinel-password"], MOCK_PASSWORD);
            assert.ok(run.secretOutputs.has("redisPassword"));
        });

        it("autoscales frontend and api from 2 to 3 with PDBs, so a drain never takes gray's only pod", () => {
            for (const name of ["frontend", "user-api"]) {
                assert.strictEqual(hpaOf(run, name)?.spec.minReplicas, 2);
                assert.strictEqual(hpaOf(run, name)?.spec.maxReplicas, 3);
            }
            assert.strictEqual(ofKind(run, "PodDisruptionBudget").length, 2);
        });

        it("routes only header requests to itself, on prod's host and prod's Gateway, and lets prod's route reach its frontend", () => {
            const route = one(run, "HTTPRoute", "sample-app-canary");
            assert.deepStrictEqual(route.spec.hostnames, [PROD_OUTPUTS.host]);
            assert.deepStrictEqual(route.spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public-alb", namespace: "gateway-system" }]);
            for (const rule of route.spec.rules) {
                assert.deepStrictEqual(rule.matches.map((m: KObj) => m.headers), [[{ type: "Exact", name: "X-Canary", value: "always" }]]);
                assert.deepStrictEqual(rule.backendRefs, [{ name: "frontend", port: 80, weight: 1 }]);
            }
            const grant = one(run, "ReferenceGrant", "sample-app-backend");
            assert.deepStrictEqual(grant.spec, {
                from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: PROD_OUTPUTS.namespace }],
                to: [{ group: "", kind: "Service", name: "frontend" }],
            });
            assert.deepStrictEqual(ofKind(run, "Gateway"), [], "gray never owns the Gateway prod's traffic depends on");
            assert.deepStrictEqual(ofKind(run, "Ingress"), []);
        });

        it("publishes a weighted, header-forced canary Ingress on prod's host with routing ingress", async () => {
            const ingressRun = await runStack("gray", { ...routingOverrides("ingress"), canaryWeight: 10 });
            const ing = one(ingressRun, "Ingress", "sample-app-canary");
            assert.strictEqual(ing.spec.rules[0].host, PROD_OUTPUTS.host);
            assert.strictEqual(ing.metadata.namespace, "sample-app-gray");
            assert.deepStrictEqual(ing.metadata.annotations, {
                "nginx.ingress.kubernetes.io/canary": "true",
                "nginx.ingress.kubernetes.io/canary-weight": "10",
                "nginx.ingress.kubernetes.io/canary-by-header": "X-Canary",
                "nginx.ingress.kubernetes.io/canary-by-header-value": "always",
                "pulumi.com/patchForce": "true",
            });
            assert.strictEqual(ofKind(ingressRun, "Ingress").length, 1);
        });

        it("pulls images from the configured registry, pinned by the digests in its stack file", () => {
            const images = workloads(run).map(w => w.spec.template.spec.containers[0].image).sort();
            assert.deepStrictEqual(images, [
                "registry.cn-hangzhou.aliyuncs.com/sample-app/sample-app-api:0.1.0@sha256:579861d32f9c19f1faa711bcf15de2e2648ee13b9704d6caeb3e979384af6bab",
                "registry.cn-hangzhou.aliyuncs.com/sample-app/sample-app-web:0.1.0@sha256:a84fa9f6f913885ec2d2f05ca60cea5ab1e7a03faa5781fe45e7a2c085b72201",
            ]);
        });
    });

    describe("prod", () => {
        let run: StackRun;
        before(async () => { run = await stackRun("prod"); });

        it("autoscales frontend and api from 3 to 10 spread over zones", () => {
            for (const name of ["frontend", "user-api"]) {
                assert.strictEqual(hpaOf(run, name)?.spec.minReplicas, 3);
                assert.strictEqual(hpaOf(run, name)?.spec.maxReplicas, 10);
                const keys = one(run, "Deployment", name).spec.template.spec.topologySpreadConstraints.map((t: KObj) => t.topologyKey);
                assert.deepStrictEqual(keys, ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
            }
            assert.deepStrictEqual(ofKind(run, "PodDisruptionBudget").map(p => p.metadata.name).sort(), ["frontend", "redis", "user-api"]);
        });

        it("keeps Redis on 20Gi cloud disks made in the zone each pod lands in", () => {
            const vct = one(run, "StatefulSet", "redis").spec.volumeClaimTemplates[0];
            assert.strictEqual(vct.spec.storageClassName, "alicloud-disk-topology-alltype");
            assert.strictEqual(vct.spec.resources.requests.storage, "20Gi");
            assert.strictEqual(vct.spec.dataSource, undefined, "no restore unless redisRestoreFromSnapshot is set");
        });

        it("runs Redis in Sentinel mode: three pods spread over zones, a Sentinel beside each, a PDB keeping the quorum", () => {
            const sts = one(run, "StatefulSet", "redis");
            assert.strictEqual(sts.spec.replicas, 3);
            const pod = sts.spec.template.spec;
            assert.deepStrictEqual(pod.containers.map((x: KObj) => x.name), ["redis", "sentinel"]);
            assert.deepStrictEqual(pod.topologySpreadConstraints.map((t: KObj) => t.topologyKey), ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
            assert.strictEqual(one(run, "PodDisruptionBudget", "redis").spec.minAvailable, 2);
            assert.ok(!ofKind(run, "Service").some(svc => svc.metadata.name === "redis"), "no Service points at one pod");
            const api = one(run, "Deployment", "user-api").spec.template.spec.containers[0];
            assert.strictEqual(envOf(api, "REDIS_SENTINEL_ADDRS")?.value, PROD_OUTPUTS.redisSentinelAddrs);
            assert.strictEqual(envOf(api, "REDIS_WAIT_REPLICAS")?.value, "1", "every write is confirmed by a replica");
        });

        it("snapshots the Redis volumes every day at 03:00 with ACK's cloud-disk snapshot class", () => {
            const cron = one(run, "CronJob", "redis-backup");
            assert.strictEqual(cron.spec.schedule, "0 3 * * *");
            assert.strictEqual(cron.spec.suspend, false);
            const script = one(run, "ConfigMap", "redis-backup").data["prepare.sh"];
            assert.match(script, /volumeSnapshotClassName: alicloud-disk-snapshot/);
            const pod = cron.spec.jobTemplate.spec.template.spec;
            const images = [...pod.initContainers, ...pod.containers].map((x: KObj) => x.image);
            assert.deepStrictEqual(images, [
                "registry.cn-hangzhou.aliyuncs.com/sample-app/redis:7.4.2-alpine@sha256:14764ce5b9423bef076dd4dea24f33a872d4f357b7cd855afef5942c27ac9c34",
                ...Array(2).fill("registry.cn-hangzhou.aliyuncs.com/sample-app/kubectl:v1.33.3@sha256:aee0d617a26c05f79f566f710fee7afa9f72336fb4499f6f5f7b9ca00c6cde0c"),
            ], "from the stack's registry, by digest");
        });

        it("lets the backup Job reach only the API server given in kubeApiServerCidrs, on the port ACK's API server listens on (after the Service's DNAT)", async () => {
            const pinned = await runStack("prod", { kubeApiServerCidrs: ["192.168.0.10/32"] });
            const egress = one(pinned, "NetworkPolicy", "sample-app-redis-backup").spec.egress;
            assert.deepStrictEqual(egress[1], { to: [{ ipBlock: { cidr: "192.168.0.10/32" } }], ports: [{ protocol: "TCP", port: 6443 }] });
            const moved = await runStack("prod", { kubeApiServerPort: 9443 });
            assert.deepStrictEqual(one(moved, "NetworkPolicy", "sample-app-redis-backup").spec.egress[1].ports, [{ protocol: "TCP", port: 9443 }], "kubeApiServerPort overrides the profile's");
        });

        it("runs every image by digest, Redis's included, from the registry", () => {
            const images = workloads(run).map(w => w.spec.template.spec.containers[0].image).sort();
            assert.deepStrictEqual(images, [
                "registry.cn-hangzhou.aliyuncs.com/sample-app/redis:7.4.2-alpine@sha256:14764ce5b9423bef076dd4dea24f33a872d4f357b7cd855afef5942c27ac9c34",
                "registry.cn-hangzhou.aliyuncs.com/sample-app/sample-app-api:0.1.0@sha256:579861d32f9c19f1faa711bcf15de2e2648ee13b9704d6caeb3e979384af6bab",
                "registry.cn-hangzhou.aliyuncs.com/sample-app/sample-app-web:0.1.0@sha256:a84fa9f6f913885ec2d2f05ca60cea5ab1e7a03faa5781fe45e7a2c085b72201",
            ]);
        });

        it("attaches to the shared Gateway, lends it the TLS Secret, and splits plain requests with gray once grayWeight is set", async () => {
            assert.ok(!JSON.stringify(one(run, "HTTPRoute", "sample-app").spec).includes("sample-app-gray"), "no share for gray until prod's config says so");
            const route = one(await runStack("prod", { grayWeight: 10 }), "HTTPRoute", "sample-app");
            assert.deepStrictEqual(route.spec.parentRefs, [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public-alb", namespace: "gateway-system" }]);
            assert.deepStrictEqual(route.spec.rules.map((r: KObj) => r.matches[0].path.value), ["/api", "/"]);
            for (const rule of route.spec.rules) {
                assert.deepStrictEqual(rule.backendRefs, [
                    { name: "frontend", port: 80, weight: 90 },
                    { name: "frontend", namespace: "sample-app-gray", port: 80, weight: 10 },
                ]);
            }
            assert.deepStrictEqual(one(run, "ReferenceGrant", "sample-app-tls").spec, {
                from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "gateway-system" }],
                to: [{ group: "", kind: "Secret", name: "sample-app-tls" }],
            });
            assert.deepStrictEqual(ofKind(run, "Gateway"), []);
            assert.strictEqual(run.outputs.publicUrl, "https://sample-app.example.com/");
        });

        it("serves its host over TLS from config with routing ingress", async () => {
            const ingressRun = await stackRun("prod", "ingress");
            const ing = one(ingressRun, "Ingress", "sample-app");
            assert.deepStrictEqual(ing.spec.tls, [{ hosts: ["sample-app.example.com"], secretName: "sample-app-tls" }]);
            assert.strictEqual(ingressRun.outputs.publicUrl, "https://sample-app.example.com/");
            assert.strictEqual(ingressRun.outputs.host, "sample-app.example.com");
        });

        it("protects the namespace and Redis, and nothing else, from deletion", () => {
            const protectedObjects = run.resources.filter(r => r.custom && r.protect).map(r => r.type.split(":").pop() + " " + r.name).sort();
            assert.ok(protectedObjects.includes("Namespace sample-app"));
            assert.ok(protectedObjects.includes("StatefulSet redis"));
            assert.ok(protectedObjects.includes("RandomPassword redis-password"), "the password goes with Redis");
            assert.ok(!protectedObjects.some(o => o.startsWith("Deployment")), protectedObjects.join(", "));
            assert.ok(!protectedObjects.some(o => o.startsWith("ConfigMap")), `Redis's ConfigMap is replaced on every change of its config or scripts: ${protectedObjects.join(", ")}`);
        });

        it("exports what gray's StackReference reads", () => {
            for (const key of Object.keys(PROD_OUTPUTS)) {
                assert.ok(key in run.outputs, `output ${key}`);
            }
            for (const [key, value] of Object.entries(PROD_OUTPUTS).filter(([k]) => k.startsWith("redis"))) {
                assert.strictEqual(run.outputs[key], value, key);
            }
            assert.deepStrictEqual([...run.secretOutputs].sort(), ["redisPassword", "redisSentinelPassword"]);
        });
    });

    it("puts canary annotations in gray only, and none with routing gateway", async () => {
        for (const stack of STACKS) {
            assert.deepStrictEqual(annotationKeys(await stackRun(stack, "gateway")).filter(k => k.includes("canary")), [], stack);
            const keys = annotationKeys(await stackRun(stack, "ingress")).filter(k => k.includes("canary"));
            assert.strictEqual(keys.length > 0, stack === "gray", `${stack}: ${keys.join(", ")}`);
        }
    });

    it("exports namespace, public URL, api URL and Redis host, port and password from every stack", async () => {
        for (const stack of STACKS) {
            const run = await stackRun(stack);
            assert.deepStrictEqual(Object.keys(run.outputs).sort(), [
                "apiUrl", "host", "namespace", "publicUrl", "redisCidrs", "redisHost", "redisMode", "redisPassword", "redisPasswordSecret", "redisPort",
                "redisSentinelAddrs", "redisSentinelMaster", "redisSentinelPassword", "redisTls", "redisTlsCa", "redisWaitReplicas",
            ]);
            assert.strictEqual(run.outputs.namespace, `sample-app-${stack}`);
            assert.strictEqual(run.outputs.apiUrl, `http://user-api.sample-app-${stack}.svc.cluster.local:8080`);
        }
    });
});

describe("namespace quotas", () => {
    /** Most pods a workload can have: its HPA maximum or fixed replicas, plus one surge pod during a rollout. */
    function maxPods(run: StackRun, w: KObj): number {
        const top = w.kind === "StatefulSet" ? w.spec.replicas : hpaOf(run, w.metadata.name)?.spec.maxReplicas ?? w.spec.replicas;
        return top + (w.kind === "Deployment" ? w.spec.strategy.rollingUpdate.maxSurge : 0);
    }

    for (const stack of STACKS) {
        it(`let every ${stack} workload reach its maximum scale during a rolling update`, async () => {
            const run = await stackRun(stack);
            const hard = one(run, "ResourceQuota", "sample-app-quota").spec.hard;
            const total: Record<string, number> = {
                pods: 0, "requests.cpu": 0, "requests.memory": 0, "limits.cpu": 0, "limits.memory": 0, "requests.storage": 0, persistentvolumeclaims: 0,
                "requests.ephemeral-storage": 0, "limits.ephemeral-storage": 0,
            };
            for (const w of workloads(run)) {
                const n = maxPods(run, w);
                total.pods += n;
                for (const c of w.spec.template.spec.containers as KObj[]) {
                    for (const kind of ["requests", "limits"]) {
                        total[`${kind}.cpu`] += n * parseQuantity(c.resources[kind].cpu)!;
                        total[`${kind}.memory`] += n * parseQuantity(c.resources[kind].memory)!;
                        total[`${kind}.ephemeral-storage`] += n * parseQuantity(c.resources[kind]["ephemeral-storage"])!;
                    }
                }
                for (const vct of w.spec.volumeClaimTemplates ?? []) {
                    total.persistentvolumeclaims += n;
                    total["requests.storage"] += n * parseQuantity(vct.spec.resources.requests.storage)!;
                }
            }
            for (const [key, used] of Object.entries(total)) {
                assert.ok(used <= parseQuantity(String(hard[key]))!, `${stack}: ${key} needs ${used}, quota allows ${hard[key]}`);
            }
        });
    }
});
