import * as assert from "assert";
import { execFileSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import * as c from "../components";
import { failStack, failStackWith, KObj, MOCK_PASSWORD, one, ofKind, PROD_OUTPUTS, redisModeOverrides, reveal, runProgram, runStack, StackRun } from "./harness";
import { allowedFlows, Endpoint, Port } from "./netpol";

/** Runs `build` as a stand-alone program of another project's stack named `other`. */
function standalone(build: () => Record<string, unknown>): Promise<StackRun> {
    return runProgram("other", {}, build);
}

function envMap(container: KObj): Record<string, unknown> {
    return Object.fromEntries((container.env as KObj[]).map(e => [e.name, e.value ?? e.valueFrom]));
}

describe("Redis in Sentinel mode", () => {
    let run: StackRun;
    before(async () => {
        run = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a", sentinel: {}, zoneSpread: true });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            return { sentinelAddrs: redis.sentinelAddrs, sentinelPassword: redis.sentinelPassword, waitReplicas: redis.waitReplicas };
        });
    });

    it("runs three pods, each with a Sentinel beside Redis, spread over nodes and zones", () => {
        const sts = one(run, "StatefulSet", "cache");
        assert.strictEqual(sts.spec.replicas, 3);
        const pod = sts.spec.template.spec;
        assert.deepStrictEqual(pod.containers.map((x: KObj) => [x.name, x.ports[0].containerPort]), [["redis", 6379], ["sentinel", 26379]]);
        assert.deepStrictEqual(pod.topologySpreadConstraints.map((t: KObj) => [t.topologyKey, t.whenUnsatisfiable]), [
            ["kubernetes.io/hostname", "ScheduleAnyway"], ["topology.kubernetes.io/zone", "DoNotSchedule"],
        ], "strictly one zone per pod while zones last; nodes when possible");
        assert.deepStrictEqual(one(run, "Service", "cache-headless").spec.ports.map((p: KObj) => p.port), [6379, 26379]);
    });

    it("starts and replaces its pods in parallel, so one that cannot be scheduled (a lost zone) never holds the others back", () => {
        const sts = one(run, "StatefulSet", "cache");
        assert.strictEqual(sts.spec.podManagementPolicy, "Parallel");
        const sentinel = (sts.spec.template.spec.containers as KObj[]).find(x => x.name === "sentinel");
        const window = sentinel?.startupProbe.periodSeconds * sentinel?.startupProbe.failureThreshold;
        assert.ok(window >= 300, `a Sentinel may wait for pod 0's DNS record for minutes without being restarted (startup window ${window}s)`);
    });

    it("has no Service that points at one pod: clients get the Sentinels' addresses through the headless Service", () => {
        assert.deepStrictEqual(ofKind(run, "Service").filter(s => s.metadata.name.startsWith("cache")).map(s => s.metadata.name), ["cache-headless"]);
        const addrs = [0, 1, 2].map(i => `cache-${i}.cache-headless.team-a.svc.cluster.local:26379`).join(",");
        assert.strictEqual(run.outputs.sentinelAddrs, addrs);
        const env = envMap(one(run, "Deployment", "users").spec.template.spec.containers[0]);
        assert.strictEqual(env.REDIS_SENTINEL_ADDRS, addrs);
        assert.strictEqual(env.REDIS_ADDR, "", "the API must not also get a fixed address");
        assert.strictEqual(env.REDIS_SENTINEL_MASTER, "mymaster");
        assert.strictEqual(env.REDIS_SENTINEL_PASSWORD_FILE, "/etc/sample-app/redis/sentinel-password");
        assert.strictEqual(env.REDIS_PASSWORD_FILE, "/etc/sample-app/redis/password");
        assert.strictEqual(env.REDIS_WAIT_REPLICAS, "1", "a write is acknowledged once a replica has it");
    });

    it("keeps a quorum and a majority of Sentinels through a drain: the PDB lets one pod of three go", () => {
        assert.deepStrictEqual(one(run, "PodDisruptionBudget", "cache").spec.minAvailable, 2);
    });

    it("authenticates Redis and the Sentinels with generated passwords that only the Secret holds", () => {
        const secret = reveal(one(run, "Secret", "cache-auth").stringData);
        assert.strictEqual(secret["sentinel-password"], MOCK_PASSWORD);
        assert.ok(run.secretOutputs.has("sentinelPassword"));
        const config = one(run, "ConfigMap", "cache-config").data;
        for (const [file, text] of Object.entries(config as Record<string, string>)) {
            assert.ok(!text.includes(MOCK_PASSWORD), `${file} holds a password`);
        }
        const pod = one(run, "StatefulSet", "cache").spec.template.spec;
        for (const container of pod.containers as KObj[]) {
            const literal = JSON.stringify([container.command, container.args, container.env]);
            assert.ok(!literal.includes(MOCK_PASSWORD), `${container.name} has a password in its command or env`);
            assert.ok(!(container.env as KObj[]).some(e => e.valueFrom?.secretKeyRef), `${container.name} reads passwords from files, not env`);
        }
        // The Sentinel's config, which it rewrites, is written from the Secret's files into an emptyDir, each password quoted.
        assert.match(config["start-sentinel.sh"], /printf 'requirepass %s\\n' "\$\(conf_quote "\$\(sentinel_password\)"\)"/);
        assert.match(config["start-sentinel.sh"], /printf 'sentinel auth-pass %s %s\\n' "\$SENTINEL_MASTER" "\$\(conf_quote "\$\(redis_password\)"\)"/);
        assert.match(config["common.sh"], /sentinel_password\(\) \{ cat "\$AUTH_DIR\/sentinel-password"; \}/);
    });

    it("announces hostnames through the headless Service, so addresses survive pod restarts", () => {
        const config = one(run, "ConfigMap", "cache-config").data;
        assert.match(config["start-redis.sh"], /replica-announce-ip \$self/);
        for (const line of ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes", "sentinel announce-ip $self"]) {
            assert.ok(config["start-sentinel.sh"].includes(line), line);
        }
        assert.ok(config["start-sentinel.sh"].indexOf("resolve-hostnames") < config["start-sentinel.sh"].indexOf("sentinel monitor"), "hostnames resolve before monitor names one");
        assert.match(config["start-sentinel.sh"], /if getent hosts "\$primary_host" >\/dev\/null; then break; fi/, "waits for the primary's DNS record");
        assert.match(config["common.sh"], /self="\$POD_NAME\.\$HEADLESS"/);
        const env = envMap(one(run, "StatefulSet", "cache").spec.template.spec.containers[0]);
        assert.strictEqual(env.HEADLESS, "cache-headless.team-a.svc.cluster.local");
    });

    it("starts a pod as a replica of whatever primary the Sentinels name, falling back to pod 0 on a fresh cluster", () => {
        const common = one(run, "ConfigMap", "cache-config").data["common.sh"];
        assert.match(common, /sentinel get-master-addr-by-name "\$SENTINEL_MASTER"/);
        assert.match(common, /echo "\$first"/);
        assert.match(one(run, "ConfigMap", "cache-config").data["topology.sh"], /^SENTINEL_MASTER='mymaster'$/m);
        assert.match(one(run, "ConfigMap", "cache-config").data["start-redis.sh"], /if \[ "\$primary_host" != "\$self" \]; then echo "replicaof \$primary_host \$REDIS_PORT"; fi/);
    });

    it("tells a replica from a primary: a replica is ready only once synced, and a stopping primary hands over first", () => {
        const config = one(run, "ConfigMap", "cache-config").data;
        assert.match(config["ready.sh"], /\*role:master\*\) exit 0/);
        assert.match(config["ready.sh"], /\*master_link_status:up\*\) exit 0/);
        const redis = one(run, "StatefulSet", "cache").spec.template.spec.containers[0];
        assert.deepStrictEqual(redis.readinessProbe.exec.command, ["sh", "/etc/redis/conf/ready.sh"]);
        assert.deepStrictEqual(redis.lifecycle.preStop.exec.command, ["sh", "/etc/redis/conf/pre-stop.sh"]);
        assert.match(config["pre-stop.sh"], /sentinel failover "\$SENTINEL_MASTER"/);
        assert.ok(one(run, "StatefulSet", "cache").spec.template.spec.terminationGracePeriodSeconds > 20, "room for the handover");
    });

    it("keeps a Sentinel that only has no primary yet out of service without restarting it: ready once it names a primary, alive while it answers and its primary is not stale", () => {
        const config = one(run, "ConfigMap", "cache-config").data;
        const sentinel = one(run, "StatefulSet", "cache").spec.template.spec.containers[1];
        assert.strictEqual(sentinel.name, "sentinel");
        assert.deepStrictEqual(sentinel.readinessProbe.exec.command, ["sh", "/etc/redis/conf/sentinel-ready.sh"]);
        assert.match(config["sentinel-ready.sh"], /local_sentinel --raw sentinel get-master-addr-by-name "\$SENTINEL_MASTER"/);
        assert.match(config["sentinel-ready.sh"], /"" \| \*" "\*\) echo "not ready: no primary known for \$SENTINEL_MASTER/, "an empty answer or an error is not ready");
        assert.deepStrictEqual(sentinel.livenessProbe.exec.command, ["sh", "/etc/redis/conf/sentinel-alive.sh"]);
        assert.ok(sentinel.livenessProbe.timeoutSeconds > 2 * 5, "room for the probe's own timeouts (2 s each)");
        assert.notDeepStrictEqual(sentinel.livenessProbe, sentinel.readinessProbe);
    });

    it("runs every container read-only, non-root, with nothing but its emptyDirs writable", () => {
        const pod = one(run, "StatefulSet", "cache").spec.template.spec;
        for (const container of pod.containers as KObj[]) {
            assert.strictEqual(container.securityContext.readOnlyRootFilesystem, true, container.name);
            assert.ok((container.volumeMounts as KObj[]).some(m => m.mountPath === "/run/redis"), `${container.name} has a runtime dir`);
        }
        assert.ok((pod.volumes as KObj[]).find(v => v.name === "run")?.emptyDir);
        assert.ok((pod.volumes as KObj[]).find(v => v.name === "sentinel-run")?.emptyDir);
        assert.ok(!(pod.containers as KObj[]).some(x => (x.volumeMounts as KObj[]).some(m => m.subPath)), "no subPath: kubelet would create it as root");
    });
});

describe("Redis topology rules", () => {
    it("refuses Sentinel with fewer than three pods or a quorum it cannot reach", () => {
        assert.throws(() => c.redisTopology("r", { sentinel: {}, replicas: 2 }), /Redis r: Sentinel needs replicas >= 3 .*got 2/);
        assert.throws(() => c.redisTopology("r", { sentinel: { quorum: 4 } }), /Redis r: sentinel quorum must be an integer from 1 to replicas \(3\), got 4/);
        assert.strictEqual(c.redisTopology("r", { sentinel: {}, replicas: 5 }).sentinel?.quorum, 3);
    });

    it("keeps as many pods in a drain as the larger of the quorum and a Sentinel majority", () => {
        const spec = (replicas: number, quorum?: number) => c.redisTopology("r", { sentinel: { quorum }, replicas });
        const pdb = (t: ReturnType<typeof spec>) => c.redisPdbSpec(t, {}).minAvailable;
        assert.strictEqual(pdb(spec(3)), 2);
        assert.strictEqual(pdb(spec(5)), 3);
        assert.strictEqual(pdb(spec(5, 4)), 4);
        assert.strictEqual(pdb(spec(5, 2)), 3, "a failover needs a majority of Sentinels even with a low quorum");
        assert.strictEqual(pdb(c.redisTopology("r", { replicas: 3 })), 2);
    });

    it("starts new data volumes from a VolumeSnapshot when asked to restore", async () => {
        const run = await standalone(() => {
            new c.Redis("cache", { namespace: "team-a", restoreFromSnapshot: "data-cache-0-20260101-030000" });
            return {};
        });
        assert.deepStrictEqual(one(run, "StatefulSet", "cache").spec.volumeClaimTemplates[0].spec.dataSource, {
            apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "data-cache-0-20260101-030000",
        });
    });
});

describe("managed Redis (ExternalRedis)", () => {
    it("points the API at the endpoint with TLS and an existing Secret, creating none", async () => {
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", {
                namespace: "team-a", host: "r-bp1xxxx.redis.rds.aliyuncs.com", tls: true, passwordSecret: { name: "tair-auth" },
            });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            return {};
        });
        assert.deepStrictEqual(ofKind(run, "Secret"), []);
        const env = envMap(one(run, "Deployment", "users").spec.template.spec.containers[0]);
        assert.strictEqual(env.REDIS_ADDR, "r-bp1xxxx.redis.rds.aliyuncs.com:6379");
        assert.strictEqual(env.REDIS_TLS, "true");
        assert.strictEqual(env.REDIS_WAIT_REPLICAS, "0");
        assert.strictEqual(env.REDIS_PASSWORD_FILE, "/etc/sample-app/redis/password");
        const auth = (one(run, "Deployment", "users").spec.template.spec.volumes as KObj[]).find(v => v.secret);
        assert.deepStrictEqual(auth?.secret.secretName, "tair-auth");
        assert.ok(!("REDIS_SENTINEL_ADDRS" in env));
    });

    it("verifies the Redis against the CAs it is given: a ConfigMap named by its content that the API mounts, REDIS_TLS_CA_FILE pointing at it", async () => {
        const ca = testCa();
        const run = await standalone(() => {
            const redis = new c.ExternalRedis("redis", { namespace: "team-a", host: "r-bp1xxxx.redis.rds.aliyuncs.com", tls: true, tlsCa: ca, password: "pw" });
            new c.UserApi("users", { namespace: "team-a", image: "example/api:1.2.3", redis });
            return {};
        });
        const [map] = ofKind(run, "ConfigMap");
        assert.match(map.metadata.name, /^redis-tls-ca-[0-9a-f]{10}$/);
        assert.strictEqual(map.immutable, true, "a new CA is a new ConfigMap, and the API pods roll onto it");
        assert.strictEqual(map.data["ca.crt"], ca);
        const pod = one(run, "Deployment", "users").spec.template.spec;
        const env = envMap(pod.containers[0]);
        assert.strictEqual(env.REDIS_TLS, "true");
        assert.strictEqual(env.REDIS_TLS_CA_FILE, `${c.REDIS_TLS_CA_DIR}/ca.crt`);
        const volume = (pod.volumes as KObj[]).find(v => v.configMap?.name === map.metadata.name);
        assert.ok(volume, "the CA ConfigMap is a volume of the API pods");
        assert.deepStrictEqual(pod.containers[0].volumeMounts.find((m: KObj) => m.name === volume.name), { name: volume.name, mountPath: c.REDIS_TLS_CA_DIR, readOnly: true });
    });

    it("refuses CAs without TLS, and a tlsCa that is not PEM certificates, naming the component", () => {
        assert.throws(() => new c.ExternalRedis("r", { namespace: "x", host: "h", password: "p", tlsCa: testCa() }), /ExternalRedis r: tlsCa is only used with tls/);
        assert.throws(() => c.pemCertificates("not a certificate"), /tlsCa must hold PEM certificates .* and holds none/);
        assert.throws(() => c.pemCertificates(`${testCa()}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`), /tlsCa must hold only PEM certificates; it also holds "-----BEGIN PRIVATE KEY/);
        assert.throws(() => c.pemCertificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), /certificate 1 of 1 does not parse as X.509/);
        assert.strictEqual(c.pemCertificates(`${testCa()}\n${testCa()}`).length, 2, "a chain of two");
    });

    it("takes exactly one of a password and an existing Secret", () => {
        assert.throws(() => new c.ExternalRedis("r", { namespace: "x", host: "h" }), /set exactly one of password and passwordSecret/);
        assert.throws(() => new c.ExternalRedis("r", { namespace: "x", host: "h", password: pulumi.secret("p"), passwordSecret: { name: "s" } }), /exactly one/);
    });
});

describe("Redis backups (RedisBackup)", () => {
    let run: StackRun;
    before(async () => {
        run = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a", sentinel: {} });
            new c.RedisBackup("cache-backup", { namespace: "team-a", redis, snapshotClass: "csi-hostpath-snapclass" });
            return {};
        });
    });

    it("without a schedule, keeps a suspended CronJob that runs only on demand, one Job at a time", () => {
        const cron = one(run, "CronJob", "cache-backup");
        assert.strictEqual(cron.spec.suspend, true);
        assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid");
    });

    it("runs a missed backup at most once and at most an hour late, so an outage never piles up runs", () => {
        const cron = one(run, "CronJob", "cache-backup");
        assert.strictEqual(cron.spec.startingDeadlineSeconds, 3600);
        assert.strictEqual(cron.spec.concurrencyPolicy, "Forbid", "a late run never overlaps the next one");
    });

    it("rewrites the primary's AOF and waits for it before snapshotting the primary's volume, then waits until the snapshot is ready", () => {
        const script = one(run, "ConfigMap", "cache-backup").data["prepare.sh"];
        const order = ["host=\"$(named_primary)\"", "cli bgrewriteaof", "aof_rewrite_in_progress:0", "aof_last_bgrewrite_status:ok", "kind: VolumeSnapshot"];
        const at = order.map(s => script.indexOf(s));
        assert.ok(at.every((x, i) => x >= 0 && (i === 0 || x > at[i - 1])), `steps out of order: ${JSON.stringify(at)}`);
        assert.match(script, /volumeSnapshotClassName: csi-hostpath-snapclass/);
        assert.match(script, /persistentVolumeClaimName: data-\$pod/);
        const pod = one(run, "CronJob", "cache-backup").spec.jobTemplate.spec.template.spec;
        assert.deepStrictEqual(pod.initContainers.map((x: KObj) => x.name), ["prepare", "snapshot"]);
        assert.deepStrictEqual(pod.initContainers[1].command, ["/bin/kubectl", "create", "-f", "/work/snapshot.yaml"]);
        assert.match(pod.containers[0].command.join(" "), /kubectl wait --for=jsonpath=\{\.status\.readyToUse\}=true/);
        assert.strictEqual(envMap(pod.initContainers[0]).HEADLESS, "cache-headless.team-a.svc.cluster.local");
        assert.strictEqual(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, "the Redis Secret's files (0440) are readable by the pod's group");
        assert.ok(pod.securityContext.runAsUser >= 10000 && pod.securityContext.runAsGroup >= 10000, "the Job runs as a UID and GID of 10000 or more");
    });

    it("runs as a ServiceAccount that may only create and read VolumeSnapshots", () => {
        assert.deepStrictEqual(one(run, "Role", "cache-backup").rules, [
            { apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: ["create", "get", "list", "watch"] },
        ]);
        assert.deepStrictEqual(one(run, "RoleBinding", "cache-backup").subjects, [{ kind: "ServiceAccount", name: "cache-backup", namespace: "team-a" }]);
    });

    it("takes a schedule", async () => {
        const scheduled = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a" });
            new c.RedisBackup("b", { namespace: "team-a", redis, snapshotClass: "s", schedule: "*/30 * * * *" });
            return {};
        });
        assert.strictEqual(one(scheduled, "CronJob", "b").spec.schedule, "*/30 * * * *");
        assert.strictEqual(one(scheduled, "CronJob", "b").spec.suspend, false);
    });
});

describe("NetworkPolicies for Sentinel, replication and backups", () => {
    const ns = "team-a";
    const pods = (name: string): Endpoint => ({ id: name, namespace: ns, labels: { app: name } });
    const ports: Port[] = [6379, 26379, 443].map(port => ({ port, protocol: "TCP" as const }));

    it("let the API and the backup reach Redis and its Sentinels, Redis pods reach each other, and nothing else", async () => {
        const run = await standalone(() => {
            new c.NetworkPolicies("np", {
                namespace: ns,
                frontend: { podSelector: { app: "web" }, port: 8080 },
                api: { podSelector: { app: "api" }, port: 8080 },
                redis: { podSelector: { app: "redis" }, port: 6379, sentinelPort: 26379, replication: true },
                backup: { podSelector: { app: "backup" }, apiServerCidrs: ["10.96.0.1/32"] },
            });
            return {};
        });
        const endpoints = [pods("web"), pods("api"), pods("redis"), { ...pods("redis"), id: "redis-peer" }, pods("backup"),
            { id: "apiserver", namespace: "", labels: {}, ip: "10.96.0.1" }, { id: "internet", namespace: "", labels: {}, ip: "203.0.113.7" }];
        assert.deepStrictEqual(allowedFlows(ofKind(run, "NetworkPolicy"), endpoints, ports, ns), [
            "api -> redis-peer:26379/TCP", "api -> redis-peer:6379/TCP", "api -> redis:26379/TCP", "api -> redis:6379/TCP",
            "backup -> apiserver:443/TCP",
            "backup -> redis-peer:26379/TCP", "backup -> redis-peer:6379/TCP", "backup -> redis:26379/TCP", "backup -> redis:6379/TCP",
            "redis -> redis-peer:26379/TCP", "redis -> redis-peer:6379/TCP", "redis-peer -> redis:26379/TCP", "redis-peer -> redis:6379/TCP",
        ]);
    });

    it("let the API reach a managed Redis only at its CIDRs and port", async () => {
        const run = await standalone(() => {
            new c.NetworkPolicies("np", {
                namespace: ns,
                frontend: { podSelector: { app: "web" }, port: 8080 },
                api: { podSelector: { app: "api" }, port: 8080 },
                managedRedis: { cidrs: ["10.0.8.0/24"], port: 6380 },
            });
            return {};
        });
        const endpoints = [pods("api"), { id: "tair", namespace: "", labels: {}, ip: "10.0.8.5" }, { id: "internet", namespace: "", labels: {}, ip: "203.0.113.7" }];
        const flows = allowedFlows(ofKind(run, "NetworkPolicy"), endpoints, [6379, 6380].map(port => ({ port, protocol: "TCP" as const })), ns);
        assert.deepStrictEqual(flows, ["api -> tair:6380/TCP"]);
    });
});

describe("every Redis mode in every stack that runs its own", () => {
    const managed = { redisHost: "r-bp1xxxx.redis.rds.aliyuncs.com", redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"] };
    for (const stack of ["dev", "test", "prod"]) {
        for (const mode of ["statefulset", "sentinel", "managed"] as const) {
            it(`${stack} with redisMode ${mode} wires the API to its Redis the way the mode says`, async () => {
                const run = await runStack(stack, { ...redisModeOverrides(stack, mode), ...(mode === "managed" ? managed : {}) });
                const env = envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]);
                const sts = ofKind(run, "StatefulSet").filter(s => s.metadata.name === "redis");
                if (mode === "managed") {
                    assert.deepStrictEqual(sts, [], "no Redis of its own");
                    assert.strictEqual(env.REDIS_ADDR, "r-bp1xxxx.redis.rds.aliyuncs.com:6379");
                    assert.deepStrictEqual(ofKind(run, "CronJob"), [], "the provider backs it up");
                } else {
                    assert.strictEqual(sts[0].spec.replicas, mode === "sentinel" ? 3 : 1);
                    assert.strictEqual(env.REDIS_SENTINEL_ADDRS === undefined, mode === "statefulset");
                    assert.strictEqual(ofKind(run, "CronJob").length, stack === "prod" ? 1 : 0, "backups where the class can snapshot");
                }
            });
        }
    }
});

describe("gray over a prod whose Redis has no Sentinels", () => {
    it("reaches prod's Redis at its address, with no Sentinel settings", async () => {
        // What a prod from before Sentinel mode exports: none of the Sentinel outputs.
        const plain = Object.fromEntries(Object.entries(PROD_OUTPUTS).filter(([k]) => !k.startsWith("redisSentinel") && k !== "redisWaitReplicas"));
        const run = await runStack("gray", {}, { stackOutputs: { ...plain, redisHost: "redis.sample-app-prod.svc.cluster.local" } });
        const env = envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]);
        assert.strictEqual(env.REDIS_ADDR, "redis.sample-app-prod.svc.cluster.local:6379");
        assert.deepStrictEqual(Object.keys(env).filter(k => k.startsWith("REDIS_SENTINEL")), [], "no Sentinels to ask");
        assert.strictEqual(env.REDIS_WAIT_REPLICAS, "0");
        assert.deepStrictEqual(Object.keys(reveal(one(run, "Secret", "redis-auth").stringData)), ["password"]);
        const egress = one(run, "NetworkPolicy", "sample-app-api").spec.egress;
        assert.deepStrictEqual(egress[0].ports, [{ protocol: "TCP", port: 6379 }], "prod's Redis pods on its port, and no Sentinel port");
    });
});

/** A self-signed CA certificate, PEM, made by openssl (as a Tair instance's CA chain is downloaded). */
function testCa(): string {
    return execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "/dev/null",
        "-subj", "/CN=ApsaraDB test CA", "-days", "2"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

describe("prod with a managed Redis over TLS whose certificate a CA of its own signs (redisTlsCa)", () => {
    const managed = { redisHost: "r-bp1xxxx.redis.rds.aliyuncs.com", redisPasswordSecret: "tair-auth", redisCidrs: ["10.0.8.0/24"] };
    const withoutOwnRedis = (o: Record<string, unknown>) => ({ ...redisModeOverrides("prod", "managed"), ...o });

    it("mounts the CAs into the API and exports them for gray", async () => {
        const ca = testCa();
        const run = await runStack("prod", withoutOwnRedis({ ...managed, redisTls: true, redisTlsCa: ca }));
        assert.strictEqual(envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]).REDIS_TLS_CA_FILE, `${c.REDIS_TLS_CA_DIR}/ca.crt`);
        assert.strictEqual(String(run.outputs.redisTlsCa).trim(), ca.trim());
        assert.strictEqual(ofKind(run, "ConfigMap").find(m => m.metadata.name.startsWith("redis-tls-ca-"))?.data["ca.crt"], ca);
    });

    it("refuses redisTlsCa without redisTls, one that is not PEM certificates, and one in a mode that runs its own Redis, before any object", async () => {
        for (const [overrides, message] of [
            [withoutOwnRedis({ ...managed, redisTlsCa: testCa() }), /sample-app:redisTlsCa = "\(PEM\)": is only used with redisTls true/],
            [withoutOwnRedis({ ...managed, redisTls: true, redisTlsCa: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }), /sample-app:redisTlsCa = .*certificate 1 of 1 does not parse as X\.509/],
            [{ redisTlsCa: testCa() }, /sample-app:redisTlsCa/],
        ] as const) {
            const { message: got, registered } = await failStack("prod", overrides);
            assert.match(got, message);
            assert.strictEqual(registered, 0, `${got}: nothing registered`);
        }
    });
});

describe("gray over a prod whose Redis is managed (ApsaraDB for Redis / Tair)", () => {
    /** What a 0.6.0 prod with redisMode managed exports. */
    const managedProd = {
        ...Object.fromEntries(Object.entries(PROD_OUTPUTS).filter(([k]) => !k.startsWith("redisSentinel"))),
        redisMode: "managed", redisHost: "r-bp1xxxx.redis.rds.aliyuncs.com", redisPort: 6380, redisTls: true, redisCidrs: ["10.0.8.0/24"],
        redisPasswordSecret: "", redisWaitReplicas: 0, redisSentinelAddrs: "", redisSentinelMaster: "", redisSentinelPassword: "",
    };

    it("reaches the managed endpoint with TLS and prod's password, its egress going to the endpoint's CIDRs, not prod's pods", async () => {
        const run = await runStack("gray", {}, { stackOutputs: managedProd });
        const env = envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]);
        assert.strictEqual(env.REDIS_ADDR, "r-bp1xxxx.redis.rds.aliyuncs.com:6380");
        assert.strictEqual(env.REDIS_TLS, "true");
        assert.strictEqual(reveal(one(run, "Secret", "redis-auth").stringData).password, MOCK_PASSWORD);
        const flows = allowedFlows(ofKind(run, "NetworkPolicy"), [
            { id: "api", namespace: "sample-app-gray", labels: one(run, "Deployment", "user-api").spec.selector.matchLabels },
            { id: "tair", namespace: "", labels: {}, ip: "10.0.8.5" },
            { id: "prod-redis", namespace: "sample-app-prod", labels: { "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "database" } },
        ], [6379, 6380, 26379].map(port => ({ port, protocol: "TCP" as const })), "sample-app-gray");
        assert.deepStrictEqual(flows, ["api -> tair:6380/TCP"]);
        assert.strictEqual(run.outputs.redisMode, "managed", "gray passes prod's description on");
    });

    it("refuses, before any object, a prod whose password lives in its own Secret unless gray names a Secret of its own", async () => {
        const { message, objects } = await failStackWith("gray", {}, { stackOutputs: { ...managedProd, redisPassword: "", redisPasswordSecret: "tair-auth" } });
        assert.match(message, /sample-app:redisPasswordSecret = "": prod \(organization\/sample-app\/prod\) keeps its managed Redis's password in its Secret tair-auth, which gray's pods cannot mount/);
        assert.strictEqual(objects, 0, "nothing but the StackReference is registered, not even the provider");
        const run = await runStack("gray", { redisPasswordSecret: "tair-auth-gray" }, { stackOutputs: { ...managedProd, redisPassword: "", redisPasswordSecret: "tair-auth" } });
        const auth = (one(run, "Deployment", "user-api").spec.template.spec.volumes as KObj[]).find(v => v.secret);
        assert.strictEqual(auth?.secret.secretName, "tair-auth-gray");
        assert.deepStrictEqual(ofKind(run, "Secret"), [], "gray creates no Secret: it mounts its own");
    });

    it("verifies the managed Redis against the CAs prod was given (redisTlsCa), in a ConfigMap of its own namespace", async () => {
        const ca = testCa();
        const run = await runStack("gray", {}, { stackOutputs: { ...managedProd, redisTlsCa: ca } });
        const [map] = ofKind(run, "ConfigMap").filter(m => m.metadata.name.startsWith("redis-tls-ca-"));
        assert.strictEqual(map?.data["ca.crt"], ca);
        assert.strictEqual(map.metadata.namespace, "sample-app-gray");
        const env = envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]);
        assert.strictEqual(env.REDIS_TLS_CA_FILE, `${c.REDIS_TLS_CA_DIR}/ca.crt`);
        assert.strictEqual(run.outputs.redisTlsCa, ca, "gray passes prod's description on");
        const without = await runStack("gray", {}, { stackOutputs: managedProd });
        assert.ok(!("REDIS_TLS_CA_FILE" in envMap(one(without, "Deployment", "user-api").spec.template.spec.containers[0])), "no CAs: the system roots");
    });

    it("refuses a Secret of gray's own where prod exports its password", async () => {
        const { message } = await failStackWith("gray", { redisPasswordSecret: "tair-auth-gray" }, { stackOutputs: managedProd });
        assert.match(message, /sample-app:redisPasswordSecret = "tair-auth-gray": does nothing in this stack: prod \(organization\/sample-app\/prod\) exports its Redis password/);
    });
});

describe("Redis passwords supplied as secret config instead of generated", () => {
    const supplied = "supplied-redis-password-0123456789";
    const sentinel = "supplied-sentinel-password-0123456";

    for (const mode of ["statefulset", "sentinel"]) {
        it(`dev in redisMode ${mode} with the passwords set registers no RandomPassword, so the random provider is never needed`, async () => {
            const run = await runStack("dev", { redisMode: mode, redisPassword: supplied, ...(mode === "sentinel" ? { redisSentinelPassword: sentinel } : {}) });
            assert.deepStrictEqual(run.resources.filter(r => r.type.startsWith("random:")).map(r => r.name), []);
            const secret = reveal(one(run, "Secret", "redis-auth").stringData);
            assert.strictEqual(secret.password, supplied);
            if (mode === "sentinel") {
                assert.strictEqual(secret["sentinel-password"], sentinel);
            }
            assert.strictEqual(run.outputs.redisPassword, supplied);
            assert.ok(run.secretOutputs.has("redisPassword"), "the supplied password stays a secret output");
            for (const o of run.objects.filter(x => x.kind !== "Secret")) {
                assert.ok(!JSON.stringify(o).includes(supplied), `${o.kind} ${o.metadata.name} holds the password in plain text`);
            }
        });
    }

    it("without them, the random provider generates both, as before", async () => {
        const run = await runStack("test", { redisMode: "sentinel" });
        assert.deepStrictEqual(run.resources.filter(r => r.type.startsWith("random:")).map(r => r.name).sort(), ["redis-password", "redis-sentinel-password"]);
        assert.strictEqual(reveal(one(run, "Secret", "redis-auth").stringData).password, MOCK_PASSWORD);
    });

    it("a supplied Redis password alone still generates the Sentinel password", async () => {
        const run = await runStack("test", { redisMode: "sentinel", redisPassword: supplied });
        assert.deepStrictEqual(run.resources.filter(r => r.type.startsWith("random:")).map(r => r.name), ["redis-sentinel-password"]);
    });

    it("a component user can pass passwords straight to Redis", async () => {
        const run = await standalone(() => {
            const redis = new c.Redis("cache", { namespace: "team-a", password: supplied });
            return { password: redis.password };
        });
        assert.strictEqual(run.outputs.password, supplied);
        assert.ok(run.secretOutputs.has("password"));
        assert.deepStrictEqual(run.resources.filter(r => r.type.startsWith("random:")), []);
    });
});

describe("the VolumeSnapshotClass of the backups", () => {
    it("is created for ACK's disk driver where the stack asks (prod), retained with the snapshots it took", async () => {
        const run = await runStack("prod");
        const cls = one(run, "VolumeSnapshotClass", "alicloud-disk-snapshot");
        assert.strictEqual(cls.driver, "diskplugin.csi.alibabacloud.com");
        assert.strictEqual(cls.deletionPolicy, "Retain", "deleting a VolumeSnapshot, or the namespace, keeps the cloud snapshot");
        assert.strictEqual(cls.metadata.namespace, undefined, "cluster-scoped");
        assert.match(one(run, "CronJob", "redis-backup").spec.jobTemplate.spec.template.spec.initContainers[0].command.join(" "), /prepare/);
        assert.deepStrictEqual(run.resources.filter(r => r.readId !== undefined).map(r => r.readId), [], "nothing to read: the stack owns the class");
    });

    it("is read at preview where the stack does not create it, so a cluster without it fails naming the class", async () => {
        const run = await runStack("prod", { redisCreateSnapshotClass: false });
        assert.deepStrictEqual(ofKind(run, "VolumeSnapshotClass"), []);
        assert.deepStrictEqual(run.resources.filter(r => r.readId !== undefined).map(r => [r.type, r.readId]), [["kubernetes:snapshot.storage.k8s.io/v1:VolumeSnapshotClass", "alicloud-disk-snapshot"]]);
        await assert.rejects(
            runStack("prod", { redisCreateSnapshotClass: false }, { missing: (type, id) => type.endsWith(":VolumeSnapshotClass") && id === "alicloud-disk-snapshot" }),
            /alicloud-disk-snapshot/,
        );
    });

    it("may be read by whoever deploys: the deployer's ClusterRole gets exactly that class", async () => {
        const run = await runStack("prod");
        const reader = one(run, "ClusterRole", "sample-app-prod-namespace-reader");
        assert.deepStrictEqual(reader.rules.at(-1), { apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshotclasses"], resourceNames: ["alicloud-disk-snapshot"], verbs: ["get"] });
    });
});

describe("a Redis the stack runs on another port", () => {
    it("serves, replicates, is reached and is admitted on redisPort", async () => {
        const run = await runStack("dev", { redisPort: 6380 });
        const sts = one(run, "StatefulSet", "redis");
        assert.strictEqual(sts.spec.template.spec.containers[0].ports[0].containerPort, 6380);
        assert.deepStrictEqual(one(run, "Service", "redis").spec.ports.map((p: KObj) => p.port), [6380]);
        assert.match(one(run, "ConfigMap", "redis-config").data["redis.conf"], /^port 6380$/m);
        assert.strictEqual(envMap(one(run, "Deployment", "user-api").spec.template.spec.containers[0]).REDIS_ADDR, "redis.sample-app-dev.svc.cluster.local:6380");
        assert.deepStrictEqual(one(run, "NetworkPolicy", "sample-app-api").spec.egress[0].ports, [{ protocol: "TCP", port: 6380 }]);
        assert.strictEqual(run.outputs.redisPort, 6380, "gray follows prod's port");
    });
});
