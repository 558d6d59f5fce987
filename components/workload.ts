import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/**
 * Pure builders and small factories shared by the Deployments (UserApi, Frontend).
 */

/** HTTP GET probe on a named container port. */
export function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
    return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** Rolling update that never drops below the desired count: new pods must be ready before old ones go. */
export function zeroDowntimeStrategy(): k8s.types.input.apps.v1.DeploymentStrategy {
    return { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } };
}

/**
 * The ServiceAccount a workload runs as: the one given, or a new one without
 * API token automount, named like the workload.
 */
export function workloadServiceAccount(
    parent: pulumi.Resource,
    name: string,
    metadata: { namespace: pulumi.Input<string>; labels: Record<string, string> },
    given: pulumi.Input<string> | undefined,
): pulumi.Input<string> {
    if (given !== undefined) {
        return given;
    }
    return new k8s.core.v1.ServiceAccount(name, {
        metadata: { name, ...metadata },
        automountServiceAccountToken: false,
    }, { parent }).metadata.name;
}
