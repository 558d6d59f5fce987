/**
 * Each policy on a passing and a failing resource, checking the message. The
 * failing resources are the fixtures with one thing broken.
 */
import * as assert from "assert";
import {
    allowedStorageClasses,
    containerProbes,
    containerResources,
    DEFAULT_ALLOWED_STORAGE_CLASSES,
    highUidGid,
    hpaDeploymentWithoutReplicas,
    httpRouteScope,
    imageDigests,
    ingressClass,
    noExternalServices,
    noSecretsInConfigMaps,
    noSecretsInEnv,
    pinnedImageTags,
    restrictedSecurityContext,
} from "../policies";
import { configMap, container, deployment, hpa, podSpec, service, statefulSet } from "./fixtures";
import { clone, kube, validate, validateStack } from "./helpers";

/** Asserts exactly one message, matching every pattern. */
function assertOne(messages: string[], ...patterns: RegExp[]): void {
    assert.strictEqual(messages.length, 1, `expected one violation, got ${JSON.stringify(messages)}`);
    for (const p of patterns) {
        assert.match(messages[0], p);
    }
}

describe("policy container-resources", () => {
    it("passes a container with CPU and memory requests and limits", async () => {
        assert.deepStrictEqual(await validate(containerResources, deployment()), []);
    });

    it("names the container and every missing field", async () => {
        const c = container();
        delete c.resources.limits.memory;
        delete c.resources.requests;
        assertOne(await validate(containerResources, deployment("user-api", podSpec([c]))),
            /^Deployment "user-api": container "api" has no /, /resources\.requests\.cpu, resources\.requests\.memory, resources\.limits\.memory;/);
    });

    it("checks init containers too", async () => {
        const spec = podSpec();
        spec.initContainers = [{ ...container("migrate"), resources: undefined }];
        assertOne(await validate(containerResources, deployment("user-api", spec)), /init container "migrate" has no resources\.requests\.cpu/);
    });

    it("finds containers in every workload kind (CronJob's job template too)", async () => {
        const bare = { name: "job", image: "busybox:1.36" };
        const cron = kube("batch/v1", "CronJob", {
            metadata: { name: "nightly" },
            spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec: podSpec([bare]) } } } },
        });
        assertOne(await validate(containerResources, cron), /^CronJob "nightly": container "job"/);
        assertOne(await validate(containerResources, kube("v1", "Pod", { metadata: { name: "p" }, spec: podSpec([bare]) })), /^Pod "p"/);
    });

    it("ignores objects without pods", async () => {
        assert.deepStrictEqual(await validate(containerResources, service()), []);
        assert.deepStrictEqual(await validate(containerResources, { type: "random:index/randomPassword:RandomPassword", name: "pw", props: {} }), []);
    });
});

describe("policy container-probes", () => {
    it("passes a container with liveness and readiness probes", async () => {
        assert.deepStrictEqual(await validate(containerProbes, deployment()), []);
    });

    it("reports each missing probe", async () => {
        const c = container();
        delete c.livenessProbe;
        delete c.readinessProbe;
        assertOne(await validate(containerProbes, deployment("user-api", podSpec([c]))),
            /^Deployment "user-api": container "api" has no livenessProbe and readinessProbe\.$/);
    });

    it("does not ask init containers for probes (Kubernetes rejects them there)", async () => {
        const spec = podSpec();
        spec.initContainers = [{ name: "migrate", image: "busybox:1.36" }];
        assert.deepStrictEqual(await validate(containerProbes, deployment("user-api", spec)), []);
    });
});

describe("policy restricted-security-context", () => {
    it("passes the restricted context, with runAsNonRoot and seccomp at pod level", async () => {
        assert.deepStrictEqual(await validate(restrictedSecurityContext, deployment()), []);
        const c = container();
        delete c.securityContext.runAsNonRoot;
        delete c.securityContext.seccompProfile;
        assert.deepStrictEqual(await validate(restrictedSecurityContext, deployment("user-api", podSpec([c]))), []);
    });

    it("lists every deviation of a container", async () => {
        const c = container();
        c.securityContext = { allowPrivilegeEscalation: true, capabilities: { add: ["NET_ADMIN"] }, privileged: true };
        const spec = podSpec([c]);
        delete spec.securityContext;
        assertOne(await validate(restrictedSecurityContext, deployment("user-api", spec)),
            /^Deployment "user-api": container "api" is not restricted: /,
            /runAsNonRoot is not true/, /allowPrivilegeEscalation is not false/, /privileged is true/,
            /capabilities\.drop does not contain ALL/, /capabilities\.add has NET_ADMIN/,
            /seccompProfile\.type is unset/, /readOnlyRootFilesystem is not true/);
    });

    it("lets a container override the pod (and catches root and Unconfined)", async () => {
        const c = container();
        c.securityContext.runAsNonRoot = false;
        c.securityContext.runAsUser = 0;
        c.securityContext.seccompProfile = { type: "Unconfined" };
        assertOne(await validate(restrictedSecurityContext, deployment("user-api", podSpec([c]))),
            /runAsNonRoot is not true/, /runAsUser is 0/, /seccompProfile\.type is "Unconfined"/);
    });

    it("allows NET_BIND_SERVICE, the one capability restricted permits", async () => {
        const c = container();
        c.securityContext.capabilities.add = ["NET_BIND_SERVICE"];
        assert.deepStrictEqual(await validate(restrictedSecurityContext, deployment("user-api", podSpec([c]))), []);
    });
});

describe("policy high-uid-gid", () => {
    it("passes a pod that runs as UID and GID 10000 or more, at pod level or per container", async () => {
        assert.deepStrictEqual(await validate(highUidGid, deployment()), []);
        const c = container();
        Object.assign(c.securityContext, { runAsUser: 10000, runAsGroup: 10000 });
        const spec = podSpec([c]);
        spec.securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
        assert.deepStrictEqual(await validate(highUidGid, deployment("user-api", spec)), []);
    });

    it("refuses nginx's 101 and redis's 999, a low fsGroup and a low supplemental group, naming each", async () => {
        const spec = podSpec([container("nginx"), { ...container("sentinel"), securityContext: { ...container().securityContext, runAsUser: 999, runAsGroup: 1000 } }]);
        Object.assign(spec.securityContext, { runAsUser: 101, runAsGroup: 101, fsGroup: 101, supplementalGroups: [10001, 4] });
        const messages = await validate(highUidGid, deployment("frontend", spec));
        assert.strictEqual(messages.length, 2, JSON.stringify(messages));
        assert.match(messages[0], /^Deployment "frontend": container "nginx" does not run as a UID and GID of 10000 or more: runAsUser is 101; runAsGroup is 101; the pod's fsGroup is 101; the pod's supplementalGroups has 4\.$/);
        assert.match(messages[1], /container "sentinel" .*: runAsUser is 999; runAsGroup is 1000;/);
    });

    it("refuses a container that sets no runAsUser or runAsGroup, since the image's own user would apply", async () => {
        const spec = podSpec();
        delete spec.securityContext.runAsGroup;
        assertOne(await validate(highUidGid, deployment("user-api", spec)), /runAsGroup is unset \(pod or container\), so the image's own user or group applies\.$/);
        delete spec.securityContext.runAsUser;
        assertOne(await validate(highUidGid, deployment("user-api", spec)), /runAsUser is unset .*; runAsGroup is unset/);
    });

    it("checks init containers and the pods of a CronJob's jobs", async () => {
        const spec = podSpec();
        spec.initContainers = [{ ...container("prepare"), securityContext: { ...container().securityContext, runAsUser: 999 } }];
        const cron = kube("batch/v1", "CronJob", { metadata: { name: "redis-backup" }, spec: { schedule: "@daily", jobTemplate: { spec: { template: { spec } } } } });
        assertOne(await validate(highUidGid, cron), /^CronJob "redis-backup": init container "prepare" .*: runAsUser is 999\.$/);
    });
});

describe("policy pinned-image-tags", () => {
    it("passes version tags, registry ports and digests", async () => {
        for (const image of ["redis:7.4.2-alpine", "localhost:5000/sample-app/api:0.1.0", `nginx@sha256:${"a".repeat(64)}`]) {
            assert.deepStrictEqual(await validate(pinnedImageTags, deployment("web", podSpec([container("web", image)]))), [], image);
        }
    });

    it("rejects :latest, untagged images (also behind a registry port) and a missing image", async () => {
        const cases: [string | undefined, RegExp][] = [
            ["sample-app/api:latest", /image "sample-app\/api:latest" uses the tag latest; pin a version tag or a digest\.$/],
            ["redis", /image "redis" has no tag \(it means :latest\)/],
            ["localhost:5000/sample-app/api", /image "localhost:5000\/sample-app\/api" has no tag/],
            [undefined, /image "" has no image/],
        ];
        for (const [image, pattern] of cases) {
            assertOne(await validate(pinnedImageTags, deployment("web", podSpec([{ ...container("web"), image }]))),
                /^Deployment "web": container "web" /, pattern);
        }
    });
});

describe("policy no-external-services", () => {
    it("passes ClusterIP and headless Services", async () => {
        assert.deepStrictEqual(await validate(noExternalServices, service("ClusterIP")), []);
        assert.deepStrictEqual(await validate(noExternalServices, kube("v1", "Service", { metadata: { name: "h" }, spec: { clusterIP: "None" } })), []);
    });

    it("rejects LoadBalancer and NodePort", async () => {
        assertOne(await validate(noExternalServices, service("LoadBalancer")),
            /^Service "frontend" is of type LoadBalancer: expose it through the Gateway or the Ingress, or allow it in the policy config/);
        assertOne(await validate(noExternalServices, service("NodePort")), /is of type NodePort/);
    });

    it("allows what the config names: a Service by name or namespace/name, or a whole type", async () => {
        assert.deepStrictEqual(await validate(noExternalServices, service("LoadBalancer"), { allowedServices: ["frontend"] }), []);
        assert.deepStrictEqual(await validate(noExternalServices, service("LoadBalancer"), { allowedServices: ["sample-app-test/frontend"] }), []);
        assert.deepStrictEqual(await validate(noExternalServices, service("NodePort"), { allowedTypes: ["NodePort"] }), []);
        assert.strictEqual((await validate(noExternalServices, service("LoadBalancer"), { allowedServices: ["other/frontend"], allowedTypes: ["NodePort"] })).length, 1);
    });
});

describe("policy allowed-storage-classes", () => {
    it("passes a volume claim template on an allowed class", async () => {
        assert.deepStrictEqual(await validate(allowedStorageClasses, statefulSet("standard")), []);
        assert.deepStrictEqual(await validate(allowedStorageClasses, statefulSet("alicloud-disk-essd"), { allowedStorageClasses: ["alicloud-disk-essd"] }), []);
    });

    it("rejects a class outside the config, naming the allowed ones", async () => {
        assertOne(await validate(allowedStorageClasses, statefulSet("standard"), { allowedStorageClasses: ["alicloud-disk-essd"] }),
            /^StatefulSet "redis" volumeClaimTemplate "data" uses storage class "standard", which the cluster profile does not allow; allowed: alicloud-disk-essd\.$/);
    });

    it("defaults to every class of every profile", async () => {
        assertOne(await validate(allowedStorageClasses, statefulSet("gp2")), new RegExp(`allowed: ${DEFAULT_ALLOWED_STORAGE_CLASSES.join(", ")}\\.$`));
    });

    it("rejects a claim that names no class, and checks plain PersistentVolumeClaims", async () => {
        assertOne(await validate(allowedStorageClasses, statefulSet(null)), /volumeClaimTemplate "data" names no storageClassName/);
        const pvc = (cls?: string) => kube("v1", "PersistentVolumeClaim", { metadata: { name: "data" }, spec: { storageClassName: cls } });
        assertOne(await validate(allowedStorageClasses, pvc("")), /^PersistentVolumeClaim "data" names no storageClassName/);
        assert.deepStrictEqual(await validate(allowedStorageClasses, pvc("standard")), []);
    });
});

describe("policy no-secrets-in-configmaps", () => {
    it("passes configuration without credentials (the real redis.conf includes the password from a mounted Secret)", async () => {
        const conf = "port 6379\nappendonly yes\ninclude /etc/redis/auth/auth.conf\n";
        const nginx = "server_tokens off;\nproxy_set_header X-Request-Id $req_id;\n";
        assert.deepStrictEqual(await validate(noSecretsInConfigMaps, configMap({
            "redis.conf": conf, "nginx.conf": nginx, "password-file": "", "public-key": "ssh-ed25519 AAAA", "db-password": "${DB_PASSWORD}",
        })), []);
    });

    it("rejects a key named like a credential that has a value, without echoing the value", async () => {
        for (const key of ["password", "db_password", "apiKey", "API_TOKEN", "client-secret", "tls.key"]) {
            const messages = await validate(noSecretsInConfigMaps, configMap({ [key]: "hunter2-value" }));
            assertOne(messages, new RegExp(`^ConfigMap "app-config": key "${key.replace(".", "\\.")}" looks like a credential \\(its key name`), /keep credentials in a Secret\.$/);
            assert.doesNotMatch(messages[0], /hunter2/);
        }
    });

    it("rejects credentials inside a file: requirepass, assignments, private keys, URLs with passwords", async () => {
        const cases: [string, RegExp][] = [
            ["port 6379\nrequirepass s3cr3t-pass\n", /a Redis password \(requirepass\/masterauth\)/],
            ["masterauth \"abc123\"", /a Redis password/],
            ["[db]\nhost = db\npassword = hunter2\n", /a credential assignment/],
            ["{\"apiKey\": \"AIzaSy-123\"}", /a credential assignment/],
            ["-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n", /a PEM private key/],
            ["REDIS_URL=redis://:hunter2@redis:6379/0", /a URL with an inline password/],
        ];
        for (const [content, pattern] of cases) {
            const messages = await validate(noSecretsInConfigMaps, configMap({ "app.conf": content }));
            assertOne(messages, /^ConfigMap "app-config": key "app\.conf" looks like a credential \(its value contains /, pattern);
            assert.doesNotMatch(messages[0], /hunter2|s3cr3t|abc123|AIzaSy/);
        }
    });

    it("decodes binaryData", async () => {
        const cm = kube("v1", "ConfigMap", { metadata: { name: "bin" }, binaryData: { "app.conf": Buffer.from("requirepass x1y2z3\n").toString("base64") } });
        assertOne(await validate(noSecretsInConfigMaps, cm), /key "app\.conf" looks like a credential/);
    });
});

describe("policy ingress-class", () => {
    const ingress = (spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
        kube("networking.k8s.io/v1", "Ingress", { metadata: { name: "sample-app", annotations }, spec: { rules: [{ host: "a.example.com" }], ...spec } });

    it("passes an Ingress with spec.ingressClassName", async () => {
        assert.deepStrictEqual(await validate(ingressClass, ingress({ ingressClassName: "nginx" })), []);
    });

    it("rejects an Ingress without one, even with the deprecated annotation", async () => {
        assertOne(await validate(ingressClass, ingress({})), /^Ingress "sample-app" has no spec\.ingressClassName; name the ingress class/);
        assertOne(await validate(ingressClass, ingress({}, { "kubernetes.io/ingress.class": "nginx" })), /deprecated/);
    });
});

describe("policy httproute-scope", () => {
    const route = (spec: Record<string, unknown>) =>
        kube("gateway.networking.k8s.io/v1", "HTTPRoute", { metadata: { name: "sample-app" }, spec: { rules: [], ...spec } });
    const parentRefs = [{ name: "public-alb", namespace: "gateway-system" }];

    it("passes an HTTPRoute attached to a named Gateway for an exact host", async () => {
        assert.deepStrictEqual(await validate(httpRouteScope, route({ parentRefs, hostnames: ["a.example.com"] })), []);
    });

    it("rejects an HTTPRoute without a parent Gateway, without hostnames, or with a wildcard hostname", async () => {
        assertOne(await validate(httpRouteScope, route({ hostnames: ["a.example.com"] })), /^HTTPRoute "sample-app" names no parent Gateway in spec\.parentRefs/);
        assertOne(await validate(httpRouteScope, route({ parentRefs })), /^HTTPRoute "sample-app" has no spec\.hostnames, so it takes every host of its Gateway/);
        assertOne(await validate(httpRouteScope, route({ parentRefs, hostnames: ["*.example.com"] })), /has a wildcard hostname \(\*\.example\.com\)/);
    });

    it("leaves other kinds alone", async () => {
        assert.deepStrictEqual(await validate(httpRouteScope, kube("networking.k8s.io/v1", "Ingress", { metadata: { name: "x" }, spec: {} })), []);
    });
});

describe("policy hpa-deployment-without-replicas (stack)", () => {
    it("passes a Deployment the HPA owns, and a Deployment with replicas and no HPA", async () => {
        assert.deepStrictEqual(await validateStack(hpaDeploymentWithoutReplicas, [deployment("user-api"), hpa("user-api")]), []);
        assert.deepStrictEqual(await validateStack(hpaDeploymentWithoutReplicas, [deployment("frontend", podSpec(), { replicas: 2 }), hpa("user-api")]), []);
    });

    it("rejects spec.replicas on an autoscaled Deployment, reported on the Deployment's URN", async () => {
        const d = deployment("user-api", podSpec(), { replicas: 2 });
        const v = await validateStack(hpaDeploymentWithoutReplicas, [d, hpa("user-api")]);
        assert.strictEqual(v.length, 1);
        assert.match(v[0].message, /^Deployment "user-api" sets spec\.replicas = 2 but HorizontalPodAutoscaler "user-api" scales it; remove spec\.replicas/);
        assert.strictEqual(v[0].urn, "urn:pulumi:test::sample-app::kubernetes:apps/v1:Deployment::user-api");
    });

    it("matches by namespace", async () => {
        const d = deployment("user-api", podSpec(), { replicas: 2 });
        assert.deepStrictEqual(await validateStack(hpaDeploymentWithoutReplicas, [d, hpa("user-api", "elsewhere")]), []);
    });

    it("on a live Deployment, blames only replicas Pulumi applied (managedFields), not the autoscaler's", async () => {
        const live = (manager: string) => {
            const d = clone(deployment("user-api", podSpec(), { replicas: 3 }));
            d.props.metadata.managedFields = [
                { manager: "pulumi-kubernetes-abc123", operation: "Apply", fieldsV1: { "f:spec": { "f:template": {} } } },
                { manager, operation: "Update", fieldsV1: { "f:spec": { "f:replicas": {} } } },
            ];
            return d;
        };
        assert.deepStrictEqual(await validateStack(hpaDeploymentWithoutReplicas, [live("kube-controller-manager"), hpa("user-api")]), []);
        assert.strictEqual((await validateStack(hpaDeploymentWithoutReplicas, [live("pulumi-kubernetes-abc123"), hpa("user-api")])).length, 1);
    });

    it("does not fail on values unknown during a preview", async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { unknownStringValue, unknownObjectValue } = require("@pulumi/policy/proxy");
        const d = deployment("user-api", podSpec(), { replicas: 2 });
        d.props.metadata.namespace = unknownStringValue;
        d.props.metadata.managedFields = unknownObjectValue;
        const h = hpa("user-api");
        h.props.metadata.namespace = unknownStringValue;
        assert.deepStrictEqual(await validateStack(hpaDeploymentWithoutReplicas, [d, h]), []);
        delete d.props.metadata.managedFields;
        assert.strictEqual((await validateStack(hpaDeploymentWithoutReplicas, [d, h])).length, 1);
    });
});

describe("policy no-secrets-in-env", () => {
    it("passes a container that reads its Secret from a mounted file", async () => {
        const c = container();
        c.env = [{ name: "REDIS_PASSWORD_FILE", value: "/etc/sample-app/redis/password" }, { name: "LOG_LEVEL", value: "info" }];
        c.volumeMounts = [{ name: "redis-auth", mountPath: "/etc/sample-app/redis", readOnly: true }];
        const spec = podSpec([c]);
        spec.volumes = [{ name: "redis-auth", secret: { secretName: "redis-auth" } }];
        assert.deepStrictEqual(await validate(noSecretsInEnv, deployment("user-api", spec)), []);
    });

    it("names every env and envFrom entry that takes a Secret, in containers and init containers", async () => {
        const c = container();
        c.env = [
            { name: "REDIS_PASSWORD", valueFrom: { secretKeyRef: { name: "redis-auth", key: "password" } } },
            { name: "GOMEMLIMIT", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
        ];
        c.envFrom = [{ configMapRef: { name: "settings" } }, { secretRef: { name: "tokens" } }];
        assertOne(await validate(noSecretsInEnv, deployment("user-api", podSpec([c]))),
            /^Deployment "user-api": container "api" gets a Secret through its environment: env REDIS_PASSWORD \(Secret "redis-auth"\), envFrom Secret "tokens"; mount the Secret/);
        const spec = podSpec();
        spec.initContainers = [{ ...container("migrate"), envFrom: [{ secretRef: { name: "db" } }] }];
        assertOne(await validate(noSecretsInEnv, statefulSetWith(spec)), /init container "migrate" gets a Secret .*envFrom Secret "db"/);
    });
});

function statefulSetWith(spec: ReturnType<typeof podSpec>) {
    const sts = statefulSet();
    sts.props.spec.template.spec = spec;
    return sts;
}

describe("policy image-digests", () => {
    const DIGEST = "sha256:" + "a84fa9f6f913885e".repeat(4);
    const withImage = (image: string) => deployment("user-api", podSpec([container("api", image)]));

    it("is off unless the profile's config requires digests", async () => {
        assert.deepStrictEqual(await validate(imageDigests, withImage("registry.example.com/sample-app-api:0.1.0")), []);
        assert.deepStrictEqual(await validate(imageDigests, withImage("registry.example.com/sample-app-api:0.1.0"), { requireDigest: false }), []);
    });

    it("passes images pinned by digest, with or without a tag", async () => {
        for (const image of [`registry.example.com/sample-app-api:0.1.0@${DIGEST}`, `registry.example.com/redis@${DIGEST}`]) {
            assert.deepStrictEqual(await validate(imageDigests, withImage(image), { requireDigest: true }), [], image);
        }
    });

    it("names a container whose image is pinned by tag only, in containers and init containers", async () => {
        assertOne(await validate(imageDigests, withImage("registry.example.com/sample-app-api:0.1.0"), { requireDigest: true }),
            /^Deployment "user-api": container "api" image "registry\.example\.com\/sample-app-api:0\.1\.0" is not pinned by digest; this cluster profile runs images by digest only/);
        const spec = podSpec([container("api", `r.example.com/a:1@${DIGEST}`)]);
        spec.initContainers = [container("migrate", "r.example.com/migrate:1")];
        assertOne(await validate(imageDigests, deployment("user-api", spec), { requireDigest: true }), /init container "migrate" image .* is not pinned by digest/);
    });
});
