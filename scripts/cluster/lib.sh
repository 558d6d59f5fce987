# shellcheck shell=bash
# shellcheck disable=SC2034 # variables used by the scripts that source this file
# Shared settings and helpers of the local cluster scripts. Sourced, never run.
# shellcheck source-path=SCRIPTDIR source=versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/../.." && pwd)"
CACHE="${SAMPLE_APP_CLUSTER_CACHE:-$HOME/.cache/sample-app-cluster}"
BIN="$CACHE/bin"
# Cluster state (etcd, kubelet, volumes, certificates) and the image store.
STATE="${SAMPLE_APP_CLUSTER_STATE:-/var/lib/sample-app-cluster}"
# Sockets, pid files.
RUN_DIR="${SAMPLE_APP_CLUSTER_RUN:-/run/sample-app-cluster}"
LOGS="$STATE/logs"
PKI="$STATE/pki"
CONTAINERD_SOCK="$RUN_DIR/containerd/containerd.sock"

# The node and its networks. Nothing here is routed off this machine: the node's address lives on
# a bridge of its own, pods get routes to the pod, Service and node ranges only (no default route),
# and forwarding between the pod bridge and any other interface is dropped.
CONTEXT=sample-app-local
NODE_NAME=sample-app-local
NODE_BRIDGE=sa-node0
NODE_IP=10.77.0.1
POD_BRIDGE=sa-cni0
POD_CIDR=10.78.0.0/24
POD_GATEWAY=10.78.0.1
SERVICE_CIDR=10.79.0.0/24
KUBERNETES_SERVICE_IP=10.79.0.1
DNS_SERVICE_IP=10.79.0.10
API_PORT=6443
API_SERVER="https://$NODE_IP:$API_PORT"
# The ingress controller (Traefik) serves HTTP on this loopback port; *.localhost names resolve to
# loopback in curl and Chromium, so http://sample-app.dev.localhost:$HTTP_PORT/ opens as is.
HTTP_PORT="${SAMPLE_APP_CLUSTER_HTTP_PORT:-18080}"
# Kubernetes changes these; `up` records their values and `down` puts them back.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

log() { printf '[cluster %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# The kubectl this cluster was built with, as the cluster admin.
kc() { "$BIN/kubectl-$K8S_VERSION" --kubeconfig "$PKI/admin.kubeconfig" "$@"; }

# wait_for SECONDS WHAT COMMAND...: retries COMMAND every half second until it succeeds.
wait_for() {
  local limit=$1 what=$2 deadline; shift 2
  deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${limit}s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}
