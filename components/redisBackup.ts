import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { selectorLabels, standardLabels, WorkloadIdentity } from "./labels";
import { REDIS_PATHS } from "./redisWorkload";
import { checkArgs } from "./errors";
import { ContainerResources, ResolvedResources, resolveResources, resourceRequirements, restrictedContainerSecurityContext, restrictedPodSecurityContext, RunAs } from "./security";

/** What a backup needs to know of the Redis it snapshots (a `Redis` component has all of it). */
export interface RedisBackupTarget {
    /** FQDN of its headless Service. */
    readonly headlessHost: pulumi.Input<string>;
    /** ConfigMap with its scripts (`common.sh` finds the primary). */
    readonly configMapName: pulumi.Input<string>;
    /** Secret with its passwords. */
    readonly passwordSecretName: pulumi.Input<string>;
    /** Image with redis-cli (the Redis image). */
    readonly image: string;
    /** Port of Redis. */
    readonly redisPort: number;
}

export interface RedisBackupArgs {
    /** Namespace of the Redis. Required. */
    readonly namespace: pulumi.Input<string>;
    /** The Redis to back up. Required. */
    readonly redis: RedisBackupTarget;
    /** VolumeSnapshotClass of the CSI driver that provisions the Redis volumes (ACK: `alicloud-disk-snapshot`). Required. */
    readonly snapshotClass: string;
    /**
     * Create the VolumeSnapshotClass `snapshotClass` (cluster-scoped) for this CSI driver, e.g.
     * `diskplugin.csi.alibabacloud.com` on ACK, which ships none, with `deletionPolicy: Retain`: a backup
     * outlives its VolumeSnapshot object, and the namespace. Default: none: the class must exist.
     */
    readonly snapshotClassDriver?: string;
    /** Cron schedule (five fields). Default: none: the CronJob is suspended, for on-demand runs only (`kubectl create job --from=cronjob/<name>`). */
    readonly schedule?: string;
    /** Image with kubectl at `/bin/kubectl` (no shell needed), pinned. Default: `registry.k8s.io/kubectl:v1.33.3`. */
    readonly kubectlImage?: string;
    /** Image pull policy. Default: `IfNotPresent`. */
    readonly imagePullPolicy?: string;
    /** Resources of each container; unset fields keep their default. Default: 50m/64Mi requested, 200m/128Mi limit, local disk 16Mi requested and 128Mi limit (its emptyDirs and up to 50Mi of rotated logs). */
    readonly resources?: ContainerResources;
    /** UID and GID the Job runs as; the GID is also the fsGroup that reads the Redis Secret. Default: `{ user: 10999, group: 10999 }`, as Redis. */
    readonly runAs?: RunAs;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/** `app.kubernetes.io/component` of the backup pods. */
export const BACKUP_COMPONENT = "backup";

export const BACKUP_DEFAULTS = {
    kubectlImage: "registry.k8s.io/kubectl:v1.33.3",
    imagePullPolicy: "IfNotPresent",
    resources: {
        cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "200m", memoryLimit: "128Mi", ephemeralStorageRequest: "16Mi", ephemeralStorageLimit: "128Mi",
    } as ResolvedResources,
    runAs: { user: 10999, group: 10999 },
    /** How long the Job waits for the snapshot to be ready to use. */
    readyTimeout: "15m",
    /**
     * How late a missed run may still start (startingDeadlineSeconds): after an outage of the
     * controller the backup runs once, within an hour of its time, or waits for the next schedule,
     * instead of every missed run being started at once (or none, past 100 misses).
     */
    startingDeadlineSeconds: 3600,
} as const;

const WORK_DIR = "/work";

/**
 * The prepare step: find the primary, have it rewrite its append-only file
 * (BGREWRITEAOF) and wait until the rewrite is done and fsynced, then write
 * the VolumeSnapshot of that pod's data volume, named by the time, for kubectl.
 */
export function backupPrepareScript(snapshotClass: string, labels: Record<string, string>): string {
    const labelLines = Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`);
    return [
        "set -eu",
        // The Redis component's common.sh (components/scripts/common.sh): `named_primary`, the passwords.
        "# shellcheck source=common.sh",
        `. ${REDIS_PATHS.config}/common.sh`,
        // The primary a Sentinel or a Redis names; never a guess (this Job's pod is not one of the StatefulSet's).
        `host="$(named_primary)"`,
        `pod="\${host%%.*}"`,
        `cli() { REDISCLI_AUTH="$(redis_password)" redis-cli -h "$host" -p "$REDIS_PORT" "$@"; }`,
        `echo "snapshotting $pod (the primary): BGREWRITEAOF first"`,
        // An error here means a rewrite is already running: waiting for it does as well.
        `cli bgrewriteaof || true`,
        `i=0`,
        `until cli info persistence | grep -q '^aof_rewrite_in_progress:0' && cli info persistence | grep -q '^aof_rewrite_scheduled:0'; do`,
        `  i=$((i + 1)); [ "$i" -lt 600 ] || { echo "the AOF rewrite did not finish in 10 minutes" >&2; exit 1; }`,
        `  sleep 1`,
        `done`,
        `cli info persistence | grep -q '^aof_last_bgrewrite_status:ok' || { echo "the AOF rewrite failed" >&2; exit 1; }`,
        `name="data-$pod-$(date -u +%Y%m%d-%H%M%S)"`,
        `cat > ${WORK_DIR}/snapshot.yaml <<EOF`,
        "apiVersion: snapshot.storage.k8s.io/v1",
        "kind: VolumeSnapshot",
        "metadata:",
        "  name: $name",
        "  labels:",
        ...labelLines,
        `    sample-app.dev/redis-pod: "$pod"`,
        "spec:",
        `  volumeSnapshotClassName: ${snapshotClass}`,
        "  source:",
        "    persistentVolumeClaimName: data-$pod",
        "EOF",
        `echo "VolumeSnapshot $name of PVC data-$pod"`,
        "",
    ].join("\n");
}

/**
 * Backups of a Redis as CSI VolumeSnapshots: a CronJob (suspended without a
 * schedule, so it only runs on demand) whose pod makes the primary rewrite
 * its AOF, then creates a VolumeSnapshot of the primary's data volume and
 * waits until it is ready to use. It runs as a ServiceAccount that may only
 * create and read VolumeSnapshots in the namespace.
 */
export class RedisBackup extends pulumi.ComponentResource {
    /** Name of the CronJob. */
    public readonly cronJobName: pulumi.Output<string>;
    /** Selector labels of the backup pods (for NetworkPolicies). */
    public readonly podSelector: Record<string, string>;

    constructor(name: string, args: RedisBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("RedisBackup"), name, {}, componentOptions("RedisBackup", opts));
        const instance = args.instance ?? pulumi.getStack();
        const id: WorkloadIdentity = { name, component: BACKUP_COMPONENT, instance, env: args.env ?? instance, tier: "data" };
        const labels = standardLabels(id);
        const selector = selectorLabels(id);
        const ns = args.namespace;
        const metadata = { name, namespace: ns, labels };
        const runAs = args.runAs ?? BACKUP_DEFAULTS.runAs;
        const resources = resourceRequirements(checkArgs(this, () => resolveResources(BACKUP_DEFAULTS.resources, args.resources)));
        const pullPolicy = args.imagePullPolicy ?? BACKUP_DEFAULTS.imagePullPolicy;
        const kubectlImage = args.kubectlImage ?? BACKUP_DEFAULTS.kubectlImage;

        const sa = new k8s.core.v1.ServiceAccount(name, { metadata, automountServiceAccountToken: false }, { parent: this });
        const role = new k8s.rbac.v1.Role(name, {
            metadata,
            rules: [{ apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: ["create", "get", "list", "watch"] }],
        }, { parent: this });
        new k8s.rbac.v1.RoleBinding(name, {
            metadata,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
            subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: ns }],
        }, { parent: this });

        if (args.snapshotClassDriver !== undefined) {
            new k8s.apiextensions.CustomResource(`${name}-snapshot-class`, {
                apiVersion: "snapshot.storage.k8s.io/v1",
                kind: "VolumeSnapshotClass",
                metadata: { name: args.snapshotClass, labels },
                driver: args.snapshotClassDriver,
                // Deleting a VolumeSnapshot (or its namespace) keeps the cloud snapshot: a backup is removed on purpose only.
                deletionPolicy: "Retain",
            }, { parent: this });
        }

        const script = backupPrepareScript(args.snapshotClass, labels);
        const config = new k8s.core.v1.ConfigMap(name, { metadata, data: { "prepare.sh": script } }, { parent: this });

        const work = { name: "work", mountPath: WORK_DIR };
        const tmp = { name: "tmp", mountPath: "/tmp" };
        const kubectl = (containerName: string, command: string[]): k8s.types.input.core.v1.Container => ({
            name: containerName,
            image: kubectlImage,
            imagePullPolicy: pullPolicy,
            command,
            // kubectl keeps its discovery cache under $HOME; the root filesystem is read-only.
            env: [{ name: "HOME", value: "/tmp" }],
            resources,
            securityContext: restrictedContainerSecurityContext(),
            volumeMounts: [work, tmp],
        });
        // kubectl's image has no shell; its own version check stands in for a probe of a one-shot container,
        // the same for liveness and readiness: nothing routes to a Job's pod, so readiness gates nothing here.
        const alive = { exec: { command: ["/bin/kubectl", "version", "--client=true"] }, periodSeconds: 30, timeoutSeconds: 5 };
        const cron = new k8s.batch.v1.CronJob(name, {
            metadata,
            spec: {
                schedule: args.schedule ?? "0 3 * * *",
                suspend: args.schedule === undefined,
                concurrencyPolicy: "Forbid",
                startingDeadlineSeconds: BACKUP_DEFAULTS.startingDeadlineSeconds,
                successfulJobsHistoryLimit: 3,
                failedJobsHistoryLimit: 3,
                jobTemplate: {
                    metadata: { labels },
                    spec: {
                        backoffLimit: 2,
                        activeDeadlineSeconds: 3600,
                        ttlSecondsAfterFinished: 7 * 24 * 3600,
                        template: {
                            metadata: { labels },
                            spec: {
                                serviceAccountName: sa.metadata.name,
                                // kubectl needs the token; the Role limits it to VolumeSnapshots.
                                automountServiceAccountToken: true,
                                enableServiceLinks: false,
                                restartPolicy: "Never",
                                // fsGroup: the mounted Redis Secret (mode 0440) is readable by the group.
                                securityContext: restrictedPodSecurityContext(runAs.user, runAs.group, runAs.group),
                                initContainers: [
                                    {
                                        name: "prepare",
                                        image: args.redis.image,
                                        imagePullPolicy: pullPolicy,
                                        command: ["sh", "/scripts/prepare.sh"],
                                        env: [
                                            { name: "POD_NAME", value: name },
                                            { name: "HEADLESS", value: args.redis.headlessHost },
                                            { name: "REDIS_PORT", value: String(args.redis.redisPort) },
                                        ],
                                        resources,
                                        securityContext: restrictedContainerSecurityContext(),
                                        volumeMounts: [
                                            { name: "scripts", mountPath: "/scripts", readOnly: true },
                                            { name: "redis-config", mountPath: REDIS_PATHS.config, readOnly: true },
                                            { name: "redis-auth", mountPath: REDIS_PATHS.auth, readOnly: true },
                                            work,
                                            tmp,
                                        ],
                                    },
                                    kubectl("snapshot", ["/bin/kubectl", "create", "-f", `${WORK_DIR}/snapshot.yaml`]),
                                ],
                                containers: [{
                                    ...kubectl("wait-ready", [
                                        "/bin/kubectl", "wait", "--for=jsonpath={.status.readyToUse}=true",
                                        `--timeout=${BACKUP_DEFAULTS.readyTimeout}`, "-f", `${WORK_DIR}/snapshot.yaml`,
                                    ]),
                                    livenessProbe: alive,
                                    readinessProbe: alive,
                                }],
                                volumes: [
                                    { name: "scripts", configMap: { name: config.metadata.name, defaultMode: 0o444 } },
                                    { name: "redis-config", configMap: { name: args.redis.configMapName, defaultMode: 0o444 } },
                                    { name: "redis-auth", secret: { secretName: args.redis.passwordSecretName, defaultMode: 0o440 } },
                                    { name: "work", emptyDir: { sizeLimit: "1Mi" } },
                                    { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                                ],
                            },
                        },
                    },
                },
            },
        }, { parent: this });

        this.cronJobName = cron.metadata.name;
        this.podSelector = selector;
        this.registerOutputs({ cronJobName: this.cronJobName });
    }
}
