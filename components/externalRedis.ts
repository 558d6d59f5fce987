import { X509Certificate } from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { checkArgs } from "./errors";
import { componentOptions, componentType } from "./typeToken";
import { contentName } from "./workload";
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
    /**
     * PEM certificates of the CAs that sign the Redis's TLS certificate (ApsaraDB for Redis / Tair: the
     * CA chain the console's TLS settings download), put in a ConfigMap the clients verify it with;
     * only with `tls`. Default: none (the system roots).
     */
    readonly tlsCa?: pulumi.Input<string>;
    /** Replicas that must confirm each write (Redis WAIT). Default: 0. */
    readonly waitReplicas?: pulumi.Input<number>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g;

/**
 * The certificates of a PEM bundle, each checked to parse as X.509; throws saying what is wrong when
 * the text holds anything else (a private key, a truncated block) or no certificate at all.
 */
export function pemCertificates(pem: string): string[] {
    const blocks = pem.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) {
        throw new Error("tlsCa must hold PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), and holds none");
    }
    const rest = pem.replace(PEM_CERTIFICATE, "").trim();
    if (rest !== "") {
        throw new Error(`tlsCa must hold only PEM certificates; it also holds ${JSON.stringify(rest.slice(0, 40))}${rest.length > 40 ? "..." : ""}`);
    }
    blocks.forEach((b, i) => {
        let problem: string | undefined;
        try {
            new X509Certificate(b);
        } catch (e) {
            problem = e instanceof Error ? e.message : String(e);
        }
        if (problem !== undefined) {
            throw new Error(`tlsCa: certificate ${i + 1} of ${blocks.length} does not parse as X.509 (${problem})`);
        }
    });
    return blocks;
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
    /** Name of the ConfigMap (key `ca.crt`) with `tlsCa`; undefined without `tlsCa`. */
    public readonly tlsCaConfigMapName?: pulumi.Output<string>;
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
        if (args.tlsCa !== undefined) {
            if (args.tls === undefined || args.tls === false) {
                throw new pulumi.ResourceError(`ExternalRedis ${name}: tlsCa is only used with tls: set tls to true, or leave tlsCa out`, this);
            }
            // Named by its content and immutable, as the other ConfigMaps: a new CA (Tair's is renewed
            // yearly) is a new ConfigMap, so the clients, which read it at start, roll onto it.
            const pem = pulumi.output(args.tlsCa).apply(text => `${checkArgs(this, () => pemCertificates(text)).join("\n")}\n`);
            const ca = new k8s.core.v1.ConfigMap(`${name}-tls-ca`, {
                metadata: { name: pem.apply(text => contentName(`${name}-tls-ca`, text)), namespace: args.namespace, labels },
                immutable: true,
                data: { "ca.crt": pem },
            }, { parent: this });
            this.tlsCaConfigMapName = ca.metadata.name;
        }
        this.waitReplicas = pulumi.output(args.waitReplicas ?? 0);
        this.registerOutputs({ host: this.host, port: this.port, password: this.password, passwordSecretName: this.passwordSecretName });
    }
}
