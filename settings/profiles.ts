/**
 * The cluster profiles: what differs between the clusters the app runs on
 * (storage, ingress and gateway classes, where their proxies run, images).
 * `clusterProfile` picks one; the other keys fall back to its values.
 */

/** Pods in a namespace, selected by labels: an in-cluster proxy that forwards public traffic to the frontend. */
export interface PodSource {
    readonly namespace: string;
    readonly podSelector: Readonly<Record<string, string>>;
}

export const ROUTINGS = ["gateway", "ingress"] as const;
/** `gateway`: HTTPRoute on a Gateway (Gateway API); `ingress`: a networking.k8s.io/v1 Ingress. */
export type Routing = (typeof ROUTINGS)[number];

/** What differs between the clusters the app runs on. */
export interface ClusterProfile {
    readonly name: "minikube" | "ack" | "local";
    /** StorageClasses a PVC may use; the first is the default. */
    readonly storageClasses: readonly string[];
    /** Smallest volume the class provisions (ACK cloud disks: 20Gi). */
    readonly minStorage: string;
    /** Default Redis volume size. */
    readonly defaultStorage: string;
    /** Ingress classes the cluster has; the first is the default. */
    readonly ingressClasses: readonly string[];
    /** Where each in-cluster ingress controller runs (absent: traffic comes from outside the cluster, e.g. ALB). */
    readonly ingressControllers: Readonly<Record<string, PodSource>>;
    /** Routing when `routing` is not set: through the Gateway API or an Ingress. */
    readonly routing: Routing;
    /** GatewayClasses the cluster has; the first is the class of a Gateway the stack creates by default. */
    readonly gatewayClasses: readonly string[];
    /** Where each class's in-cluster data plane (the proxies) runs (absent: outside the cluster, e.g. ALB). */
    readonly gatewayDataPlanes: Readonly<Record<string, PodSource>>;
    /** Listener ports of a Gateway the stack creates (Traefik: they must equal its entryPoints' ports). */
    readonly gatewayPorts: { readonly http: number; readonly https: number };
    /** A Gateway the cluster provides for every app: stacks attach to it unless gatewayName or gatewayClass say otherwise. */
    readonly sharedGateway?: { readonly name: string; readonly namespace: string };
    /** Whether images need a registry prefix (no local image store to load into). */
    readonly registryRequired: boolean;
    readonly imagePullPolicy: "IfNotPresent" | "Always";
    /** Kube context used when `kubeContext` is not set; undefined: the key is required. */
    readonly defaultKubeContext?: string;
    /** VolumeSnapshotClass of the CSI driver behind each storage class that can be snapshotted. */
    readonly snapshotClasses: Readonly<Record<string, string>>;
    /** The CSI driver behind each storage class that has one: a VolumeSnapshotClass the stack creates names it. */
    readonly csiDrivers: Readonly<Record<string, string>>;
    /**
     * The port the Kubernetes API server itself listens on: what a NetworkPolicy sees of a call to the
     * `kubernetes` Service, after its DNAT (the backup Job's egress).
     */
    readonly apiServerPort: number;
}

export const PROFILES: Readonly<Record<string, ClusterProfile>> = {
    minikube: {
        name: "minikube",
        storageClasses: ["standard", "csi-hostpath-sc"],
        minStorage: "100Mi",
        defaultStorage: "1Gi",
        ingressClasses: ["nginx"],
        // The minikube `ingress` addon.
        ingressControllers: { nginx: { namespace: "ingress-nginx", podSelector: { "app.kubernetes.io/name": "ingress-nginx" } } },
        // Traefik v3 (Helm chart, installed into namespace traefik with its Gateway provider on) implements Gateway API v1.4.
        routing: "gateway",
        gatewayClasses: ["traefik"],
        gatewayDataPlanes: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // The Traefik Helm chart's entryPoints web and websecure (its Service maps 80 and 443 to them).
        gatewayPorts: { http: 8000, https: 8443 },
        registryRequired: false,
        imagePullPolicy: "IfNotPresent",
        defaultKubeContext: "minikube",
        // The `volumesnapshots` and `csi-hostpath-driver` addons; `standard` (minikube's hostpath provisioner) cannot snapshot.
        snapshotClasses: { "csi-hostpath-sc": "csi-hostpath-snapclass" },
        csiDrivers: { "csi-hostpath-sc": "hostpath.csi.k8s.io" },
        // minikube's apiserver listens on 8443 (the `kubernetes` Service's 443 is DNATed there).
        apiServerPort: 8443,
    },
    ack: {
        name: "ack",
        // topology-alltype binds WaitForFirstConsumer: the disk is made in the zone the pod is scheduled to.
        storageClasses: ["alicloud-disk-topology-alltype", "alicloud-disk-essd", "alicloud-disk-ssd", "alicloud-disk-efficiency"],
        minStorage: "20Gi",
        defaultStorage: "20Gi",
        ingressClasses: ["nginx", "alb"],
        // ACK's managed nginx-ingress-controller component runs in kube-system beside DNS, so match its pods too.
        ingressControllers: { nginx: { namespace: "kube-system", podSelector: { app: "ingress-nginx" } } },
        // The ALB Ingress Controller (2.17 and later) serves GatewayClass alb; ALB reaches the pods from outside the cluster.
        routing: "gateway",
        gatewayClasses: ["alb"],
        gatewayDataPlanes: {},
        gatewayPorts: { http: 80, https: 443 },
        registryRequired: true,
        imagePullPolicy: "IfNotPresent",
        // ACK's csi-plugin snapshots every cloud-disk class. ACK ships no VolumeSnapshotClass of this name: create it once
        // (redisCreateSnapshotClass, or kubectl as docs/redis.md shows); the stack reads it at preview otherwise.
        snapshotClasses: {
            "alicloud-disk-topology-alltype": "alicloud-disk-snapshot",
            "alicloud-disk-essd": "alicloud-disk-snapshot",
            "alicloud-disk-ssd": "alicloud-disk-snapshot",
            "alicloud-disk-efficiency": "alicloud-disk-snapshot",
        },
        csiDrivers: {
            "alicloud-disk-topology-alltype": "diskplugin.csi.alibabacloud.com",
            "alicloud-disk-essd": "diskplugin.csi.alibabacloud.com",
            "alicloud-disk-ssd": "diskplugin.csi.alibabacloud.com",
            "alicloud-disk-efficiency": "diskplugin.csi.alibabacloud.com",
        },
        // The API server behind the `kubernetes` Service (an internal SLB in front of the managed control plane) on 6443.
        apiServerPort: 6443,
    },
    /** The single-node cluster this repository builds and runs itself (`npm run cluster -- up`). */
    local: {
        name: "local",
        // Served by rancher's local-path-provisioner under the name minikube uses.
        storageClasses: ["standard"],
        minStorage: "100Mi",
        defaultStorage: "1Gi",
        ingressClasses: ["traefik"],
        // Traefik v3 runs in namespace traefik (a pod, published on a loopback hostPort) and serves Ingress and the Gateway API.
        ingressControllers: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // Gateway API through the same Traefik: stacks attach to the cluster's shared Gateway traefik/sample-app-local.
        routing: "gateway",
        gatewayClasses: ["traefik"],
        gatewayDataPlanes: { traefik: { namespace: "traefik", podSelector: { "app.kubernetes.io/name": "traefik" } } },
        // A Gateway a stack creates must listen on Traefik's entryPoints: web 8000 and websecure 8443, as in its Helm chart (scripts/cluster/addons.yaml).
        gatewayPorts: { http: 8000, https: 8443 },
        sharedGateway: { name: "sample-app-local", namespace: "traefik" },
        registryRequired: false,
        // Images are imported into the node's containerd by scripts/cluster/images.sh; there is no registry to pull from.
        imagePullPolicy: "IfNotPresent",
        defaultKubeContext: "sample-app-local",
        // local-path-provisioner cannot snapshot.
        snapshotClasses: {},
        csiDrivers: {},
        // kube-apiserver on the node, port 6443 (scripts/cluster).
        apiServerPort: 6443,
    },
};
