# shellcheck shell=bash
# The local cluster's NetworkPolicy enforcer: kube-router's firewall controller alone, one per node, as a
# process of the node like its kubelet (iptables and ipset in the node's network namespace, which
# `down` deletes with everything kube-router wrote there). Sourced, never run.
#
# kube-router v2.1.0 is the enforcer of this isolated, loopback-only test cluster and nothing else:
# security flaws are reported for it (see versions.sh). Never recommend it to users; minikube
# `--cni=calico` and ACK (Terway) enforce the same policies there.
#
# Why a node process and not a pod: kube-router's firewall needs the node's network namespace and
# NET_ADMIN (its own DaemonSet is privileged, on the host network), and the API server here runs with
# --allow-privileged=false. Why not sigs.k8s.io/kube-network-policies (v0.7.0, v0.8.0): every rule it
# writes sends packets to user space with an nftables `queue` expression, which needs CONFIG_NFT_QUEUE;
# this kernel lacks it (an nft `queue num 100 bypass` rule is refused with "No such file or directory",
# while iptables' NFQUEUE target works), and neither version has a flag, build tag or iptables mode
# that avoids it (--fail-open only adds `bypass` to the same expression).
#
# Wiring: node.sh's node_join runs `enforcer_start I` once node I is Ready (kube-router finds its Node
# by name) and before the addons, so every pod is under policy from its start; node_down runs
# `enforcer_stop I` first. Flow checks run `enforcer_covers I NAMESPACE POD` before a probe pod's
# connections. install-deps.sh installs `ipset` (kube-router runs the ipset command).
#
# What kube-router v2.1.0 enforces of networking.k8s.io/v1 NetworkPolicy (read in its source,
# pkg/controllers/netpol), and where it differs from Calico and Terway:
# - Ingress and egress, podSelector, namespaceSelector, both together, ipBlock: yes. ipBlock `except`:
#   yes (ipset `nomatch` entries). A /0 block is split into two /1 entries.
# - Numeric ports with their protocol (passed to iptables `-p` as written) and `endPort` ranges
#   (`--dport start:end`; an endPort below the port is ignored): yes.
# - Named ports: yes, resolved to the numbers the selected pods' containers declare (an ipset of the
#   pods per name and port). It differs in one case: when every port of a rule is a name that no
#   selected pod declares, kube-router admits the rule's peers on every port (the rule is left with
#   no ports, which it reads as "all"), where the API says such a port matches nothing. The stacks
#   name their ports by number only.
# - A denied connection is REJECTed (ICMP port unreachable), where Calico and Terway drop it (the
#   client times out). Measured on this node, most denied connects time out all the same (the
#   kernel's per-host ICMP rate limit suppresses most answers); the flow check accepts both.
#   Invalid conntrack state is dropped.
# - Traffic from the node itself to its pods (the kubelet's probes) is always accepted, before any
#   policy; Calico also lets the host reach its local pods. Traffic from another node, the control
#   plane or the ALB stand-in is subject to the policies like any other. Pods on the host network are never a
#   policy's target or peer (so the gateway must be a pod, as addons.yaml runs Traefik).
# - Logging: every rejected packet goes to NFLOG group 100, rate-limited to 10 a minute per pod,
#   with no per-policy switch; nothing reads the group here (read it with `tcpdump -i nflog:100`).
#   Calico logs through a Log action in its own policy kinds, not through NetworkPolicy.
# - AdminNetworkPolicy and BaselineAdminNetworkPolicy: not in v2.1.0.
# - `kube-router --cleanup-config` is not used: in v2.1.0 its firewall part acts on an empty
#   controller (nothing to clean), and its service-proxy and routing parts would flush IPVS and
#   routes. Its chains and ipsets live in the node's network namespace and go with it.

# The RBAC kube-router's informers need (it watches Services, Endpoints and EndpointSlices too, even
# with only the firewall on), for the client certificate's user.
enforcer_rbac() {
  kc apply --server-side --field-manager sample-app-cluster -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "sample-app-local:kube-router" }
rules:
  - { apiGroups: [""], resources: [namespaces, pods, services, nodes, endpoints], verbs: [get, list, watch] }
  - { apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, watch] }
  - { apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "sample-app-local:kube-router" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "sample-app-local:kube-router" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kube-router" }]
EOF
}

# enforcer_synced I: kube-router of node I has hooked its chains in and written its default chain (its first full sync).
enforcer_synced() {
  in_node "$1" iptables -S FORWARD | grep -q -- '-j KUBE-ROUTER-FORWARD' && in_node "$1" iptables -S KUBE-NWPLCY-DEFAULT >/dev/null 2>&1
}

# enforcer_start I: runs kube-router's firewall controller in node I and waits for its first sync.
enforcer_start() {
  local i=$1 bin="$BIN/kube-router-$KUBE_ROUTER_VERSION" name
  name=$(node_name "$i")
  [[ -x "$bin" ]] || die "no $bin: scripts/cluster/build.sh kube-router"
  command -v ipset >/dev/null || die "kube-router needs the ipset command: scripts/cluster/install-deps.sh"
  cert kube-router system:kube-router
  kubeconfig kube-router
  enforcer_rbac
  # No health or metrics listener, no routes, no service proxy (kube-proxy is the proxy), no CNI
  # config of its own; IPv4 only, like the cluster.
  node_start "$i" kube-router "$bin" --kubeconfig "$PKI/kube-router.kubeconfig" --hostname-override "$name" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
    --enable-cni=false --enable-ipv4=true --enable-ipv6=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 0 --metrics-port 0 \
    --iptables-sync-period 30s --v 1
  wait_running 60 "kube-router@$name" "kube-router's first policy sync on $name" enforcer_synced "$i" ||
    die "the NetworkPolicy enforcer of $name did not start (log: $LOGS/kube-router@$name.log)"
}

# enforcer_covers I NAMESPACE POD: node I's kube-router has written the pod's firewall (a new pod is not
# under policy until kube-router's next sync, about a second): what a flow check waits for before it connects.
enforcer_covers() { in_node "$1" iptables -S KUBE-ROUTER-FORWARD 2>/dev/null | grep -qF "POD name:$3 namespace: $2 to chain"; }

# enforcer_stop I: stops node I's kube-router; its chains and ipsets go with the node's namespace.
enforcer_stop() { stop "kube-router@$(node_name "$1")"; }
