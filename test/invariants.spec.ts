import * as assert from "assert";
import { CLUSTER_SCOPED, containers, KObj, MOCK_PASSWORD, ofKind, one, PROD_OUTPUTS, reveal, routingOverrides, ROUTINGS, RoutingMode, runStack, StackName, STACKS, StackRun, workloads } from "./harness";
import { allowedFlows, Endpoint, Port } from "./netpol";
import { parseQuantity } from "../settings";
import { stackRun } from "./runs";

const STANDARD_LABEL_KEYS = [
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "env",
    "tier",
];
const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";

function subsetOf(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Labelled metadata of an object: its own, its pod template's and its volume claim templates'. */
function labelledMetadata(o: KObj): { where: string; labels: Record<string, string> }[] {
    const out = [{ where: `${o.kind} ${o.metadata.name}`, labels: o.metadata.labels ?? {} }];
    if (o.spec?.template) {
        out.push({ where: `${o.kind} ${o.metadata.name} pod template`, labels: o.spec.template.metadata?.labels ?? {} });
    }
    for (const vct of o.spec?.volumeClaimTemplates ?? []) {
        out.push({ where: `${o.kind} ${o.metadata.name} volume claim ${vct.metadata.name}`, labels: vct.metadata.labels ?? {} });
    }
    return out;
}

/** The proxies that could forward public traffic, and the one that does for a stack in a routing mode. */
function proxies(stack: StackName, mode: RoutingMode): { all: Endpoint[]; active: string } {
    const minikube = stack === "dev" || stack === "test";
    const all: Endpoint[] = [
        { id: "traefik", namespace: "traefik", labels: { "app.kubernetes.io/name": "traefik" } },
        minikube
            ? { id: "ingress-nginx", namespace: "ingress-nginx", labels: { "app.kubernetes.io/name": "ingress-nginx" } }
            : { id: "ingress-nginx", namespace: "kube-system", labels: { app: "ingress-nginx" } },
        { id: "alb", namespace: "", labels: {}, ip: "10.0.3.4" },
    ];
    return { all, active: mode === "ingress" ? "ingress-nginx" : minikube ? "traefik" : "alb" };
}

for (const stack of STACKS) for (const mode of ROUTINGS) {
    describe(`every object of the ${stack} stack with routing ${mode}`, () => {
        let run: StackRun;
        before(async () => { run = await stackRun(stack, mode); });

        it("carries the standard labels, env and tier", () => {
            assert.ok(run.objects.length > 20);
            for (const o of run.objects) {
                for (const { where, labels } of labelledMetadata(o)) {
                    for (const key of STANDARD_LABEL_KEYS) {
                        assert.ok(labels[key], `${where} lacks label ${key}`);
                    }
                    assert.strictEqual(labels["app.kubernetes.io/instance"], stack, where);
                    assert.strictEqual(labels["app.kubernetes.io/part-of"], "sample-app", where);
                    assert.strictEqual(labels["app.kubernetes.io/managed-by"], "pulumi", where);
                    assert.strictEqual(labels.env, stack, where);
                    assert.ok(["front", "back", "data", "platform"].includes(labels.tier), `${where} tier ${labels.tier}`);
                }
            }
        });

        it("names every object explicitly, so a create retried after an interrupted run adopts the object it made instead of leaving an orphan", () => {
            // The provider creates by server-side apply (an upsert): a fixed name is what makes that safe (scripts/engine/recover.ts).
            const unnamed = run.resources.filter(r => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:index")
                && typeof (r.inputs as { metadata?: { name?: unknown } }).metadata?.name !== "string");
            assert.deepStrictEqual(unnamed.map(r => `${r.type} ${r.name}`), []);
        });

        it("lives in the stack's namespace, but for the cluster-scoped objects it owns", () => {
            for (const o of run.objects.filter(x => !CLUSTER_SCOPED.includes(x.kind))) {
                assert.strictEqual(o.metadata.namespace, `sample-app-${stack}`, `${o.kind} ${o.metadata.name}`);
            }
        });

        it("has workload selectors that match their pod template labels and only use immutable labels", () => {
            for (const w of workloads(run)) {
                const selector = w.spec.selector.matchLabels;
                assert.ok(subsetOf(selector, w.spec.template.metadata.labels), `${w.kind} ${w.metadata.name}`);
                assert.deepStrictEqual(Object.keys(selector).sort(), ["app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/name"]);
            }
        });

        it("has Services that each select exactly one workload's pods on a port that container exposes", () => {
            for (const svc of ofKind(run, "Service")) {
                const selector = { ...svc.spec.selector };
                delete selector[POD_NAME_LABEL];
                assert.ok(Object.keys(selector).length > 0, `Service ${svc.metadata.name} selects nothing`);
                const targets = workloads(run).filter(w => subsetOf(selector, w.spec.template.metadata.labels));
                assert.strictEqual(targets.length, 1, `Service ${svc.metadata.name} selects ${targets.length} workloads`);
                const ports = (targets[0].spec.template.spec.containers as KObj[]).flatMap(c => c.ports ?? []);
                for (const p of svc.spec.ports) {
                    const exposed = ports.some(cp => cp.name === p.targetPort || cp.containerPort === p.targetPort);
                    assert.ok(exposed, `Service ${svc.metadata.name} targets ${p.targetPort}, not exposed by ${targets[0].metadata.name}`);
                }
            }
        });

        it("gives every container requests, limits, both probes, the restricted securityContext and a pinned image", () => {
            assert.ok(containers(run).length >= 2);
            for (const { workload, container } of containers(run)) {
                const where = `${workload.metadata.name}/${container.name}`;
                for (const kind of ["requests", "limits"]) {
                    assert.ok(container.resources?.[kind]?.cpu && container.resources?.[kind]?.memory, `${where} ${kind}`);
                }
                assert.ok(container.livenessProbe, `${where} liveness`);
                assert.ok(container.readinessProbe, `${where} readiness`);
                const pod = workload.spec.template.spec.securityContext ?? {};
                const sc = container.securityContext ?? {};
                assert.ok(sc.runAsNonRoot ?? pod.runAsNonRoot, `${where} runAsNonRoot`);
                assert.ok((sc.runAsUser ?? pod.runAsUser) > 0, `${where} runs as a non-zero uid`);
                assert.strictEqual(sc.allowPrivilegeEscalation, false, `${where} allowPrivilegeEscalation`);
                assert.deepStrictEqual(sc.capabilities?.drop, ["ALL"], `${where} drops all capabilities`);
                assert.strictEqual((sc.seccompProfile ?? pod.seccompProfile)?.type, "RuntimeDefault", `${where} seccomp`);
                assert.strictEqual(sc.readOnlyRootFilesystem, true, `${where} read-only root`);
                assert.match(container.image, /^[^:@\s]+(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[a-f0-9]{64})?$/, `${where} image`);
                assert.ok(/:[^/]+$/.test(container.image) || container.image.includes("@sha256:"), `${where} image ${container.image} is not pinned`);
                assert.ok(!container.image.endsWith(":latest"), `${where} uses latest`);
            }
        });

        it("gives every long-running container a liveness probe of its own, so a pod that is only unready is not restarted too", () => {
            // The check itself, not its timing: the same request every 5 s and every 10 s is still the same check.
            const check = (p: KObj | undefined) => JSON.stringify({ httpGet: p?.httpGet, exec: p?.exec, tcpSocket: p?.tcpSocket, grpc: p?.grpc });
            const same = containers(run).filter(({ container }) => check(container.livenessProbe) === check(container.readinessProbe))
                .map(({ workload, container }) => `${workload.metadata.name}/${container.name}`);
            assert.deepStrictEqual(same, []);
        });

        it("runs every container, the backup Job's too, as a UID and a GID of 10000 or more, with an fsGroup of 10000 or more for its volumes", () => {
            const pods = [
                ...workloads(run).map(w => ({ where: `${w.kind} ${w.metadata.name}`, spec: w.spec.template.spec as KObj })),
                ...ofKind(run, "CronJob").map(cron => ({ where: `CronJob ${cron.metadata.name}`, spec: cron.spec.jobTemplate.spec.template.spec as KObj })),
            ];
            assert.ok(pods.length >= 2);
            const low: string[] = [];
            for (const { where, spec } of pods) {
                const pod: KObj = spec.securityContext ?? {};
                if (!(pod.fsGroup >= 10000)) {
                    low.push(`${where} fsGroup ${pod.fsGroup}`);
                }
                for (const c of [...(spec.initContainers ?? []), ...spec.containers] as KObj[]) {
                    for (const key of ["runAsUser", "runAsGroup"]) {
                        const id = c.securityContext?.[key] ?? pod[key];
                        if (!(id >= 10000)) {
                            low.push(`${where}/${c.name} ${key} ${id}`);
                        }
                    }
                }
            }
            assert.deepStrictEqual(low, []);
        });

        it("gives every container a local disk (ephemeral-storage) request and limit that holds its emptyDirs and logs", () => {
            for (const { workload, container } of containers(run)) {
                const where = `${workload.metadata.name}/${container.name}`;
                const request = parseQuantity(container.resources?.requests?.["ephemeral-storage"] ?? "");
                const limit = parseQuantity(container.resources?.limits?.["ephemeral-storage"] ?? "");
                assert.ok(request !== undefined && limit !== undefined && request <= limit, `${where}: ephemeral-storage ${request} / ${limit}`);
                const emptyDirs = (workload.spec.template.spec.volumes as KObj[])
                    .filter(v => v.emptyDir)
                    .reduce((sum, v) => sum + parseQuantity(v.emptyDir.sizeLimit)!, 0);
                // The kubelet keeps up to 5 rotated log files of 10Mi per container.
                assert.ok(limit! >= emptyDirs + 50 * 2 ** 20, `${where}: limit ${limit} cannot hold ${emptyDirs} of emptyDirs and 50Mi of logs`);
            }
            const limits = one(run, "LimitRange", "sample-app-limits").spec.limits[0];
            assert.ok(limits.default["ephemeral-storage"] && limits.defaultRequest["ephemeral-storage"], "LimitRange defaults for containers that set none");
            const hard = one(run, "ResourceQuota", "sample-app-quota").spec.hard;
            assert.ok(hard["requests.ephemeral-storage"] && hard["limits.ephemeral-storage"], "quota counts local disk");
        });

        it("hands no container a Secret through env or envFrom (Secrets are mounted read-only files)", () => {
            for (const { workload, container } of containers(run)) {
                const where = `${workload.metadata.name}/${container.name}`;
                for (const e of (container.env ?? []) as KObj[]) {
                    assert.ok(!e.valueFrom?.secretKeyRef, `${where} env ${e.name} comes from Secret ${e.valueFrom?.secretKeyRef?.name}`);
                }
                for (const e of (container.envFrom ?? []) as KObj[]) {
                    assert.ok(!e.secretRef, `${where} envFrom Secret ${e.secretRef?.name}`);
                }
                for (const m of (container.volumeMounts ?? []) as KObj[]) {
                    const volume = (workload.spec.template.spec.volumes as KObj[]).find(v => v.name === m.name);
                    if (volume?.secret) {
                        assert.strictEqual(m.readOnly, true, `${where} mounts Secret ${volume.secret.secretName} writable`);
                    }
                }
            }
            const api = containers(run).find(x => x.workload.metadata.name === "user-api")!.container;
            assert.ok((api.env as KObj[]).some(e => e.name === "REDIS_PASSWORD_FILE"), "the API reads the password from a file");
        });

        it("mounts only Secret keys that the stack's own Secrets have (a missing key keeps the pod in ContainerCreating)", () => {
            const secrets = new Map(run.objects.filter(o => o.kind === "Secret").map(o =>
                [o.metadata.name as string, new Set([...Object.keys(reveal(o.stringData) ?? {}), ...Object.keys(reveal(o.data) ?? {})])]));
            for (const { workload } of containers(run)) {
                for (const v of (workload.spec.template.spec.volumes ?? []) as KObj[]) {
                    const keys = secrets.get(v.secret?.secretName);
                    if (v.secret === undefined || keys === undefined) {
                        continue; // not a Secret, or one the stack does not own (e.g. a TLS Secret made elsewhere)
                    }
                    for (const item of (v.secret.items ?? []) as KObj[]) {
                        assert.ok(keys.has(item.key), `${workload.metadata.name} mounts key ${item.key} of Secret ${v.secret.secretName}, which has only ${[...keys].join(", ")}`);
                    }
                }
            }
        });

        it("mounts a writable emptyDir at /tmp in every pod, since root filesystems are read-only", () => {
            for (const { workload, container } of containers(run)) {
                const tmp = (container.volumeMounts as KObj[]).find(m => m.mountPath === "/tmp");
                const volume = (workload.spec.template.spec.volumes as KObj[]).find(v => v.name === tmp?.name);
                assert.ok(volume?.emptyDir, `${workload.metadata.name} has no emptyDir at /tmp`);
            }
        });

        it("sets no spec.replicas on a Deployment that an HPA scales", () => {
            for (const hpa of ofKind(run, "HorizontalPodAutoscaler")) {
                const target = one(run, "Deployment", hpa.spec.scaleTargetRef.name);
                assert.ok(!("replicas" in target.spec), `Deployment ${target.metadata.name}`);
            }
        });

        it("never shows the Redis password in a ConfigMap, an env literal or a plain output", () => {
            for (const cm of ofKind(run, "ConfigMap")) {
                assert.ok(!JSON.stringify(cm).includes(MOCK_PASSWORD), `ConfigMap ${cm.metadata.name}`);
            }
            for (const { workload, container } of containers(run)) {
                for (const e of container.env ?? []) {
                    assert.ok(!String(e.value ?? "").includes(MOCK_PASSWORD), `${workload.metadata.name} env ${e.name}`);
                }
                assert.ok(!JSON.stringify(container.command ?? []).includes(MOCK_PASSWORD));
                assert.ok(!JSON.stringify(container.args ?? []).includes(MOCK_PASSWORD));
            }
            for (const [key, value] of Object.entries(run.outputs)) {
                if (!run.secretOutputs.has(key)) {
                    assert.ok(!JSON.stringify(value).includes(MOCK_PASSWORD), `output ${key}`);
                }
            }
            assert.ok(run.secretOutputs.has("redisPassword"));
        });

        it("creates one ServiceAccount per workload and one for the deploy workflow, none with an API token, except the backup's, which may only handle VolumeSnapshots", () => {
            const backups = ofKind(run, "CronJob");
            const accounts = ofKind(run, "ServiceAccount");
            assert.strictEqual(accounts.length, workloads(run).length + 1 + backups.length);
            assert.ok(accounts.some(sa => sa.metadata.name === "sample-app-deploy"));
            for (const cron of backups) {
                const spec = cron.spec.jobTemplate.spec.template.spec;
                assert.strictEqual(spec.automountServiceAccountToken, true, "kubectl needs the token");
                const binding = ofKind(run, "RoleBinding").find(b => b.subjects.some((x: KObj) => x.name === spec.serviceAccountName));
                const role = one(run, "Role", binding?.roleRef.name);
                assert.deepStrictEqual(role.rules, [{ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: ["create", "get", "list", "watch"] }]);
            }
            for (const sa of accounts) {
                assert.strictEqual(sa.automountServiceAccountToken, false, sa.metadata.name);
            }
            for (const w of workloads(run)) {
                const spec = w.spec.template.spec;
                assert.ok(accounts.some(sa => sa.metadata.name === spec.serviceAccountName), `${w.metadata.name} runs as ${spec.serviceAccountName}`);
                assert.strictEqual(spec.automountServiceAccountToken, false);
            }
        });

        it("labels the namespace for Pod Security Admission restricted, enforced and warned", () => {
            const ns = one(run, "Namespace", `sample-app-${stack}`);
            assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            assert.strictEqual(ns.metadata.labels["pod-security.kubernetes.io/warn"], "restricted");
            assert.ok(one(run, "ResourceQuota", "sample-app-quota").spec.hard["requests.storage"]);
            assert.ok(one(run, "LimitRange", "sample-app-limits").spec.limits[0].default.memory);
        });

        it("promises no Prometheus scraping when no monitoring namespace may reach the API", async () => {
            const unscraped = await runStack(stack, { ...routingOverrides(mode), metricsNamespace: undefined, metricsDiscovery: undefined });
            assert.ok(!ofKind(unscraped, "NetworkPolicy").some(np => JSON.stringify(np.spec).includes("monitoring") || JSON.stringify(np.spec).includes("arms-prom")));
            assert.deepStrictEqual(ofKind(unscraped, "PodMonitor"), []);
            for (const w of workloads(unscraped)) {
                const keys = Object.keys(w.spec.template.metadata.annotations ?? {});
                assert.deepStrictEqual(keys.filter(k => k.startsWith("prometheus.io/")), [], `${w.metadata.name} is annotated for a scrape the policies block`);
            }
        });

        it("lets a named monitoring namespace scrape the API and nothing else, and annotates the API pods for it", async () => {
            const scraped = await runStack(stack, { ...routingOverrides(mode), metricsNamespace: "monitoring", metricsDiscovery: "annotations" });
            assert.deepStrictEqual(one(scraped, "Deployment", "user-api").spec.template.metadata.annotations,
                { "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" });
            const prometheus: Endpoint = { id: "prometheus", namespace: "monitoring", labels: { app: "prometheus" } };
            const targets = workloads(scraped).map(w => ({ id: w.metadata.name, namespace: `sample-app-${stack}`, labels: w.spec.template.metadata.labels }));
            const flows = allowedFlows(ofKind(scraped, "NetworkPolicy"), [prometheus, ...targets], [{ port: 8080, protocol: "TCP" }, { port: 6379, protocol: "TCP" }], `sample-app-${stack}`)
                .filter(f => f.startsWith("prometheus"));
            assert.deepStrictEqual(flows, ["prometheus -> user-api:8080/TCP"]);
        });

        it("with metricsDiscovery podMonitor, scrapes the API through a PodMonitor instead of annotations, behind the same policies", async () => {
            const monitored = await runStack(stack, { ...routingOverrides(mode), metricsNamespace: "arms-prom", metricsDiscovery: "podMonitor", metricsPodMonitorLabels: ["release=prom"], metricsScrapeInterval: "10s" });
            const api = one(monitored, "Deployment", "user-api");
            assert.ok(!Object.keys(api.spec.template.metadata.annotations ?? {}).some(k => k.startsWith("prometheus.io/")));
            const monitors = ofKind(monitored, "PodMonitor");
            assert.deepStrictEqual(monitors.map(m => m.metadata.name), ["user-api"], "one PodMonitor, the API's");
            assert.deepStrictEqual(monitors[0].spec.selector.matchLabels, api.spec.selector.matchLabels);
            assert.deepStrictEqual(monitors[0].spec.podMetricsEndpoints, [{ port: "http", path: "/metrics", scheme: "http", interval: "10s" }]);
            assert.strictEqual(monitors[0].metadata.labels.release, "prom");
            const policies = ofKind(monitored, "NetworkPolicy");
            assert.ok(policies.some(np => JSON.stringify(np.spec).includes("arms-prom")), "the PodMonitor's Prometheus may reach the API");
        });

        it("sends NetworkPolicies in the form the API server stores them: no empty matchLabels, no empty rule lists", () => {
            const policies = ofKind(run, "NetworkPolicy");
            assert.ok(policies.length >= 4);
            const problems: string[] = [];
            const walk = (v: unknown, where: string): void => {
                if (Array.isArray(v)) {
                    if (v.length === 0) {
                        problems.push(`${where} is an empty list`);
                    }
                    v.forEach((x, i) => walk(x, `${where}[${i}]`));
                } else if (typeof v === "object" && v !== null) {
                    for (const [k, x] of Object.entries(v)) {
                        if (k === "matchLabels" && Object.keys(x as object).length === 0) {
                            problems.push(`${where}.matchLabels is empty`);
                        }
                        walk(x, `${where}.${k}`);
                    }
                }
            };
            for (const np of policies) {
                walk(np.spec, `NetworkPolicy ${np.metadata.name} spec`);
            }
            assert.deepStrictEqual(problems, []);
            const deny = one(run, "NetworkPolicy", "sample-app-default-deny");
            assert.deepStrictEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        });

        it("has NetworkPolicies that allow exactly the designed paths", () => {
            const ns = `sample-app-${stack}`;
            const podOf = (name: string): Endpoint | undefined => {
                const w = workloads(run).find(x => x.metadata.name === name);
                return w && { id: name, namespace: ns, labels: w.spec.template.metadata.labels };
            };
            const proxy = proxies(stack, mode);
            const grayApi: Endpoint = {
                id: "gray-api", namespace: "sample-app-gray",
                labels: { "app.kubernetes.io/name": "user-api", "app.kubernetes.io/component": "backend", "app.kubernetes.io/instance": "gray" },
            };
            const prodRedis: Endpoint = {
                id: "prod-redis", namespace: PROD_OUTPUTS.namespace,
                labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "database", "app.kubernetes.io/instance": "prod" },
            };
            const backup = ofKind(run, "CronJob").map(cron => ({ id: "backup", namespace: ns, labels: cron.spec.jobTemplate.spec.template.metadata.labels }));
            const sentinel = stack === "prod";
            const endpoints: Endpoint[] = [
                ...["frontend", "user-api", "redis"].map(podOf).filter((e): e is Endpoint => e !== undefined),
                ...proxy.all,
                ...backup,
                { id: "dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
                { id: "stranger", namespace: "default", labels: { app: "other" } },
                { id: "internet", namespace: "", labels: {}, ip: "203.0.113.7" },
                ...(stack === "gray" ? [prodRedis] : [grayApi]),
            ];
            const ports: Port[] = [53, 80, 443, 6379, 6443, 8080, 26379].flatMap(port => [{ port, protocol: "TCP" as const }, ...(port === 53 ? [{ port, protocol: "UDP" as const }] : [])]);
            const own = endpoints.filter(e => e.namespace === ns).map(e => e.id);
            const expected = [
                ...own.flatMap(id => [`${id} -> dns:53/TCP`, `${id} -> dns:53/UDP`]),
                `${proxy.active} -> frontend:8080/TCP`,
                "frontend -> user-api:8080/TCP",
                // Gray reads from prod's outputs that prod runs Sentinels: its Redis port and theirs.
                ...(stack === "gray" ? ["user-api -> prod-redis:6379/TCP", "user-api -> prod-redis:26379/TCP"] : ["user-api -> redis:6379/TCP"]),
                ...(stack === "prod" ? ["gray-api -> redis:6379/TCP"] : []),
                // Sentinel: clients ask the Sentinels; replicas pull from the primary; Sentinels watch every Redis and each other.
                ...(sentinel ? ["user-api -> redis:26379/TCP", "gray-api -> redis:26379/TCP"] : []),
                // The backup Job: BGREWRITEAOF on the primary (found through the Sentinels), then the API server.
                ...(backup.length > 0 ? [
                    "backup -> redis:6379/TCP", ...(sentinel ? ["backup -> redis:26379/TCP"] : []),
                    // Without kubeApiServerCidrs the API server may be at any address, on the port ACK's listens on, from the backup pod only.
                    ...endpoints.filter(e => e.ip !== undefined).map(e => `backup -> ${e.id}:6443/TCP`),
                ] : []),
            ].sort();
            assert.deepStrictEqual(allowedFlows(ofKind(run, "NetworkPolicy"), endpoints, ports, ns), expected);

            // Between two pods of the Redis StatefulSet: replication and Sentinel only where there are replicas.
            const redis = podOf("redis");
            if (redis) {
                const peers = [redis, { ...redis, id: "redis-peer" }];
                const between = allowedFlows(ofKind(run, "NetworkPolicy"), peers, ports, ns).filter(f => !f.includes("dns"));
                assert.deepStrictEqual(between, sentinel
                    ? ["redis -> redis-peer:26379/TCP", "redis -> redis-peer:6379/TCP", "redis-peer -> redis:26379/TCP", "redis-peer -> redis:6379/TCP"]
                    : []);
            }
        });
    });
}
