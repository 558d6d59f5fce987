#!/usr/bin/env bash
# The local Kubernetes cluster: every component built from the package registries (build.sh), images
# built without a registry (images.sh), run as processes of this machine: one node, or several in
# zones, shaped like a laptop's cluster or like ACK. Each job is a file of its own, as kind's
# pkg/cluster: network.sh, pki.sh, kubeconfig.sh, controlplane.sh, node.sh, enforcer.sh, addons.sh,
# registry.sh; this file dispatches.
#
#   npm run cluster -- up [--nodes N] [--like local|ack]   build what is missing, start the cluster,
#                                      merge context sample-app-local (default: 1 node, like a laptop's)
#   npm run cluster -- down [--purge]  stop everything, remove exactly what up made;
#                                      --purge also drops the image store (the build cache stays)
#   npm run cluster -- status          what runs, nodes and pods
#   npm run cluster -- deploy STACK [--refresh] [key=value ...]   pulumi up of STACK on the real engine, print the URL
#   npm run cluster -- preview STACK [--expect-no-changes] [key=value ...]   pulumi preview --diff
#   npm run cluster -- refresh STACK [--expect-no-changes] [key=value ...]   pulumi refresh
#   npm run cluster -- drift STACK     pulumi preview --refresh: what drifted from the program (exit 3), or nothing (0)
#   npm run cluster -- destroy STACK   pulumi destroy, then remove the stack from the local backend
#   npm run cluster -- images          rebuild and re-import the app images (after a change to app/)
#   npm run cluster -- node lose|return NODE   freeze a node and cut its link (a lost node), or bring it back
#   npm run cluster -- release --candidate TAG   release TAG from dev through test as its canary, judged on
#                                      the cluster's Prometheus: promoted (exit 0) or rolled back (exit 1)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
source "$CLUSTER_DIR/pki.sh"
# shellcheck source-path=SCRIPTDIR source=kubeconfig.sh
source "$CLUSTER_DIR/kubeconfig.sh"
# shellcheck source-path=SCRIPTDIR source=network.sh
source "$CLUSTER_DIR/network.sh"
# shellcheck source-path=SCRIPTDIR source=controlplane.sh
source "$CLUSTER_DIR/controlplane.sh"
# shellcheck source-path=SCRIPTDIR source=enforcer.sh
source "$CLUSTER_DIR/enforcer.sh"
# shellcheck source-path=SCRIPTDIR source=node.sh
source "$CLUSTER_DIR/node.sh"
# shellcheck source-path=SCRIPTDIR source=addons.sh
source "$CLUSTER_DIR/addons.sh"
# shellcheck source-path=SCRIPTDIR source=registry.sh
source "$CLUSTER_DIR/registry.sh"

usage() { # usage [PROBLEM]
  [[ -z "${1:-}" ]] || printf 'cluster: %s\n' "$1" >&2
  sed -n '8,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $(id -u) -eq 0 ]] || die "needs root (it starts containerd and the kubelets and makes network namespaces)"

# --- the machine as it was ----------------------------------------------------------------------

save_host_state() {
  mkdir -p "$STATE/host"
  [[ -s "$STATE/host/sysctl" ]] && return 0   # recorded by an earlier up that was not brought down
  local s
  # libcni keeps a result cache in /var/lib/cni; remove it at down if it was not there before.
  [[ -e /var/lib/cni ]] || touch "$STATE/host/no-var-lib-cni"
  for s in "${SYSCTLS[@]}"; do
    if [[ -e "/proc/sys/${s//.//}" ]]; then echo "$s=$(sysctl -n "$s")"; fi
  done >"$STATE/host/sysctl.tmp"
  mv "$STATE/host/sysctl.tmp" "$STATE/host/sysctl"
}

restore_host_state() {
  if [[ -s "$STATE/host/sysctl" ]]; then
    sysctl -q -p "$STATE/host/sysctl" >/dev/null 2>&1 || true
    log "sysctls restored: $(tr '\n' ' ' <"$STATE/host/sysctl")"
  fi
  if [[ -e "$STATE/host/no-var-lib-cni" ]]; then rm -rf /var/lib/cni; fi
  rm -rf "$STATE/host"
}

# Everything below $STATE or $RUN_DIR that is mounted (pod volumes, container root filesystems, pod
# network namespaces).
our_mounts() { findmnt -rn -o TARGET | grep -E "^($STATE|$RUN_DIR)(/|$)" | sort -r || true; }

# The node indexes to bring down: the shape's, and any node namespace left by a run whose shape is lost.
nodes_present() {
  local i ns
  {
    for ((i = 1; i <= NODES; i++)); do echo "$i"; done
    for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do [[ "$ns" == sa-node-* ]] && echo "${ns#sa-node-}"; done
  } | sort -un
}

# What an earlier run left behind; empty when the machine is clean.
leftovers() {
  local p
  for p in $(recorded_processes); do running "$p" && echo "process $p (pid $(pid_of "$p"))"; done
  pgrep -f "containerd-shim-runc-v2 .*-address $RUN_DIR/" >/dev/null && echo "container shims of $RUN_DIR"
  network_leftovers
  [[ -z "$(our_mounts)" ]] || echo "$(our_mounts | wc -l) mounts below $STATE or $RUN_DIR"
  [[ -z "$(our_cgroups)" ]] || echo "$(our_cgroups | wc -l) cgroups below $CGROUP_PARENT"
  [[ ! -s "$STATE/host/sysctl" ]] || echo "sysctl changes (a record of the previous values is in $STATE/host)"
  true
}

# --- down ---------------------------------------------------------------------------------------

cmd_down() {
  local purge=${1:-} i p m
  for i in $(nodes_present); do node_down "$i"; done
  stop_ack_addons
  registry_stop
  stop_control_plane
  # Anything else with a pid file (a process of a run that crashed before its job could stop it).
  for p in $(recorded_processes); do stop "$p"; done
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $RUN_DIR/" 2>/dev/null || true
  while read -r m; do [[ -z "$m" ]] || umount -l "$m" 2>/dev/null || true; done < <(our_mounts)
  host_network_down
  cgroups_down
  find /var/log/containers -maxdepth 1 -lname "$STATE/*" -delete 2>/dev/null || true
  rm -f /var/lib/cni/results/sample-app-local-* /var/lib/cni/results/cni-loopback-*
  restore_host_state
  remove_context
  # The cluster's data goes, and with it the Pulumi state of the stacks it ran (their objects are gone:
  # a state that names them would make the next deploy fail); the image store (containerd's content)
  # and the engine's plugin home stay unless --purge.
  local keep=()
  for i in $(nodes_present); do keep+=("$(node_dir "$i")/containerd"); done
  rm -rf "$STATE/etcd" "$STATE/pki" "$STATE/registry" "$STATE/alb" "$STATE/stacks" "$RUN_DIR" \
    "$STATE/engine/backend" "$STATE/engine/work" "$STATE/engine/passphrase" "$STACKS_KUBECONFIG" "$SHAPE_FILE"
  if [[ -d "$STATE/nodes" ]]; then
    find "$STATE/nodes" -mindepth 2 -maxdepth 2 ! -name containerd -exec rm -rf {} +
  fi
  [[ "$purge" != "--purge" ]] || rm -rf "$STATE"
  local left
  left=$(leftovers)
  [[ -z "$left" ]] || { log "still left over:"; printf '  %s\n' "$left" >&2; return 1; }
  log "down: nothing of the cluster is left running"
}

# --- up -----------------------------------------------------------------------------------------

up_done=0
# On any failure of up (a command that fails in any function, `die`, Ctrl-C, TERM): bring down what
# started, so no process, mount, bridge, namespace or rule is left behind.
on_up_exit() {
  local status=$?
  [[ "$up_done" -eq 1 ]] && return 0
  set +e
  trap - ERR
  log "up failed (exit $status); bringing down what started (logs in $LOGS)"
  cmd_down
  exit "$status"
}

cmd_up() {
  local nodes=1 like=local t0 left i
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 || usage "--nodes needs a number" ;;
      --like) like=${2:-}; shift 2 || usage "--like needs local or ack" ;;
      *) usage "up takes --nodes N and --like local|ack, not '$1'" ;;
    esac
  done
  [[ "$nodes" =~ ^[1-5]$ ]] || usage "--nodes must be 1 to 5, not '$nodes'"
  [[ "$like" == local || "$like" == ack ]] || usage "--like must be local or ack, not '$like'"
  t0=$(date +%s)
  if running kube-apiserver; then
    die "a cluster is up ($NODES node(s), like $LIKE): npm run cluster -- down first"
  fi
  left=$(leftovers)
  if [[ -n "$left" ]]; then
    log "a previous cluster was not brought down cleanly; cleaning up:"
    printf '  %s\n' "$left" >&2
    cmd_down
  fi
  bash "$CLUSTER_DIR/build.sh"

  trap on_up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  mkdir -p "$STATE"
  printf 'NODES=%s\nLIKE=%s\n' "$nodes" "$like" >"$SHAPE_FILE"
  load_shape
  log "starting the cluster (Kubernetes $K8S_VERSION, $NODES node(s), like $LIKE)"
  save_host_state
  make_pki
  host_network_up
  start_control_plane
  local sockets=()
  for ((i = 1; i <= NODES; i++)); do node_up "$i"; sockets+=(--import "$(node_sock "$i")"); done
  host_routes
  bash "$CLUSTER_DIR/images.sh" "${sockets[@]}"
  if [[ "$LIKE" == ack ]]; then
    registry_start
    for ((i = 1; i <= NODES; i++)); do registry_trust "$i"; done
  fi
  for ((i = 1; i <= NODES; i++)); do node_join "$i"; done
  start_addons
  if [[ "$LIKE" == ack ]]; then
    start_ack_addons
    registry_push
  fi
  stacks_kubeconfig
  merge_context
  up_done=1
  trap - EXIT INT TERM
  log "cluster up in $(( $(date +%s) - t0 ))s: kubectl --context $CONTEXT get nodes; ingress on http://*.localhost:$HTTP_PORT/$([[ "$LIKE" == ack ]] && echo "; ALB stand-in on http://$ALB_IP/ and https://$ALB_IP/")"
}

# --- the rest -----------------------------------------------------------------------------------

cmd_status() {
  local p
  echo "shape: $NODES node(s), like $LIKE"
  for p in $(recorded_processes); do
    if running "$p"; then echo "$p: running (pid $(pid_of "$p"))"; else echo "$p: not running"; fi
  done
  running kube-apiserver || return 0
  kc get nodes -o wide -L topology.kubernetes.io/zone
  kc get pods -A -o wide
}

cmd_images() {
  local sockets=() i
  running kube-apiserver || die "the cluster is not up"
  for ((i = 1; i <= NODES; i++)); do sockets+=(--import "$(node_sock "$i")"); done
  bash "$CLUSTER_DIR/images.sh" "${sockets[@]}"
  [[ "$LIKE" != ack ]] || registry_push
}

cmd_node() {
  local what=${1:-} name=${2:-} i
  [[ "$what" == lose || "$what" == return ]] || usage "node takes lose or return, then a node name"
  running kube-apiserver || die "the cluster is not up"
  i=$(node_index "$name") || die "no node '$name': the nodes are $(all_node_names)"
  if [[ "$what" == lose ]]; then node_freeze "$i"; else node_thaw "$i"; fi
}

cmd="${1:-}"
[[ $# -eq 0 ]] || shift
case "$cmd" in
  up) cmd_up "$@" ;;
  down) [[ $# -eq 0 || "$1" == "--purge" ]] || usage "down takes only --purge"; cmd_down "${1:-}" ;;
  status) cmd_status ;;
  images) cmd_images ;;
  node) cmd_node "$@" ;;
  leftovers) leftovers ;;
  deploy | preview | refresh | drift | destroy)
    [[ $# -ge 1 ]] || usage "$cmd needs a STACK (dev, test, gray or prod)"
    running kube-apiserver || die "the cluster is not up: npm run cluster -- up"
    # The Pulumi Node.js SDK needs Node >= 22 (scripts/ensure-node.sh finds or installs it).
    PATH="$("$REPO_ROOT/scripts/ensure-node.sh"):$PATH"
    exec "$REPO_ROOT/node_modules/.bin/ts-node" --transpile-only "$CLUSTER_DIR/deploy.ts" "$cmd" "$@" ;;
  release)
    running kube-apiserver || die "the cluster is not up: npm run cluster -- up"
    PATH="$("$REPO_ROOT/scripts/ensure-node.sh"):$PATH"
    exec "$REPO_ROOT/node_modules/.bin/ts-node" --transpile-only "$CLUSTER_DIR/release.ts" "$@" ;;
  "") usage "which command?" ;;
  *) usage "unknown command '$cmd'" ;;
esac
