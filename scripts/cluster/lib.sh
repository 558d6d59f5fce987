# shellcheck shell=bash
# shellcheck disable=SC2034 # variables used by the scripts that source this file
# Shared settings and helpers of the local cluster scripts: where things live, the cluster's
# addresses, its shape (how many nodes, what it imitates), and how its processes are started and
# stopped. Sourced, never run.
# shellcheck source-path=SCRIPTDIR source=versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/../.." && pwd)"
CACHE="${SAMPLE_APP_CLUSTER_CACHE:-$HOME/.cache/sample-app-cluster}"
BIN="$CACHE/bin"
# Cluster state (etcd, the nodes' kubelets and volumes, certificates) and the image store.
STATE="${SAMPLE_APP_CLUSTER_STATE:-/var/lib/sample-app-cluster}"
# Sockets, pid files.
RUN_DIR="${SAMPLE_APP_CLUSTER_RUN:-/run/sample-app-cluster}"
LOGS="$STATE/logs"
PKI="$STATE/pki"

# The networks. Nothing here is routed off this machine. The control plane (etcd, API server,
# controllers), the registry and the nodes share one bridge, the cluster's "VPC": each node is a
# network namespace with its own address on it, its own pod range and routes to the other nodes'
# ranges, as kind's node containers are. Pods and nodes have no default route, and the host drops
# anything forwarded between that bridge and its other interfaces.
CONTEXT=sample-app-local
CP_BRIDGE=sa-node0
CP_IP=10.77.0.1
NODE_SUBNET=10.77.0.0/24
CLUSTER_CIDR=10.78.0.0/16
POD_BRIDGE=sa-cni0          # inside each node's namespace
SERVICE_CIDR=10.79.0.0/24
KUBERNETES_SERVICE_IP=10.79.0.1
DNS_SERVICE_IP=10.79.0.10
# The in-cluster gateway's (Traefik's) Service, which this machine's 127.0.0.1:$HTTP_PORT leads to.
GATEWAY_SERVICE_IP=10.79.0.80
API_PORT=6443
API_SERVER="https://$CP_IP:$API_PORT"
# `--like ack`: the OCI registry the nodes pull from, and the ALB stand-in's address on the bridge
# (a load balancer outside the pod network that reaches the pods from the nodes' range, as ALB does
# from the vSwitches).
REGISTRY_HOST="$CP_IP:5000"
ALB_IP=10.77.0.100
# The ingress controller (Traefik) serves HTTP on this loopback port; *.localhost names resolve to
# loopback in curl and Chromium, so http://sample-app.dev.localhost:$HTTP_PORT/ opens as is.
HTTP_PORT="${SAMPLE_APP_CLUSTER_HTTP_PORT:-18080}"
# Global settings the kubelet changes (the per-namespace ones go with the nodes' namespaces): `up`
# records their values and `down` puts them back.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Every cgroup of the cluster's nodes (their daemons and pods) is below this one, in each hierarchy.
CGROUP_PARENT=sample-app-cluster
# The shape `up` chose, for every later command.
SHAPE_FILE="$STATE/cluster.env"

log() { printf '[cluster %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# --- the cluster's shape ----------------------------------------------------------------------
# NODES: how many nodes (1 by default). LIKE: local (a laptop's cluster, as minikube) or ack
# (ACK-shaped: zones, ACK's storage and snapshot classes, the ALB GatewayClass, a registry).
NODES=1
LIKE=local
load_shape() {
  NODES=1 LIKE=local
  if [[ -s "$SHAPE_FILE" ]]; then
    # shellcheck source=/dev/null
    source "$SHAPE_FILE"
  fi
}
load_shape

# Zones and region the nodes are labelled with when there is more than one, or the cluster imitates
# ACK: ACK's node labels (topology.kubernetes.io/zone and /region) in Hangzhou.
zone_of() { # zone_of I
  local zones=(h i j k l)
  if [[ "$LIKE" == ack ]]; then echo "cn-hangzhou-${zones[$1 - 1]}"; else echo "local-$1"; fi
}
region() { if [[ "$LIKE" == ack ]]; then echo cn-hangzhou; else echo local; fi; }
zoned() { [[ "$NODES" -gt 1 || "$LIKE" == ack ]]; }

# Node I (1-based): its name, address, pod range and where it keeps things.
node_name() { if [[ "$NODES" -eq 1 ]]; then echo sample-app-local; else echo "sample-app-local-$1"; fi; }
node_ip() { echo "10.77.0.$((10 + $1))"; }
node_pod_cidr() { echo "10.78.$1.0/24"; }
node_pod_gateway() { echo "10.78.$1.1"; }
node_netns() { echo "sa-node-$1"; }
node_veth() { echo "sa-veth$1"; }
node_dir() { echo "$STATE/nodes/$(node_name "$1")"; }
node_run() { echo "$RUN_DIR/nodes/$(node_name "$1")"; }
node_sock() { echo "$(node_run "$1")/containerd.sock"; }
all_node_names() { local j; for ((j = 1; j <= NODES; j++)); do printf '%s ' "$(node_name "$j")"; done; }
node_index() { # node_index NAME: the I of a node name (fails for an unknown one)
  local i
  for ((i = 1; i <= NODES; i++)); do [[ "$(node_name "$i")" == "$1" ]] && { echo "$i"; return 0; }; done
  return 1
}

# The kubectl this cluster was built with, as the cluster admin.
kc() { "$BIN/kubectl-$K8S_VERSION" --kubeconfig "$PKI/admin.kubeconfig" "$@"; }

# in_node I COMMAND...: COMMAND in node I's network namespace (the host's mounts and processes).
in_node() { local i=$1; shift; nsenter --net="/run/netns/$(node_netns "$i")" -- "$@"; }

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

# --- processes ----------------------------------------------------------------------------------
# Every process the cluster starts has a pid file in $RUN_DIR and a log in $LOGS, by NAME
# (`kubelet@<node>` for a node's).

# start NAME COMMAND...: run COMMAND in the background in its own session.
start() {
  local name=$1; shift
  mkdir -p "$LOGS" "$RUN_DIR"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  # Not a job of this shell: its end is ours to report, not bash's.
  disown $!
}

pid_of() { [[ -s "$RUN_DIR/$1.pid" ]] && cat "$RUN_DIR/$1.pid"; }
running() { local pid; pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null; }

# wait_running SECONDS NAME WHAT COMMAND...: wait_for, but fail at once (with the end of its log)
# when the process NAME has exited meanwhile, as a process that cannot start does.
wait_running() {
  local limit=$1 name=$2 what=$3 deadline; shift 3
  deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name"; then
      log "$name exited while waiting for $what; the end of $LOGS/$name.log:"
      tail -n 8 "$LOGS/$name.log" 2>/dev/null | sed 's/^/  /' >&2 || true
      return 1
    fi
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${limit}s waiting for $what (log: $LOGS/$name.log)"
      return 1
    fi
    sleep 0.5
  done
}

stop() { # stop NAME: TERM, then KILL after 10 s
  local pid
  pid=$(pid_of "$1") || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$1.pid"
}

# Names of the processes with a pid file (running or not).
recorded_processes() {
  local f
  for f in "$RUN_DIR"/*.pid; do [[ -e "$f" ]] && basename "$f" .pid; done
  true
}
