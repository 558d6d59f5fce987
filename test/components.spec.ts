import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { isSecretValue, KObj, MOCK_PASSWORD, one, ofKind, reveal, ROOT, runProgram, StackRun } from "./harness";

/** Runs `build` as a stand-alone program of another project's stack named `other`. */
function standalone(build: () => Record<string, unknown>): Promise<StackRun> {
    return runProgram("other", {}, build);
}

const TEMPLATE = "events {}\nhttp { upstream api { server __API_UPSTREAM__; } server { listen 8080; } }\n";

describe("each component on its own, with minimal args", () => {
    it("AppNamespace gets restricted Pod Security labels, the default quota and container defaults", async () => {
        // `namespace` (the Namespace object) is a getter: TypeScript programs have it, the component package's schema does not.
        const run = await standalone(() => {
            const created = new c.AppNamespace("team-a");
            return { name: created.name, objectName: created.namespace.metadata.name };
        });
        const ns = one(run, "Namespace", "team-a");
        assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.strictEqual(ns.metadata.labels["app.kubernetes.io/instance"], "other");
        assert.deepStrictEqual(one(run, "ResourceQuota", "sample-app-quota").spec.hard, c.quotaHard(c.DEFAULT_QUOTA));
        const limits = one(run, "LimitRange", "sample-app-limits").spec.limits[0];
        assert.deepStrictEqual(limits.default, { cpu: "500m", memory: "256Mi", "ephemeral-storage": "256Mi" });
        assert.deepStrictEqual(limits.defaultRequest, { cpu: "50m", memory: "64Mi", "ephemeral-storage": "64Mi" });
        assert.strictEqual(run.outputs.name, "team-a");
        assert.strictEqual(run.outputs.objectName, "team-a");
    });

    it("Redis gets one pod, a 1Gi standard volume, AOF on, a generated secret password and no PDB", async () => {
        const run = await standalone(() => {
            const r = new c.Redis("cache", { namespace: "team-a" });
            return { host: r.host, port: r.port, password: r.password };
        });
        const sts = one(run, "StatefulSet", "cache");
        assert.strictEqual(sts.spec.replicas, 1);
        assert.strictEqual(sts.spec.serviceName, "cache-headless");
        assert.strictEqual(one(run, "Service", "cache-headless").spec.clusterIP, "None");
        assert.strictEqual(one(run, "Service", "cache").spec.clusterIP, undefined);
        const vct = sts.spec.volumeClaimTemplates[0];
        assert.strictEqual(vct.spec.storageClassName, "standard");
        assert.strictEqual(vct.spec.resources.requests.storage, "1Gi");
        const container = sts.spec.template.spec.containers[0];
        assert.strictEqual(container.image, "redis:7.4.2-alpine");
        const pod = sts.spec.template.spec.securityContext;
        assert.deepStrictEqual([pod.runAsUser, pod.runAsGroup, pod.fsGroup], [10999, 10999, 10999], "a high UID and GID, and the volume is writable by that group");
        const conf = one(run, "ConfigMap", "cache-config").data["redis.conf"];
        assert.match(conf, /^appendonly yes$/m);
        assert.match(one(run, "ConfigMap", "cache-config").data["start-redis.sh"], /echo "dir \$DATA_DIR"/, "the data on the volume");
        assert.ok(!conf.includes(MOCK_PASSWORD));
        const secret = one(run, "Secret", "cache-auth");
        assert.ok(isSecretValue(secret.stringData));
        assert.deepStrictEqual(reveal(secret.stringData), {
            password: MOCK_PASSWORD,
            // Unused, and kept exactly as 0.5.0 wrote it: a change to the Secret's data would replace it and the API's Deployment.
            "auth.conf": `requirepass ${MOCK_PASSWORD}\nmasterauth ${MOCK_PASSWORD}\n`,
        }, "the start script writes the password into the runtime config, quoted; the Secret's data is 0.5.0's");
        assert.match(container.livenessProbe.exec.command.join(" "), /REDISCLI_AUTH="\$\(cat \/etc\/redis\/auth\/password\)" redis-cli .*ping/);
        assert.deepStrictEqual(container.readinessProbe.exec.command, ["sh", "/etc/redis/conf/ready.sh"]);
        assert.ok(!(container.env as KObj[]).some(e => e.valueFrom?.secretKeyRef), "no password in the environment: the scripts read the Secret's files");
        assert.deepStrictEqual(ofKind(run, "PodDisruptionBudget"), []);
        assert.strictEqual(one(run, "ServiceAccount", "cache").automountServiceAccountToken, false);
        assert.deepStrictEqual(run.outputs, { host: "cache.team-a.svc.cluster.local", port: 6379, password: MOCK_PASSWORD });
        assert.ok(run.secretOutputs.has("password"));
    });

    it("Redis with replicas gets a PDB and a client Service that only reaches the primary", async () => {
        const run = await standalone(() => {
            new c.Redis("cache", { namespace: "team-a", replicas: 3 });
            return {};
        });
        assert.strictEqual(one(run, "StatefulSet", "cache").spec.replicas, 3);
        assert.ok(one(run, "PodDisruptionBudget", "cache"));
        assert.strictEqual(one(run, "Service", "cache").spec.selector["statefulset.kubernetes.io/pod-name"], "cache-0");
        assert.strictEqual(one(run, "PodDisruptionBudget", "cache").spec.minAvailable, 2, "one pod at a time");
        assert.throws(() => new c.Redis("bad", { namespace: "x", replicas: 0 }), /replicas must be an integer >= 1, got 0/);
    });

    it("UserApi gets one replica on port 8080, probes on /healthz and /readyz, a zero-downtime rollout and no HPA or PDB", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "redis.shared.svc.cluster.local", password: pulumi.secret("pw") });
            const api = new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            return { url: api.url };
        });
        const d = one(run, "Deployment", "users");
        assert.strictEqual(d.spec.replicas, 1);
        assert.deepStrictEqual(d.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
        const container = d.spec.template.spec.containers[0];
        assert.strictEqual(container.readinessProbe.httpGet.path, "/readyz");
        assert.strictEqual(container.livenessProbe.httpGet.path, "/healthz");
        assert.strictEqual(container.startupProbe.httpGet.path, "/healthz");
        const env = Object.fromEntries((container.env as KObj[]).map(e => [e.name, e.value ?? e.valueFrom]));
        assert.strictEqual(env.PORT, "8080");
        assert.strictEqual(env.REDIS_ADDR, "redis.shared.svc.cluster.local:6379");
        assert.strictEqual(env.LOG_LEVEL, "info");
        assert.strictEqual(env.REDIS_PASSWORD, undefined, "the password is never an environment variable");
        assert.strictEqual(env.REDIS_PASSWORD_FILE, "/etc/sample-app/redis/password");
        const mount = (container.volumeMounts as KObj[]).find(m => m.mountPath === "/etc/sample-app/redis");
        assert.strictEqual(mount?.readOnly, true);
        const volume = (d.spec.template.spec.volumes as KObj[]).find(v => v.name === mount?.name);
        assert.deepStrictEqual(volume?.secret, { secretName: "redis-auth", items: [{ key: "password", path: "password" }], defaultMode: 0o440 });
        assert.strictEqual(d.spec.template.spec.securityContext.fsGroup, 65532, "the 0440 file is readable by the API's group");
        assert.deepStrictEqual(d.spec.template.spec.topologySpreadConstraints.map((t: KObj) => t.topologyKey), ["kubernetes.io/hostname"]);
        assert.strictEqual(one(run, "ServiceAccount", "users").automountServiceAccountToken, false);
        assert.deepStrictEqual(ofKind(run, "HorizontalPodAutoscaler"), []);
        assert.deepStrictEqual(ofKind(run, "PodDisruptionBudget"), []);
        assert.strictEqual(run.outputs.url, "http://users.team-a.svc.cluster.local:8080");
    });

    it("UserApi with autoscaling drops spec.replicas and gets an autoscaling/v2 HPA", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "r", password: "pw" });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis, autoscaling: { maxReplicas: 5 }, podDisruptionBudget: true, zoneSpread: true });
            return {};
        });
        assert.ok(!("replicas" in one(run, "Deployment", "users").spec));
        const hpa = one(run, "HorizontalPodAutoscaler", "users");
        assert.strictEqual(hpa.apiVersion, "autoscaling/v2");
        assert.strictEqual(hpa.spec.minReplicas, 1);
        assert.deepStrictEqual(hpa.spec.metrics.map((m: KObj) => m.resource.target.averageUtilization), [70, 80]);
        assert.strictEqual(one(run, "PodDisruptionBudget", "users").spec.maxUnavailable, 1);
    });

    it("UserApi with a podMonitor gets a PodMonitor that scrapes /metrics on its http port, and no scrape annotations", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "r", password: "pw" });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis, podMonitor: { labels: { release: "kube-prometheus-stack" }, interval: "15s" } });
            return {};
        });
        const d = one(run, "Deployment", "users");
        const monitor = one(run, "PodMonitor", "users");
        assert.strictEqual(monitor.apiVersion, "monitoring.coreos.com/v1");
        assert.strictEqual(monitor.metadata.namespace, "team-a");
        assert.strictEqual(monitor.metadata.labels.release, "kube-prometheus-stack");
        assert.strictEqual(monitor.metadata.labels["app.kubernetes.io/name"], "users");
        assert.deepStrictEqual(monitor.spec.selector.matchLabels, d.spec.selector.matchLabels, "it selects exactly the API's pods");
        assert.deepStrictEqual(monitor.spec.podMetricsEndpoints, [{ port: "http", path: "/metrics", scheme: "http", interval: "15s" }]);
        assert.ok((d.spec.template.spec.containers[0].ports as KObj[]).some(p => p.name === "http"), "the port it names exists");
        assert.ok(!Object.keys(d.spec.template.metadata.annotations ?? {}).some(k => k.startsWith("prometheus.io/")));
    });

    it("UserApi makes no PodMonitor unless asked (a cluster without the CRD would refuse it)", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "r", password: "pw" });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis, prometheusScrape: true });
            return {};
        });
        assert.deepStrictEqual(ofKind(run, "PodMonitor"), []);
        assert.strictEqual(one(run, "Deployment", "users").spec.template.metadata.annotations["prometheus.io/scrape"], "true");
    });

    it("names in STANDARD_LABEL_KEYS exactly the labels every object gets, which a PodMonitor's own labels may not set", () => {
        const labels = c.standardLabels({ name: "n", component: "c", instance: "i", env: "e", tier: "back" });
        assert.deepStrictEqual(Object.keys(labels).sort(), [...c.STANDARD_LABEL_KEYS].sort());
    });

    it("stops the API gracefully by itself: on SIGTERM it keeps serving 3s, closing keep-alive connections after each answer, with no preStop pause, while nginx keeps its 3s pause", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "r", password: "pw" });
            const api = new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: api.address, nginxConfTemplate: TEMPLATE });
            return {};
        });
        const api = one(run, "Deployment", "users").spec.template.spec;
        const env = Object.fromEntries((api.containers[0].env as KObj[]).map(e => [e.name, e.value]));
        assert.strictEqual(env.SHUTDOWN_DELAY, "3000ms");
        assert.strictEqual(env.SHUTDOWN_TIMEOUT, "25s", "within the 30s grace period, 5s to spare");
        assert.strictEqual(api.containers[0].lifecycle, undefined, "SIGTERM at once: the API's own delay does what the pause did");
        assert.deepStrictEqual(one(run, "Deployment", "web").spec.template.spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 3 } } });
    });

    it("keeps the API's shutdown delay shorter than its timeout for every grace period, as the API requires", () => {
        for (const grace of [1, 2, 5, 6, 7, 8, 10, 30, 120]) {
            const t = c.shutdownTiming(grace);
            const timeoutMs = Number(t.timeout.replace(/s$/, "")) * 1000;
            const delayMs = Number(t.delay.replace(/ms$/, ""));
            assert.ok(delayMs > 0 && delayMs < timeoutMs && timeoutMs <= Math.max(grace - 5, 1) * 1000, `grace ${grace}: ${JSON.stringify(t)}`);
        }
        assert.deepStrictEqual(c.shutdownTiming(1), { timeout: "1s", delay: "500ms" });
    });

    it("accepts as a PodMonitor interval exactly the Prometheus durations longer than zero", () => {
        for (const ok of ["15s", "1m", "1m30s", "500ms", "1h", "2d", "1w", "1y", "10"]) {
            assert.strictEqual(c.validScrapeInterval(ok), !/^\d+$/.test(ok), ok);
        }
        for (const bad of ["", "0", "0s", "0m0s", "15", "1.5s", "15 s", "s", "-1s", "1s1m", "1M"]) {
            assert.strictEqual(c.validScrapeInterval(bad), false, bad);
        }
    });

    it("Frontend fills the API upstream into nginx.conf and rolls its pods when the config changes", async () => {
        const hashFor = async (upstream: string) => {
            const run = await standalone(() => {
                new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: upstream, nginxConfTemplate: TEMPLATE });
                return {};
            });
            const conf = one(run, "ConfigMap", "web-nginx").data["nginx.conf"];
            assert.ok(conf.includes(`server ${upstream};`));
            assert.ok(!conf.includes(c.API_UPSTREAM_PLACEHOLDER));
            const d = one(run, "Deployment", "web");
            assert.strictEqual(one(run, "Service", "web").spec.ports[0].port, 80);
            assert.strictEqual(d.spec.template.spec.containers[0].ports[0].containerPort, 8080);
            return d.spec.template.metadata.annotations["sample-app.dev/config-hash"] as string;
        };
        const a = await hashFor("api.team-a.svc.cluster.local:8080");
        const b = await hashFor("api.team-b.svc.cluster.local:8080");
        assert.match(a, /^[0-9a-f]{16}$/);
        assert.notStrictEqual(a, b);
    });

    it("Frontend's nginx.conf lives in an immutable ConfigMap named by its content, so a change creates a new one that the rolled pods mount", async () => {
        const configMapFor = async (upstream: string) => {
            const run = await standalone(() => {
                new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: upstream, nginxConfTemplate: TEMPLATE });
                return {};
            });
            const cm = one(run, "ConfigMap", "web-nginx");
            const volume = one(run, "Deployment", "web").spec.template.spec.volumes.find((v: KObj) => v.name === "config");
            assert.strictEqual(volume.configMap.name, cm.metadata.name, "the pods mount this very ConfigMap");
            assert.strictEqual(cm.immutable, true);
            return cm.metadata.name as string;
        };
        const a = await configMapFor("api.team-a.svc.cluster.local:8080");
        assert.match(a, /^web-nginx-[0-9a-f]{10}$/);
        assert.strictEqual(await configMapFor("api.team-a.svc.cluster.local:8080"), a, "the same content keeps its name: no change, no roll");
        assert.notStrictEqual(await configMapFor("api.team-b.svc.cluster.local:8080"), a);
    });

    it("Frontend reads the repository's app/web/nginx.conf by default", async () => {
        const run = await standalone(() => {
            new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: "api.team-a.svc.cluster.local:8080" });
            return {};
        });
        const conf = one(run, "ConfigMap", "web-nginx").data["nginx.conf"];
        assert.ok(conf.includes("api.team-a.svc.cluster.local:8080"));
        assert.ok(!conf.includes(c.API_UPSTREAM_PLACEHOLDER), "every placeholder is filled in");
        assert.match(conf, /listen\s+8080/);
        assert.throws(() => c.renderNginxConf("no placeholder", "a:1"), /must contain __API_UPSTREAM__/);
        assert.throws(() => c.renderNginxConf(TEMPLATE, "not a host port"), /host:port/);
    });

    it("Frontend is ready once it serves the UI from disk and alive while a worker answers, neither through the API", async () => {
        const run = await standalone(() => {
            new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: "api.team-a.svc.cluster.local:8080" });
            return {};
        });
        const nginx = one(run, "Deployment", "web").spec.template.spec.containers[0];
        assert.deepStrictEqual([nginx.startupProbe.httpGet.path, nginx.readinessProbe.httpGet.path, nginx.livenessProbe.httpGet.path], ["/readyz", "/readyz", "/healthz"]);
        const conf = one(run, "ConfigMap", "web-nginx").data["nginx.conf"] as string;
        const location = (path: string) => new RegExp(`location = ${path} \\{([^}]*)\\}`).exec(conf)?.[1] ?? "";
        assert.match(location("/readyz"), /alias html\/index\.html;/, "readiness reads the UI's index.html");
        assert.match(location("/healthz"), /return 200/, "liveness answers from the worker itself");
        for (const path of ["/readyz", "/healthz"]) {
            assert.ok(!/proxy_pass/.test(location(path)), `${path} goes to the API`);
        }
    });

    it("Frontend runs as the UID and GID the web image's USER names, both 10000 or more", async () => {
        const run = await standalone(() => {
            new c.Frontend("web", { namespace: "team-a", image: "example/web:1.2.3", apiUpstream: "api.team-a.svc.cluster.local:8080" });
            return {};
        });
        const pod = one(run, "Deployment", "web").spec.template.spec.securityContext;
        const user = /^USER\s+(\S+)\s*$/m.exec(fs.readFileSync(path.join(ROOT, "app", "web", "Dockerfile"), "utf8"))?.[1];
        assert.strictEqual(user, `${pod.runAsUser}:${pod.runAsGroup}`, "docker run and the pods use the same IDs");
        assert.ok(pod.runAsUser >= 10000 && pod.runAsGroup >= 10000 && pod.fsGroup === pod.runAsGroup, JSON.stringify(pod));
    });

    it("PublicIngress gets the nginx class, plain HTTP and no canary annotations", async () => {
        const run = await standalone(() => ({ url: new c.PublicIngress("www", { namespace: "team-a", host: "www.example.com", serviceName: "web" }).url }));
        const ing = one(run, "Ingress", "www");
        assert.strictEqual(ing.spec.ingressClassName, "nginx");
        assert.deepStrictEqual(ing.spec.rules[0].http.paths[0].backend, { service: { name: "web", port: { number: 80 } } });
        assert.deepStrictEqual(ing.metadata.annotations, {});
        assert.strictEqual(run.outputs.url, "http://www.example.com/");
    });

    it("PublicIngress on ACK ALB splits a canary into a header Ingress and a weight Ingress", async () => {
        const run = await standalone(() => {
            new c.PublicIngress("www", { namespace: "team-a", host: "www.example.com", serviceName: "web", ingressClassName: "alb", canary: { weight: 25 } });
            return {};
        });
        assert.deepStrictEqual(one(run, "Ingress", "www-canary-header").metadata.annotations, {
            "alb.ingress.kubernetes.io/canary": "true",
            "alb.ingress.kubernetes.io/canary-by-header": "X-Canary",
            "alb.ingress.kubernetes.io/canary-by-header-value": "always",
        });
        assert.deepStrictEqual(one(run, "Ingress", "www-canary-weight").metadata.annotations, {
            "alb.ingress.kubernetes.io/canary": "true",
            "alb.ingress.kubernetes.io/canary-weight": "25",
        });
        assert.throws(() => c.ingressVariants("alb", { weight: 101 }), /from 0 to 100/);
    });

    it("GatewayRoute creates a Gateway of the class with an HTTP listener and routes /api and / of the host to the Service", async () => {
        const run = await standalone(() => ({ url: new c.GatewayRoute("www", { namespace: "team-a", host: "www.example.com", serviceName: "web", gatewayClassName: "eg" }).url }));
        const gw = one(run, "Gateway", "www");
        assert.strictEqual(gw.apiVersion, "gateway.networking.k8s.io/v1");
        assert.deepStrictEqual(gw.spec.listeners.map((l: KObj) => `${l.name} ${l.protocol}/${l.port} ${l.hostname}`), ["http HTTP/80 www.example.com"]);
        const route = one(run, "HTTPRoute", "www");
        assert.deepStrictEqual(route.spec.rules.map((r: KObj) => [r.name, r.matches, r.backendRefs]), [
            ["api", [{ path: { type: "PathPrefix", value: "/api" } }], [{ name: "web", port: 80, weight: 1 }]],
            ["ui", [{ path: { type: "PathPrefix", value: "/" } }], [{ name: "web", port: 80, weight: 1 }]],
        ]);
        assert.deepStrictEqual(ofKind(run, "ReferenceGrant"), []);
        assert.strictEqual(run.outputs.url, "http://www.example.com/");
    });

    it("GatewayRoute needs exactly one of a GatewayClass and a parent Gateway, and a weight from 0 to 100", async () => {
        const args = { namespace: "team-a", host: "www.example.com", serviceName: "web" };
        await assert.rejects(standalone(() => ({ r: new c.GatewayRoute("www", args).url })), /set exactly one of gatewayClassName .* and parentGateway/);
        await assert.rejects(standalone(() => ({ r: new c.GatewayRoute("www", { ...args, gatewayClassName: "eg", parentGateway: { name: "shared" } }).url })), /set exactly one/);
        assert.throws(() => c.routeBackends({ name: "web", port: 80, weight: 1 }, { namespace: "b", serviceName: "web", weight: 101 }), /from 0 to 100/);
        assert.throws(() => c.httpRouteSpec({ parent: { name: "gw" }, host: "h.example.com", paths: ["api"], backends: [{ name: "web", port: 80, weight: 1 }] }), /must start with "\/"/);
    });

    it("NetworkPolicies deny by default and admit the minikube ingress controller to the frontend", async () => {
        const run = await standalone(() => {
            new c.NetworkPolicies("np", {
                namespace: "team-a",
                frontend: { podSelector: { app: "web" }, port: 8080 },
                api: { podSelector: { app: "api" }, port: 8080 },
                redis: { podSelector: { app: "redis" }, port: 6379 },
            });
            return {};
        });
        const deny = one(run, "NetworkPolicy", "np-default-deny");
        assert.deepStrictEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, "canonical form: no matchLabels {}, no empty rule lists");
        const redis = one(run, "NetworkPolicy", "np-redis");
        assert.deepStrictEqual(redis.spec.policyTypes, ["Ingress", "Egress"], "a Redis without replicas still denies all egress");
        assert.ok(!("egress" in redis.spec));
        assert.deepStrictEqual(redis.spec.ingress[0].ports, [{ protocol: "TCP", port: 6379 }], "no Sentinel port without Sentinels");
        const front = one(run, "NetworkPolicy", "np-frontend");
        assert.deepStrictEqual(front.spec.ingress[0].from, [{
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } },
        }]);
        assert.strictEqual(ofKind(run, "NetworkPolicy").length, 5);
    });

    it("AccessControl gets viewer, deployer and network-admin Roles, binds no one by default, and never lets deployer edit RBAC or Secrets it does not own", async () => {
        const run = await standalone(() => {
            new c.AccessControl("rbac", { namespace: "team-a", workloads: ["web"] });
            return {};
        });
        assert.deepStrictEqual(ofKind(run, "Role").map(r => r.metadata.name).sort(), ["deployer", "network-admin", "viewer"]);
        assert.deepStrictEqual(ofKind(run, "RoleBinding"), []);
        assert.deepStrictEqual(ofKind(run, "ClusterRoleBinding"), [], "no one deploys, so no one reads the Namespace");
        assert.strictEqual(one(run, "ServiceAccount", "web").automountServiceAccountToken, false);
        const deployer = one(run, "Role", "deployer");
        const writes = (r: KObj) => r.verbs.some((v: string) => !["get", "list", "watch"].includes(v));
        assert.ok(!deployer.rules.some((r: KObj) => r.apiGroups.includes("rbac.authorization.k8s.io") && writes(r)));
        assert.ok(!deployer.rules.some((r: KObj) => r.resources.includes("secrets")), "no managed Secrets: no Secret at all");
        const viewer = one(run, "Role", "viewer");
        assert.ok(!viewer.rules.some((r: KObj) => r.resources.includes("secrets")), "viewers cannot read Secrets");

        const bound = await standalone(() => {
            new c.AccessControl("rbac", { namespace: "team-a", viewerGroups: ["devs"], deployerGroups: ["ci"], deployServiceAccount: "ship", managedSecrets: ["db-auth"] });
            return {};
        });
        assert.deepStrictEqual(one(bound, "RoleBinding", "viewer").subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "devs" }]);
        assert.deepStrictEqual(one(bound, "RoleBinding", "deployer").subjects, [
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "ci" },
            { kind: "ServiceAccount", name: "ship", namespace: "team-a" },
        ]);
        assert.strictEqual(one(bound, "ServiceAccount", "ship").automountServiceAccountToken, false);
        const secretRule = one(bound, "Role", "deployer").rules.find((r: KObj) => r.resources.includes("secrets"));
        assert.deepStrictEqual(secretRule, { apiGroups: [""], resources: ["secrets"], resourceNames: ["db-auth"], verbs: ["get", "create", "update", "patch", "delete"] });
        assert.deepStrictEqual(one(bound, "ClusterRole", "team-a-namespace-reader").rules, [
            { apiGroups: [""], resources: ["namespaces"], resourceNames: ["team-a"], verbs: ["get"] },
            { apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles", "clusterrolebindings"], resourceNames: ["team-a-namespace-reader"], verbs: ["get"] },
        ]);
    });

    it("registers every component under its sample-app:index type token with children parented", async () => {
        const run = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a" });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            return {};
        });
        const tokens = run.resources.filter(r => !r.custom).map(r => r.type).sort();
        assert.deepStrictEqual(tokens, ["sample-app:index:Redis", "sample-app:index:UserApi"]);
    });
});

describe("component args", () => {
    it("take resources field by field: each field set replaces its default, each unset one keeps it", async () => {
        const run = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a", resources: { memoryLimit: "512Mi" } });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis, resources: { cpuLimit: "1" } });
            return {};
        });
        assert.deepStrictEqual(one(run, "StatefulSet", "cache").spec.template.spec.containers[0].resources, {
            requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "32Mi" }, limits: { cpu: "500m", memory: "512Mi", "ephemeral-storage": "128Mi" },
        });
        assert.deepStrictEqual(one(run, "Deployment", "users").spec.template.spec.containers[0].resources.limits, { cpu: "1", memory: "128Mi", "ephemeral-storage": "128Mi" });
    });

    it("give the API's Go runtime a memory limit below the container's: 10 % of it, at least 16Mi", async () => {
        assert.deepStrictEqual(["128Mi", "64Mi", "256Mi", "1Gi", "32Mi"].map(c.goMemLimit), ["112MiB", "48MiB", "230MiB", "921MiB", "16MiB"]);
        assert.throws(() => c.goMemLimit("31Mi"), /resources\.memoryLimit 31Mi leaves the API 15MiB .*at least 32Mi/);
        const run = await standalone(() => {
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis: new c.Redis("cache", { namespace: "team-a" }), resources: { memoryLimit: "256Mi" } });
            return {};
        });
        const env = (one(run, "Deployment", "users").spec.template.spec.containers[0].env as KObj[]).find(e => e.name === "GOMEMLIMIT");
        assert.deepStrictEqual(env, { name: "GOMEMLIMIT", value: "230MiB" });
    });

    /** Builds a component with bad args; returns what it threw. */
    const thrown = (build: () => unknown): unknown => {
        try {
            build();
        } catch (e) {
            return e;
        }
        return assert.fail("the args were accepted");
    };
    const ns = "team-a";
    const badArgs: [string, new (...a: never[]) => pulumi.Resource, () => unknown, RegExp][] = [
        ["ExternalRedis without a password", c.ExternalRedis, () => new c.ExternalRedis("r", { namespace: ns, host: "h" }), /set exactly one of password and passwordSecret/],
        ["Redis with Sentinel on two pods", c.Redis, () => new c.Redis("r", { namespace: ns, sentinel: {}, replicas: 2 }), /Sentinel needs replicas >= 3/],
        ["Redis with a master name of two words", c.Redis, () => new c.Redis("r", { namespace: ns, sentinel: { masterName: "my master" } }), /masterName must be 1 to 64 letters/],
        ["Redis with a maxmemory Redis cannot read", c.Redis, () => new c.Redis("r", { namespace: ns, maxMemory: "200 MB" }), /maxMemory must be a Redis memory size/],
        ["Redis on the Sentinels' port", c.Redis, () => new c.Redis("r", { namespace: ns, port: 26379 }), /port must be an integer from 1 to 65535 other than the Sentinels' 26379/],
        ["Redis with a memory limit that is not a quantity", c.Redis, () => new c.Redis("r", { namespace: ns, resources: { memoryLimit: "lots" } }), /resources\.memoryLimit must be a Kubernetes quantity.*"lots"/],
        ["UserApi with a request above its limit", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("x", { namespace: ns, host: "h", password: "p" }), resources: { cpuRequest: "2" } }), /resources\.cpuRequest \(2\) must not exceed resources\.cpuLimit \(500m\)/],
        ["UserApi with no replicas", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("y", { namespace: ns, host: "h", password: "p" }), replicas: 0 }), /replicas must be an integer >= 1/],
        ["UserApi with both scrape annotations and a PodMonitor", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("z", { namespace: ns, host: "h", password: "p" }), prometheusScrape: true, podMonitor: {} }), /podMonitor and prometheusScrape are two ways to the same scrape: set one/],
        ["UserApi with a PodMonitor label Kubernetes refuses", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("w", { namespace: ns, host: "h", password: "p" }), podMonitor: { labels: { release: "kube prometheus" } } }), /podMonitor\.labels: "release=kube prometheus" is not a Kubernetes label/],
        ["UserApi with a PodMonitor label that overrides its own", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("v", { namespace: ns, host: "h", password: "p" }), podMonitor: { labels: { tier: "x" } } }), /podMonitor\.labels: tier is a label the component sets on every object \(tier=back\)/],
        ["UserApi with a PodMonitor interval that is not a duration", c.UserApi, () => new c.UserApi("u", { namespace: ns, image: "a/b:1", redis: new c.ExternalRedis("t", { namespace: ns, host: "h", password: "p" }), podMonitor: { interval: "15" } }), /podMonitor\.interval: "15" is not a Prometheus duration longer than zero/],
        ["Frontend whose nginx.conf lacks the upstream placeholder", c.Frontend, () => new c.Frontend("f", { namespace: ns, image: "a/b:1", apiUpstream: "api:8080", nginxConfTemplate: "events {}" }), /must contain __API_UPSTREAM__/],
        ["GatewayRoute with both a class and a parent", c.GatewayRoute, () => new c.GatewayRoute("g", { namespace: ns, host: "a.b", serviceName: "f", gatewayClassName: "x", parentGateway: { name: "p" } }), /set exactly one of gatewayClassName/],
        ["PublicIngress with a canary weight of 200", c.PublicIngress, () => new c.PublicIngress("i", { namespace: ns, host: "a.b", serviceName: "f", canary: { weight: 200 } }), /canary weight must be an integer from 0 to 100/],
        ["NetworkPolicies with both ingress sources", c.NetworkPolicies, () => new c.NetworkPolicies("n", { namespace: ns, frontend: { podSelector: {}, port: 1 }, api: { podSelector: {}, port: 2 }, ingressSource: { namespace: "x", cidrs: ["10.0.0.0/8"] } }), /ingressSource must set exactly one of namespace and cidrs/],
    ];
    for (const [what, component, build, message] of badArgs) {
        it(`refuse ${what} with a ResourceError naming the component`, async () => {
            await runProgram("other", {}, () => {
                const e = thrown(build);
                assert.ok(e instanceof pulumi.ResourceError, `${String(e)} is not a ResourceError`);
                assert.match(e.message, message);
                assert.ok((e as pulumi.ResourceError & { resource?: unknown }).resource instanceof component, "attached to the component, whose URN the engine prints");
                return {};
            });
        });
    }
});
