# shellcheck shell=bash
# The nodes: each a network namespace of its own (network.sh) with its own containerd, kubelet,
# kube-proxy and NetworkPolicy enforcer (enforcer.sh), in a cgroup of its own so that a node can be
# frozen whole, as a machine that stops answering. Sourced by cluster.sh after lib.sh, pki.sh,
# network.sh and enforcer.sh, never run.
#
#   node_up I        start node I and wait until it is Ready
#   node_down I      stop everything of node I (also after a crash), remove its namespace and mounts
#   node_freeze I    freeze every process of node I (daemons and pods) and cut its link: a lost node
#   node_thaw I      bring it back

# --- cgroups ------------------------------------------------------------------------------------
# cgroup v1 (one hierarchy per controller) or v2 (unified). The kubelet's pods go below
# $CGROUP_PARENT/<node> (its cgroupRoot), the node's daemons (containerd with the container shims,
# kubelet, kube-proxy, kube-router) into $CGROUP_PARENT/<node>/daemons of the freezer (v1) or of
# the unified tree (v2): freezing $CGROUP_PARENT/<node> freezes the whole node.
cgroup_v2() { [[ -e /sys/fs/cgroup/cgroup.controllers ]]; }

# The v1 hierarchies' mount points (cpu, memory, freezer, ...), the named systemd one included.
cgroup_v1_hierarchies() {
  local d
  for d in /sys/fs/cgroup/*; do
    [[ -d "$d" && ! -L "$d" && "$(basename "$d")" != unified && -e "$d/cgroup.procs" ]] && echo "$d"
  done
  true
}

# mkcgroup DIR: a v1 cgroup, with cpuset's cpus and mems taken from its parent (a new cpuset has none).
mkcgroup_v1() {
  local dir=$1 f
  [[ -d "$dir" ]] || mkdir "$dir"
  for f in cpuset.cpus cpuset.mems; do
    if [[ -e "$dir/$f" && -z "$(cat "$dir/$f")" ]]; then cat "$(dirname "$dir")/$f" >"$dir/$f"; fi
  done
}

node_cgroups_up() {
  local i=$1 name h c=()
  name=$(node_name "$i")
  if cgroup_v2; then
    local base=/sys/fs/cgroup/$CGROUP_PARENT controllers d
    mkdir -p "$base/$name/daemons"
    read -ra c </sys/fs/cgroup/cgroup.controllers
    controllers=$(printf ' +%s' "${c[@]}")
    for d in "$base" "$base/$name"; do
      # shellcheck disable=SC2086 # one word per controller
      echo $controllers >"$d/cgroup.subtree_control" 2>/dev/null || true
    done
  else
    while read -r h; do
      mkcgroup_v1 "$h/$CGROUP_PARENT"
      mkcgroup_v1 "$h/$CGROUP_PARENT/$name"
    done < <(cgroup_v1_hierarchies)
    mkcgroup_v1 "/sys/fs/cgroup/freezer/$CGROUP_PARENT/$name/daemons"
  fi
}

# The file a node's daemon writes its pid into to join the node's daemons cgroup.
node_daemon_procs() {
  local name
  name=$(node_name "$1")
  if cgroup_v2; then echo "/sys/fs/cgroup/$CGROUP_PARENT/$name/daemons/cgroup.procs"
  else echo "/sys/fs/cgroup/freezer/$CGROUP_PARENT/$name/daemons/cgroup.procs"; fi
}

# Every cgroup of the cluster, deepest first (the kubelet's pods' included).
our_cgroups() {
  local roots=()
  if cgroup_v2; then roots=("/sys/fs/cgroup/$CGROUP_PARENT"); else mapfile -t roots < <(cgroup_v1_hierarchies | sed "s|\$|/$CGROUP_PARENT|"); fi
  local r
  for r in "${roots[@]}"; do [[ -d "$r" ]] && find "$r" -depth -type d; done
  true
}

cgroups_down() {
  local d
  while read -r d; do [[ -z "$d" ]] || rmdir "$d" 2>/dev/null || true; done < <(our_cgroups)
}

# node_frozen_file I: the file whose value freezes node I.
node_freeze_file() {
  local name
  name=$(node_name "$1")
  if cgroup_v2; then echo "/sys/fs/cgroup/$CGROUP_PARENT/$name/cgroup.freeze"; else echo "/sys/fs/cgroup/freezer/$CGROUP_PARENT/$name/freezer.state"; fi
}

# --- processes of a node ------------------------------------------------------------------------

# node_start I NAME COMMAND...: start NAME@<node> in node I's daemons cgroup and network namespace.
node_start() {
  local i=$1 name=$2; shift 2
  # shellcheck disable=SC2016 # expanded by the inner shell
  start "$name@$(node_name "$i")" bash -c 'echo $$ >"$1" && exec nsenter --net="$2" -- "${@:3}"' _ \
    "$(node_daemon_procs "$i")" "/run/netns/$(node_netns "$i")" "$@"
}

node_containerd() {
  local i=$1 dir run
  dir=$(node_dir "$i"); run=$(node_run "$i")
  mkdir -p "$dir/containerd" "$run" "$dir/cni" "$dir/certs.d"
  cat >"$dir/containerd.toml" <<EOF
version = 2
root = "$dir/containerd"
state = "$run/containerd-state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$(node_sock "$i")"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10.1"
  # Root here lacks CAP_SYS_RESOURCE: never lower a process's oom_score_adj below our own.
  restrict_oom_score_adj = true
  enable_selinux = false
  # Pod network namespaces below the state directory, not /run/netns: down removes exactly ours.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    # The cluster's registry (--like ack), trusted through the cluster CA (registry.sh).
    config_path = "$dir/certs.d"
EOF
  cat >"$dir/cni/10-sample-app.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "sample-app-local",
  "plugins": [
    {
      "type": "bridge", "bridge": "$POD_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$(node_pod_cidr "$i")", "gateway": "$(node_pod_gateway "$i")" }]],
        "routes": [{ "dst": "$CLUSTER_CIDR" }, { "dst": "$SERVICE_CIDR" }, { "dst": "$NODE_SUBNET" }],
        "dataDir": "$dir/cni-ipam"
      }
    }
  ]
}
EOF
  node_start "$i" containerd containerd --config "$dir/containerd.toml"
  wait_running 30 "containerd@$(node_name "$i")" "containerd of $(node_name "$i")" ctr --address "$(node_sock "$i")" version
}

node_kubelet() {
  local i=$1 dir name ip labels=""
  dir=$(node_dir "$i"); name=$(node_name "$i"); ip=$(node_ip "$i")
  mkdir -p "$dir/kubelet" "$dir/local-path"
  if zoned; then labels="topology.kubernetes.io/zone=$(zone_of "$i"),topology.kubernetes.io/region=$(region)"; fi
  cat >"$dir/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $PKI/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $PKI/kubelet-serving-$name.crt
tlsPrivateKeyFile: $PKI/kubelet-serving-$name.key
containerRuntimeEndpoint: unix://$(node_sock "$i")
# PID 1 is not systemd: the cgroupfs driver, on cgroup v1 or v2. The node's pods go below its own
# cgroup, so that several nodes share this machine and one can be frozen whole.
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_PARENT/$name
failCgroupV1: false
# Root here lacks CAP_SYS_RESOURCE, so the kubelet cannot lower its own OOM score.
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [$DNS_SERVICE_IP]
resolvConf: ""
failSwapOn: false
# The images are imported or pulled by digest: never collect them.
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
podLogsDir: $dir/pod-logs
EOF
  node_start "$i" kubelet "$BIN/kubelet-$K8S_VERSION" --config "$dir/kubelet.yaml" --kubeconfig "$PKI/kubelet-$name.kubeconfig" \
    --root-dir "$dir/kubelet" --node-ip "$ip" --hostname-override "$name" ${labels:+--node-labels "$labels"} --v 1
}

node_kube_proxy() {
  local i=$1 dir name
  dir=$(node_dir "$i"); name=$(node_name "$i")
  cat >"$dir/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: $PKI/kube-proxy.kubeconfig }
hostnameOverride: $name
mode: iptables
clusterCIDR: $CLUSTER_CIDR
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$(node_ip "$i")/32"]
oomScoreAdj: 0
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
  node_start "$i" kube-proxy "$BIN/kube-proxy-$K8S_VERSION" --config "$dir/kube-proxy.yaml"
}

node_ready() { kc wait --for=condition=Ready "node/$(node_name "$1")" --timeout=2s; }

# node_up I: everything of node I, up to Ready and under the enforcer.
node_up() {
  local i=$1 where=""
  if zoned; then where=", zone $(zone_of "$i")"; fi
  log "node $(node_name "$i") ($(node_ip "$i"), pods $(node_pod_cidr "$i")$where)"
  node_cgroups_up "$i"
  node_network_up "$i"
  node_containerd "$i"
}

# node_join I: after the images are in its containerd: kubelet, kube-proxy, the enforcer.
node_join() {
  local i=$1 name
  name=$(node_name "$i")
  node_kubelet "$i"
  node_kube_proxy "$i"
  wait_running 120 "kubelet@$name" "node $name to be Ready" node_ready "$i"
  # Every pod is under NetworkPolicy from its start: the enforcer before the addons.
  enforcer_start "$i"
}

# node_down I: stops node I's processes and containers, removes its mounts and network namespace.
node_down() {
  local i=$1 name sock t
  name=$(node_name "$i"); sock=$(node_sock "$i")
  # A frozen node's processes cannot die: thaw it first.
  node_thaw_cgroup "$i"
  enforcer_stop "$i"
  stop "kubelet@$name"; stop "kube-proxy@$name"
  if running "containerd@$name"; then
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 1
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
    for t in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers delete "$t" >/dev/null 2>&1 || true
    done
  fi
  stop "containerd@$name"
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $sock" 2>/dev/null || true
  node_network_down "$i"
}

node_thaw_cgroup() {
  local f
  f=$(node_freeze_file "$1")
  [[ -e "$f" ]] || return 0
  if cgroup_v2; then echo 0 >"$f"; else echo THAWED >"$f"; fi
}

# node_freeze I: node I is lost without warning: every process of it stops where it is (its
# kubelet sends no more status, its pods answer nothing) and its link goes down.
node_freeze() {
  local i=$1 f
  f=$(node_freeze_file "$i")
  ip link set "$(node_veth "$i")" down
  if cgroup_v2; then echo 1 >"$f"; else echo FROZEN >"$f"; fi
  log "node $(node_name "$i") lost: processes frozen, link $(node_veth "$i") down"
}

# node_thaw I: node I comes back. If its Node was deleted meanwhile (the cloud removed the lost
# instance), it comes back as a replacement does: a kubelet registers it anew, with its zone (a
# running kubelet never registers again a Node deleted under it).
node_thaw() {
  local i=$1 name found
  name=$(node_name "$i")
  node_thaw_cgroup "$i"
  ip link set "$(node_veth "$i")" up
  log "node $name back: processes thawed, link $(node_veth "$i") up"
  found=$(kc get node "$name" -o name --ignore-not-found)
  if [[ -z "$found" ]]; then
    stop "kubelet@$name"
    node_kubelet "$i"
    wait_running 120 "kubelet@$name" "node $name to register again" kc get node "$name"
    log "node $name was deleted while lost: its kubelet restarted and registered it again"
  fi
}
