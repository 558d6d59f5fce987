#!/usr/bin/env bash
# The local single-node Kubernetes cluster: every component built from the package registries
# (build.sh), images built without a registry (images.sh), run as processes of this machine.
#
#   npm run cluster -- up              build what is missing, start the cluster, merge context sample-app-local
#   npm run cluster -- down [--purge]  stop everything, restore interfaces, iptables, mounts, sysctls;
#                                      --purge also drops the image store (the build cache stays)
#   npm run cluster -- status          what runs, node and pods
#   npm run cluster -- deploy STACK [key=value ...]    pulumi up of STACK (dev or test) on the real engine, print the URL
#   npm run cluster -- preview STACK [--expect-no-changes] [key=value ...]   pulumi preview --diff
#   npm run cluster -- refresh STACK [--expect-no-changes] [key=value ...]   pulumi refresh
#   npm run cluster -- destroy STACK   pulumi destroy, then remove the stack from the local backend
#   npm run cluster -- images          rebuild and re-import the app images (after a change to app/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=pki.sh
source "$CLUSTER_DIR/pki.sh"
# shellcheck source-path=SCRIPTDIR source=enforcer.sh
source "$CLUSTER_DIR/enforcer.sh"

usage() { # usage [PROBLEM]
  [[ -z "${1:-}" ]] || printf 'cluster: %s\n' "$1" >&2
  sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $(id -u) -eq 0 ]] || die "needs root (it starts containerd and the kubelet and changes network settings)"

# --- processes --------------------------------------------------------------------------------

# start NAME COMMAND...: run COMMAND in the background in its own session, log to $LOGS/NAME.log.
start() {
  local name=$1; shift
  mkdir -p "$LOGS" "$RUN_DIR"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
}

running() { [[ -s "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

stop() { # stop NAME: TERM, then KILL after 10 s
  local pid
  [[ -s "$RUN_DIR/$1.pid" ]] || return 0
  pid=$(cat "$RUN_DIR/$1.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$1.pid"
}

PROCESSES=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kube-router)

# --- host changes, and undoing them -----------------------------------------------------------

save_host_state() {
  mkdir -p "$STATE"
  [[ -s "$STATE/host/iptables" ]] && return 0   # recorded by an earlier up that was not brought down
  mkdir -p "$STATE/host"
  iptables-save >"$STATE/host/iptables.tmp" && mv "$STATE/host/iptables.tmp" "$STATE/host/iptables"
  ip6tables-save >"$STATE/host/ip6tables" 2>/dev/null || true
  local s
  # libcni keeps a result cache in /var/lib/cni; remove it at down if it was not there before.
  [[ -e /var/lib/cni ]] || touch "$STATE/host/no-var-lib-cni"
  for s in "${SYSCTLS[@]}"; do
    if [[ -e "/proc/sys/${s//.//}" ]]; then echo "$s=$(sysctl -n "$s")"; fi
  done >"$STATE/host/sysctl"
}

restore_host_state() {
  if [[ -s "$STATE/host/iptables" ]]; then
    # iptables-restore only resets the tables the record names: empty every table first, so the
    # chains kube-proxy, the kubelet and the CNI plugins made in tables that were empty go too.
    local t
    for t in filter nat mangle raw security; do
      iptables -t "$t" -F 2>/dev/null || true; iptables -t "$t" -X 2>/dev/null || true
      if [[ -s "$STATE/host/ip6tables" ]]; then ip6tables -t "$t" -F 2>/dev/null || true; ip6tables -t "$t" -X 2>/dev/null || true; fi
    done
    iptables-restore <"$STATE/host/iptables"
    [[ ! -s "$STATE/host/ip6tables" ]] || ip6tables-restore <"$STATE/host/ip6tables" || true
    log "iptables restored to what it was before up"
  fi
  if [[ -s "$STATE/host/sysctl" ]]; then
    sysctl -q -p "$STATE/host/sysctl" >/dev/null 2>&1 || true
    log "sysctls restored: $(tr '\n' ' ' <"$STATE/host/sysctl")"
  fi
  if [[ -e "$STATE/host/no-var-lib-cni" ]]; then rm -rf /var/lib/cni; fi
  rm -rf "$STATE/host"
}

network_up() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
  fi
  ip addr replace "$NODE_IP/32" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  sysctl -q -w net.ipv4.ip_forward=1
  # Pods talk to each other, to Services and to the node; nothing is forwarded between the pod
  # bridge and any other interface of this machine.
  iptables -N SAMPLE-APP-ISOLATION 2>/dev/null || iptables -F SAMPLE-APP-ISOLATION
  iptables -A SAMPLE-APP-ISOLATION -i "$POD_BRIDGE" -o "$POD_BRIDGE" -j RETURN
  iptables -A SAMPLE-APP-ISOLATION -i "$POD_BRIDGE" -j DROP
  iptables -A SAMPLE-APP-ISOLATION -o "$POD_BRIDGE" -j DROP
  iptables -C FORWARD -j SAMPLE-APP-ISOLATION 2>/dev/null || iptables -I FORWARD 1 -j SAMPLE-APP-ISOLATION
  mkdir -p "$STATE/cni"
  cat >"$STATE/cni/10-sample-app.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "sample-app-local",
  "plugins": [
    {
      "type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "$POD_CIDR" }, { "dst": "$SERVICE_CIDR" }, { "dst": "$NODE_IP/32" }],
        "dataDir": "$STATE/cni-ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

# Everything below $STATE or $RUN_DIR that is mounted (pod volumes, container root filesystems).
our_mounts() { findmnt -rn -o TARGET | grep -E "^($STATE|$RUN_DIR)(/|$)" | sort -r || true; }

network_down() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ { print $1 }'); do ip netns delete "$ns" 2>/dev/null || true; done
  ip link delete "$POD_BRIDGE" 2>/dev/null || true
  ip link delete "$NODE_BRIDGE" 2>/dev/null || true
}

cgroups_down() {
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice /sys/fs/cgroup/unified/kubepods; do
    [[ -d "$d" ]] || continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# What an earlier run left behind; empty when the machine is clean.
leftovers() {
  local p
  for p in "${PROCESSES[@]}"; do running "$p" && echo "process $p (pid $(cat "$RUN_DIR/$p.pid"))"; done
  pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" >/dev/null && echo "container shims of $CONTAINERD_SOCK"
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && echo "interface $NODE_BRIDGE"
  ip link show "$POD_BRIDGE" >/dev/null 2>&1 && echo "interface $POD_BRIDGE"
  [[ -z "$(our_mounts)" ]] || echo "$(our_mounts | wc -l) mounts below $STATE"
  enforcer_leftovers
  [[ ! -s "$STATE/host/iptables" ]] || echo "iptables and sysctl changes (a record of the previous values is in $STATE/host)"
  true
}

# --- the cluster ------------------------------------------------------------------------------

start_containerd() {
  mkdir -p "$STATE/containerd" "$RUN_DIR/containerd"
  cat >"$STATE/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd"
state = "$RUN_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$RUN_DIR/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  # Root here lacks CAP_SYS_RESOURCE: never lower a process's oom_score_adj below our own.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni"
EOF
  start containerd containerd --config "$STATE/containerd.toml"
  wait_for 30 containerd ctr --address "$CONTAINERD_SOCK" version
}

start_control_plane() {
  start etcd "$BIN/etcd-$ETCD_VERSION" --name local --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster local=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810 \
    --quota-backend-bytes 1073741824 --log-level warn
  wait_for 30 etcd curl -fsS http://127.0.0.1:23810/health

  start kube-apiserver "$BIN/kube-apiserver-$K8S_VERSION" \
    --etcd-servers http://127.0.0.1:23790 --bind-address "$NODE_IP" --advertise-address "$NODE_IP" \
    --secure-port "$API_PORT" --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction,ResourceQuota,LimitRanger \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --enable-aggregator-routing --profiling=false --allow-privileged=false --v 1
  wait_for 120 "the API server" kc get --raw /readyz

  local common=(--bind-address 127.0.0.1 --leader-elect=false --profiling=false)
  start kube-controller-manager "$BIN/kube-controller-manager-$K8S_VERSION" "${common[@]}" \
    --kubeconfig "$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$PKI/controller-manager.kubeconfig" --authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --root-ca-file "$PKI/ca.crt" \
    --service-account-private-key-file "$PKI/sa.key" --use-service-account-credentials \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" --allocate-node-cidrs=false \
    --horizontal-pod-autoscaler-sync-period 5s --horizontal-pod-autoscaler-downscale-stabilization 30s
  start kube-scheduler "$BIN/kube-scheduler-$K8S_VERSION" "${common[@]}" \
    --kubeconfig "$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig "$PKI/scheduler.kubeconfig" --authorization-kubeconfig "$PKI/scheduler.kubeconfig"
}

start_node() {
  mkdir -p "$STATE/kubelet" "$STATE/local-path"
  cat >"$STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# PID 1 is not systemd and the machine runs cgroup v1.
cgroupDriver: cgroupfs
failCgroupV1: false
# Root here lacks CAP_SYS_RESOURCE, so the kubelet cannot lower its own OOM score.
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [$DNS_SERVICE_IP]
resolvConf: ""
failSwapOn: false
# The images are imported, not pulled: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2% }
serializeImagePulls: false
maxPods: 60
podPidsLimit: 4096
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
shutdownGracePeriod: 0s
podLogsDir: $STATE/pod-logs
EOF
  start kubelet "$BIN/kubelet-$K8S_VERSION" --config "$STATE/kubelet.yaml" --kubeconfig "$PKI/kubelet.kubeconfig" \
    --root-dir "$STATE/kubelet" --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v 1
  cat >"$STATE/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $PKI/kube-proxy.kubeconfig }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
  start kube-proxy "$BIN/kube-proxy-$K8S_VERSION" --config "$STATE/kube-proxy.yaml"
  wait_for 120 "node $NODE_NAME to be Ready" \
    kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
}

# Addons as pods: CoreDNS, metrics-server, local-path-provisioner (StorageClass standard),
# Traefik (IngressClass traefik, GatewayClass traefik) and the Gateway API CRDs.
start_addons() {
  local crds
  crds=$(bash "$REPO_ROOT/scripts/gateway-api-crds.sh")
  kc apply --server-side --field-manager sample-app-cluster -f "$crds" >/dev/null
  kc wait --for=condition=Established crd --all --timeout=60s >/dev/null
  sed -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@STATE@|$STATE|g" -e "s|@COREDNS_VERSION@|$COREDNS_VERSION|g" \
    -e "s|@METRICS_SERVER_VERSION@|$METRICS_SERVER_VERSION|g" -e "s|@TRAEFIK_VERSION@|$TRAEFIK_VERSION|g" \
    -e "s|@LOCAL_PATH_VERSION@|$LOCAL_PATH_VERSION|g" "$CLUSTER_DIR/addons.yaml" \
    | kc apply --server-side --field-manager sample-app-cluster -f - >/dev/null
  local d
  for d in kube-system/coredns kube-system/metrics-server local-path-storage/local-path-provisioner traefik/traefik; do
    kc -n "${d%/*}" rollout status "deployment/${d#*/}" --timeout=120s >/dev/null || {
      kc -n "${d%/*}" get pods -o wide >&2; die "addon $d did not become ready (logs: kubectl -n ${d%/*} logs deploy/${d#*/})"
    }
  done
  wait_for 90 "the metrics API" kc get --raw /apis/metrics.k8s.io/v1beta1/nodes
}

# The user's kubeconfig gets a context named sample-app-local, as minikube and kind do.
user_kubeconfig() { printf '%s' "${KUBECONFIG:-$HOME/.kube/config}" | cut -d: -f1; }

merge_context() {
  local file
  file=$(user_kubeconfig)
  mkdir -p "$(dirname "$file")"
  context_entry "$file" "$CONTEXT" admin
  chmod 600 "$file"
  log "kube context $CONTEXT merged into $file"
}

remove_context() {
  local file k="$BIN/kubectl-$K8S_VERSION"
  file=$(user_kubeconfig)
  [[ -s "$file" && -x "$k" ]] || return 0
  "$k" config delete-context "$CONTEXT" --kubeconfig "$file" >/dev/null 2>&1 || true
  "$k" config delete-cluster "$CONTEXT" --kubeconfig "$file" >/dev/null 2>&1 || true
  "$k" config delete-user "$CONTEXT" --kubeconfig "$file" >/dev/null 2>&1 || true
}

cmd_down() {
  local purge=${1:-}
  local p
  # The enforcer first: it removes its jumps, chains and ipsets (it needs no API server).
  enforcer_stop
  for p in kubelet kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$p"; done
  if running containerd; then
    local t
    for t in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 1
    for t in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
    for t in $(ctr --address "$CONTAINERD_SOCK" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$CONTAINERD_SOCK" -n k8s.io containers delete "$t" >/dev/null 2>&1 || true
    done
  fi
  stop containerd
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null || true
  local m
  while read -r m; do [[ -z "$m" ]] || umount -l "$m" 2>/dev/null || true; done < <(our_mounts)
  network_down
  cgroups_down
  find /var/log/containers -maxdepth 1 -lname "$STATE/*" -delete 2>/dev/null || true
  rm -f /var/lib/cni/results/sample-app-local-* /var/lib/cni/results/cni-loopback-*
  restore_host_state
  remove_context
  # The cluster's data goes, and with it the Pulumi state of the stacks it ran (their objects are gone:
  # a state that names them would make the next deploy fail); the image store (containerd's content)
  # and the engine's plugin home stay unless --purge.
  rm -rf "$STATE/etcd" "$STATE/kubelet" "$STATE/local-path" "$STATE/cni-ipam" "$STATE/pod-logs" "$STATE/stacks" "$PKI" "$RUN_DIR" \
    "$STATE/engine/backend" "$STATE/engine/work" "$STATE/engine/passphrase"
  [[ "$purge" != "--purge" ]] || rm -rf "$STATE"
  local left
  left=$(leftovers)
  [[ -z "$left" ]] || { log "still left over:"; printf '  %s\n' "$left" >&2; return 1; }
  log "down: nothing of the cluster is left running"
}

cmd_up() {
  local t0 left
  t0=$(date +%s)
  left=$(leftovers)
  if [[ -n "$left" ]]; then
    log "a previous cluster was not brought down cleanly; cleaning up:"
    printf '  %s\n' "$left" >&2
    cmd_down
  fi
  bash "$CLUSTER_DIR/build.sh"
  log "starting the cluster (Kubernetes $K8S_VERSION)"
  trap 'log "up failed; bringing down what started (logs in $LOGS)"; cmd_down || true' ERR INT TERM
  save_host_state
  make_pki
  network_up
  start_containerd
  bash "$CLUSTER_DIR/images.sh" --import "$CONTAINERD_SOCK"
  start_control_plane
  start_node
  # Every pod, the addons' too, is under NetworkPolicy from its start.
  enforcer_start
  start_addons
  trap - ERR INT TERM
  merge_context
  log "cluster up in $(( $(date +%s) - t0 ))s: kubectl --context $CONTEXT get pods -A; ingress on http://*.localhost:$HTTP_PORT/"
}

cmd_status() {
  local p
  for p in "${PROCESSES[@]}"; do
    if running "$p"; then echo "$p: running (pid $(cat "$RUN_DIR/$p.pid"))"; else echo "$p: not running"; fi
  done
  running kube-apiserver || return 0
  kc get nodes -o wide
  kc get pods -A -o wide
}

cmd="${1:-}"
[[ $# -eq 0 ]] || shift
case "$cmd" in
  up) [[ $# -eq 0 ]] || usage "up takes no arguments"; cmd_up ;;
  down) [[ $# -eq 0 || "$1" == "--purge" ]] || usage "down takes only --purge"; cmd_down "${1:-}" ;;
  status) cmd_status ;;
  images) running containerd || die "the cluster is not up"; bash "$CLUSTER_DIR/images.sh" --import "$CONTAINERD_SOCK" ;;
  deploy | preview | refresh | destroy)
    [[ $# -ge 1 ]] || usage "$cmd needs a STACK (dev or test)"
    running kube-apiserver || die "the cluster is not up: npm run cluster -- up"
    # The Pulumi Node.js SDK needs Node >= 22 (scripts/ensure-node.sh finds or installs it).
    PATH="$("$REPO_ROOT/scripts/ensure-node.sh"):$PATH"
    exec "$REPO_ROOT/node_modules/.bin/ts-node" --transpile-only "$CLUSTER_DIR/deploy.ts" "$cmd" "$@" ;;
  "") usage "which command?" ;;
  *) usage "unknown command '$cmd'" ;;
esac
