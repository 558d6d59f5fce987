# shellcheck shell=bash
# shellcheck disable=SC2034 # variables used by the scripts that source this file
# One place for every version the local cluster runs. Sourced by the cluster scripts;
# the build cache under $HOME/.cache/sample-app-cluster is keyed by these values.
K8S_VERSION=1.34.4            # kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl
ETCD_VERSION=3.6.16           # go.etcd.io/etcd/server/v3 (Kubernetes 1.34 pairs with etcd 3.6)
COREDNS_VERSION=1.14.7        # github.com/coredns/coredns
METRICS_SERVER_VERSION=0.8.0  # sigs.k8s.io/metrics-server
TRAEFIK_VERSION=3.6.12        # github.com/traefik/traefik/v3: Ingress and Gateway API (HTTPRoute) provider
LOCAL_PATH_VERSION=0.0.30     # github.com/rancher/local-path-provisioner: StorageClass "standard"
# kube-router's firewall controller alone (no routing, no service proxy) is the NetworkPolicy
# enforcer of this isolated, loopback-only test cluster and nothing else: security flaws are
# reported for v2.1.0, the only version the Go module proxy serves here. Never recommend it to users.
KUBE_ROUTER_VERSION=2.1.0     # github.com/cloudnativelabs/kube-router/v2: NetworkPolicy enforcer (iptables + ipset)
GATEWAY_API_VERSION=1.4.0     # sigs.k8s.io/gateway-api: standard-channel CRDs
# Prometheus 3 (the module's v0.316.0 is the 3.16.0 release), built with Kubernetes service discovery only:
# it scrapes the API pods and Traefik in namespace `monitoring`, what release judgements query.
PROMETHEUS_VERSION=0.316.0    # github.com/prometheus/prometheus (cmd/prometheus, tags remove_all_sd,enable_kubernetes_sd)
# `up --like ack`: what an ACK cluster has that a laptop's does not.
DISTRIBUTION_VERSION=3.0.0    # github.com/distribution/distribution/v3: the OCI registry the nodes pull from (what ACR speaks)
SNAPSHOTTER_VERSION=8.7.0     # github.com/kubernetes-csi/external-snapshotter: snapshot-controller and the VolumeSnapshot CRDs
# The PodMonitor CRD (monitoring.coreos.com/v1), generated from the Prometheus Operator's API types by
# controller-gen, as the operator's own release does (scripts/prometheus-operator-crds.sh).
PROMETHEUS_OPERATOR_VERSION=0.95.2  # github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
CONTROLLER_TOOLS_VERSION=0.23.0     # sigs.k8s.io/controller-tools: controller-gen
DEBIAN_SUITE=bookworm         # base image stand-ins are built from this Debian suite

# The Pulumi engine (scripts/engine): the CLI and the kubernetes provider, built from Go modules.
PULUMI_VERSION=3.274.1        # github.com/pulumi/pulumi/pkg/v3: the CLI (`pulumi`), >= the Node.js SDK in package.json
PULUMI_YAML_VERSION=1.25.0    # github.com/pulumi/pulumi-yaml: Pulumi YAML's language host (`pulumi-language-yaml`), for examples/reuse-yaml
# github.com/pulumi/pulumi-kubernetes/provider/v4 at a pseudo-version: the commit of 2026-01-15,
# after the v4.24.0 tag and 1.6 days before v4.25.0. Labelled as a 4.25.0 pre-release, never as a release.
PULUMI_K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
PULUMI_K8S_PROVIDER_VERSION=4.25.0-pre.20260115+f47bc2d6f199
PULUMI_K8S_PROVIDER_PKG=3.215.0  # the pulumi pkg/sdk the provider commit compiles against (its own go.mod)
PULUMI_K8S_SDK_VERSION=4.24.0   # pulumi-kubernetes/sdk/v4, which the provider's go.mod takes from a local path
