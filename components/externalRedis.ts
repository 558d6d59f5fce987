import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { componentType } from "./typeToken";
import { standardLabels } from "./labels";
import { RedisConnection } from "./redis";

export interface ExternalRedisArgs {
    /** Namespace of the clients; the password Secret is created there. Required. */
    readonly namespace: pulumi.Input<string>;
    /** DNS name of the Redis client Service (usually in another namespace). Required. */
    readonly host: pulumi.Input<string>;
    /** TCP port. Default: 6379. */
    readonly port?: pulumi.Input<number>;
    /** Password of that Redis; kept a Pulumi secret. Required. */
    readonly password: pulumi.Input<string>;
    /** `app.kubernetes.io/instance` label. Default: the Pulumi stack name. */
    readonly instance?: string;
    /** `env` label. Default: the instance. */
    readonly env?: string;
}

/**
 * A Redis that another stack runs (gray uses prod's): copies its password into
 * a Secret in this namespace so workloads reference it the same way they
 * reference a Redis of their own.
 */
export class ExternalRedis extends pulumi.ComponentResource implements RedisConnection {
    public readonly host: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly password: pulumi.Output<string>;
    public readonly passwordSecretName: pulumi.Output<string>;
    public readonly passwordSecretKey: pulumi.Output<string>;

    constructor(name: string, args: ExternalRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        super(componentType("ExternalRedis"), name, {}, opts);
        const instance = args.instance ?? pulumi.getStack();
        const labels = standardLabels({ name, component: "database", instance, env: args.env ?? instance, tier: "data" });
        this.password = pulumi.secret(args.password);
        const secret = new k8s.core.v1.Secret(`${name}-auth`, {
            metadata: { name: `${name}-auth`, namespace: args.namespace, labels },
            type: "Opaque",
            stringData: { password: this.password },
        }, { parent: this, additionalSecretOutputs: ["stringData", "data"] });

        this.host = pulumi.output(args.host);
        this.port = pulumi.output(args.port ?? 6379);
        this.passwordSecretName = secret.metadata.name;
        this.passwordSecretKey = pulumi.output("password");
        this.registerOutputs({ host: this.host, port: this.port, password: this.password, passwordSecretName: this.passwordSecretName });
    }
}
