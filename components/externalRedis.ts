import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentOptions, componentType } from "./typeToken";
import { standardLabels } from "./labels";
import { RedisConnection } from "./redis";

/** A Secret that already holds the password, in the clients' namespace. */
export interface ExistingSecretKey {
    /** Name of the Secret. */
    readonly name: pulumi.Input<string>;
    /** Key of the password in it. Default: `password`. */
    readonly key?: pulumi.Input<string>;
}

export interface ExternalRedisArgs {
    /** Namespace of the clients; the password Secret is created there. Required. */
    readonly namespace: pulumi.Input<string>;
    /** DNS name (or IP) of the Redis: another stack's client Service, or a managed Redis endpoint. Required. */
    readonly host: pulumi.Input<string>;
    /** TCP port. Default: 6379. */
    readonly port?: pulumi.Input<number>;
    /** Password of that Redis; kept a Pulumi secret and copied into a new Secret. Set exactly one of this and `passwordSecret`. */
    readonly password?: pulumi.Input<string>;
    /** A Secret the cluster already has (e.g. synced from a vault); nothing is created. Set exactly one of this and `password`. */
    readonly passwordSecret?: ExistingSecretKey;
    /** Sentinels of that Redis (`host:port,...`); `""` for none. Default: none. */
    readonly sentinelAddrs?: pulumi.Input<string>;
    /** Name the Sentinels monitor the primary by. Default: `mymaster`. */
    readonly sentinelMaster?: pulumi.Input<string>;
    /** Password of the Sentinels (with `password`, kept a Pulumi secret and copied into the same Secret). Default: none. */
    readonly sentinelPassword?: pulumi.Input<string>;
    /** TLS to the Redis (managed Redis usually offers it). Default: false. */
    readonly tls?: pulumi.Input<boolean>;
    /** Replicas that must confirm each write (Redis WAIT). Default: 0. */
    readonly waitReplicas?: pulumi.Input<number>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/**
 * A Redis this stack does not run: another stack's (gray uses prod's) or a
 * managed one (ApsaraDB for Redis / Tair). Copies its password into a Secret
 * in this namespace, or names an existing one, so workloads reference it the
 * same way they reference a Redis of their own.
 */
export class ExternalRedis extends pulumi.ComponentResource implements RedisConnection {
    /** DNS name (or IP) of the Redis, as given. */
    public readonly host: pulumi.Output<string>;
    /** Its TCP port. */
    public readonly port: pulumi.Output<number>;
    /** The password, when given (a Pulumi secret); `""` with `passwordSecret`. */
    public readonly password: pulumi.Output<string>;
    /** Name of the Secret, in the clients' namespace, that holds the password. */
    public readonly passwordSecretName: pulumi.Output<string>;
    /** Key of the password in that Secret. */
    public readonly passwordSecretKey: pulumi.Output<string>;
    /** Sentinel addresses (`host:port,...`), as given; undefined without `sentinelAddrs`. */
    public readonly sentinelAddrs?: pulumi.Output<string>;
    /** Name the Sentinels monitor the primary by; undefined without `sentinelAddrs`. */
    public readonly sentinelMaster?: pulumi.Output<string>;
    /** Key of the Sentinel password in the Secret; undefined without a `sentinelPassword`. */
    public readonly sentinelPasswordSecretKey?: pulumi.Output<string>;
    /** TLS to the Redis. */
    public readonly tls: pulumi.Output<boolean>;
    /** Replicas that must confirm each write. */
    public readonly waitReplicas: pulumi.Output<number>;

    constructor(name: string, args: ExternalRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("ExternalRedis"), name, {}, componentOptions("ExternalRedis", opts));
        if ((args.password === undefined) === (args.passwordSecret === undefined)) {
            throw new pulumi.ResourceError(`ExternalRedis ${name}: set exactly one of password and passwordSecret`, this);
        }
        const instance = args.instance ?? pulumi.getStack();
        const labels = standardLabels({ name, component: "database", instance, env: args.env ?? instance, tier: "data" });
        this.password = pulumi.secret(args.password ?? "");
        if (args.passwordSecret) {
            this.passwordSecretName = pulumi.output(args.passwordSecret.name);
            this.passwordSecretKey = pulumi.output(args.passwordSecret.key ?? "password");
        } else {
            const secret = new k8s.core.v1.Secret(`${name}-auth`, {
                metadata: { name: `${name}-auth`, namespace: args.namespace, labels },
                type: "Opaque",
                stringData: {
                    password: this.password,
                    ...(args.sentinelPassword !== undefined ? { "sentinel-password": pulumi.secret(args.sentinelPassword) } : {}),
                },
            }, { parent: this, additionalSecretOutputs: ["stringData", "data"] });
            this.passwordSecretName = secret.metadata.name;
            this.passwordSecretKey = pulumi.output("password");
        }
        this.host = pulumi.output(args.host);
        this.port = pulumi.output(args.port ?? 6379);
        if (args.sentinelAddrs !== undefined) {
            this.sentinelAddrs = pulumi.output(args.sentinelAddrs);
            this.sentinelMaster = pulumi.output(args.sentinelMaster ?? "mymaster");
            this.sentinelPasswordSecretKey = args.sentinelPassword !== undefined ? pulumi.output("sentinel-password") : undefined;
        }
        this.tls = pulumi.output(args.tls ?? false);
        this.waitReplicas = pulumi.output(args.waitReplicas ?? 0);
        this.registerOutputs({ host: this.host, port: this.port, password: this.password, passwordSecretName: this.passwordSecretName });
    }
}
