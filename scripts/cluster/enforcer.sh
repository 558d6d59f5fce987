# shellcheck shell=bash
# The local cluster's NetworkPolicy enforcer: kube-router's firewall controller alone, as a process of
# this machine like the kubelet (iptables and ipset in the host's network namespace). Sourced, never run.
#
# kube-router v2.1.0 is the enforcer of this isolated, loopback-only test cluster and nothing else:
# security flaws are reported for it (see versions.sh). Never recommend it to users; minikube
# `--cni=calico` and ACK (Terway) enforce the same policies there.
#
# Why a host process and not a pod: kube-router's firewall needs the host's network namespace and
# NET_ADMIN (its own DaemonSet is privileged, on the host network), and the API server here runs with
# --allow-privileged=false. Why not sigs.k8s.io/kube-network-policies (v0.7.0, v0.8.0): every rule it
# writes sends packets to user space with an nftables `queue` expression, which needs CONFIG_NFT_QUEUE;
# this kernel lacks it (an nft `queue num 100 bypass` rule is refused with "No such file or directory",
# while iptables' NFQUEUE target works), and neither version has a flag, build tag or iptables mode
# that avoids it (--fail-open only adds `bypass` to the same expression).
#
# Wiring, in cluster.sh (after `source pki.sh` and this file; needs cluster.sh's start/stop/running):
#   up:     after start_node (kube-router finds its Node by name) and before start_addons, so every pod
#           is under policy from its start:          enforcer_start
#   down:   first, before the processes stop (it needs no API server; it removes what it added either
#           way, also after a crash):               enforcer_stop
#   status and leftovers: add kube-router to PROCESSES; leftovers also prints `enforcer_leftovers`.
#   install-deps.sh: the `ipset` package (kube-router runs the ipset command).
#   flow checks: `enforcer_covers NAMESPACE POD` before trying a probe pod's connections.
# From lib.sh: BIN, KUBE_ROUTER_VERSION (versions.sh), PKI, LOGS, RUN_DIR, NODE_NAME, SERVICE_CIDR,
# POD_BRIDGE, log, die, kc, wait_for; from pki.sh: cert, kubeconfig.
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
#   policy; Calico also lets the host reach its local pods. Pods on the host network are never a
#   policy's target or peer (so the gateway must be a pod, as addons.yaml runs Traefik).
# - Logging: every rejected packet goes to NFLOG group 100, rate-limited to 10 a minute per pod,
#   with no per-policy switch; nothing reads the group here (read it with `tcpdump -i nflog:100`).
#   Calico logs through a Log action in its own policy kinds, not through NetworkPolicy.
# - AdminNetworkPolicy and BaselineAdminNetworkPolicy: not in v2.1.0.
# - `kube-router --cleanup-config` is not used: in v2.1.0 its firewall part acts on an empty
#   controller (nothing to clean), and its service-proxy and routing parts would flush IPVS and
#   routes of this machine. enforcer_stop removes kube-router's chains and sets by name instead.

# Chains kube-router creates in the filter table, and its ipsets (IPv4; "inet6:" names for IPv6).
ENFORCER_CHAINS='^(KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)|KUBE-NWPLCY-[A-Z0-9]+|KUBE-POD-FW-[A-Z0-9]+)$'
ENFORCER_SETS='^(inet6:)?(KUBE-SRC-|KUBE-DST-|TMP-)[A-Z0-9]+$'

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

# kube-router accepts what a policy allows with an ACCEPT in the filter table's FORWARD chain, at
# position 1, which it puts back there on every sync: SAMPLE-APP-ISOLATION (network_up) would no
# longer see those packets. The same isolation in the mangle table's FORWARD chain, which runs first,
# keeps pods from being forwarded to any other interface of this machine whatever the filter table says.
enforcer_isolation() {
  iptables -t mangle -N SAMPLE-APP-ISOLATION 2>/dev/null || iptables -t mangle -F SAMPLE-APP-ISOLATION
  iptables -t mangle -A SAMPLE-APP-ISOLATION -i "$POD_BRIDGE" -o "$POD_BRIDGE" -j RETURN
  iptables -t mangle -A SAMPLE-APP-ISOLATION -i "$POD_BRIDGE" -j DROP
  iptables -t mangle -A SAMPLE-APP-ISOLATION -o "$POD_BRIDGE" -j DROP
  iptables -t mangle -C FORWARD -j SAMPLE-APP-ISOLATION 2>/dev/null || iptables -t mangle -I FORWARD 1 -j SAMPLE-APP-ISOLATION
  # A pod's connection to a Service with no endpoints is not DNATed: kube-proxy REJECTs it in the
  # filter table, but the mangle copy above drops it first on its way to the default route (found on
  # the real node: nginx's request to a scaled-down API waited 5 s instead of failing at once). A
  # routing rule answers it at once ("prohibited") before any chain, and never routes it off the machine.
  enforcer_service_rule del
  ip rule add iif "$POD_BRIDGE" to "$SERVICE_CIDR" prohibit priority "$ENFORCER_RULE_PRIORITY"
}

# enforcer_service_rule del|show: the routing rule of enforcer_isolation (del: every copy of it).
ENFORCER_RULE_PRIORITY=1077
enforcer_service_rule() {
  if [[ "$1" == show ]]; then
    ip rule show priority "$ENFORCER_RULE_PRIORITY" 2>/dev/null || true
  else
    while ip rule del priority "$ENFORCER_RULE_PRIORITY" 2>/dev/null; do :; done
  fi
}

# Whether kube-router has hooked its chains in and written its default chain (its first full sync).
enforcer_synced() {
  iptables -S FORWARD | grep -q -- '-j KUBE-ROUTER-FORWARD' && iptables -S KUBE-NWPLCY-DEFAULT >/dev/null 2>&1
}

# enforcer_start: runs kube-router's firewall controller and waits for its first sync.
enforcer_start() {
  local bin="$BIN/kube-router-$KUBE_ROUTER_VERSION"
  [[ -x "$bin" ]] || die "no $bin: scripts/cluster/build.sh kube-router"
  command -v ipset >/dev/null || die "kube-router needs the ipset command: scripts/cluster/install-deps.sh"
  # Bridged pod-to-pod packets pass iptables only with this on (lib.sh's SYSCTLS records and restores it).
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
  enforcer_isolation
  cert kube-router system:kube-router
  kubeconfig kube-router
  enforcer_rbac
  # No health or metrics listener (they would bind every address of this machine), no routes, no
  # service proxy (kube-proxy is the proxy), no CNI config of its own; IPv4 only, like the cluster.
  start kube-router "$bin" --kubeconfig "$PKI/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
    --run-firewall=true --run-router=false --run-service-proxy=false --run-loadbalancer=false \
    --enable-cni=false --enable-ipv4=true --enable-ipv6=false \
    --service-cluster-ip-range "$SERVICE_CIDR" --health-port 0 --metrics-port 0 \
    --iptables-sync-period 30s --v 1
  wait_for 60 "kube-router's first policy sync" enforcer_synced || {
    running kube-router || log "kube-router exited: $(tail -n 5 "$LOGS/kube-router.log" 2>/dev/null)"
    die "the NetworkPolicy enforcer did not start (log: $LOGS/kube-router.log)"
  }
  log "NetworkPolicies enforced by kube-router $KUBE_ROUTER_VERSION (firewall only)"
}

# enforcer_covers NAMESPACE POD: kube-router has written the pod's firewall (a new pod is not under
# policy until kube-router's next sync, about a second): what a flow check waits for before it connects.
enforcer_covers() { iptables -S KUBE-ROUTER-FORWARD 2>/dev/null | grep -qF "POD name:$2 namespace: $1 to chain"; }

# Filter-table chains of kube-router that exist now.
enforcer_chains() { iptables -S 2>/dev/null | awk '$1 == "-N" { print $2 }' | grep -E "$ENFORCER_CHAINS" || true; }

# ipsets of kube-router that exist now.
enforcer_sets() { { ipset list -n 2>/dev/null || true; } | grep -E "$ENFORCER_SETS" || true; }

# enforcer_stop: stops kube-router, then removes its jumps, chains and ipsets and the mangle isolation
# copy, in that order (a set cannot go while a rule refers to it). Safe to run when nothing is there.
enforcer_stop() {
  stop kube-router
  local builtin rule chain set
  for builtin in INPUT FORWARD OUTPUT; do
    while read -r rule; do
      [[ -z "$rule" ]] || eval "iptables -D ${rule#-A }" 2>/dev/null || true
    done < <(iptables -S "$builtin" 2>/dev/null | grep -E -- "-j KUBE-ROUTER-(INPUT|FORWARD|OUTPUT)( |$)" || true)
  done
  # Flush every chain first: kube-router's chains jump to each other.
  for chain in $(enforcer_chains); do iptables -F "$chain" 2>/dev/null || true; done
  for chain in $(enforcer_chains); do iptables -X "$chain" 2>/dev/null || true; done
  for set in $(enforcer_sets); do ipset destroy "$set" 2>/dev/null || true; done
  while iptables -t mangle -D FORWARD -j SAMPLE-APP-ISOLATION 2>/dev/null; do :; done
  iptables -t mangle -F SAMPLE-APP-ISOLATION 2>/dev/null || true
  iptables -t mangle -X SAMPLE-APP-ISOLATION 2>/dev/null || true
  enforcer_service_rule del
}

# What of the enforcer is left (for cluster.sh's leftovers); empty when nothing is.
enforcer_leftovers() {
  local n
  n=$(enforcer_chains | wc -l)
  (( n == 0 )) || echo "$n iptables chains of kube-router (KUBE-ROUTER-*, KUBE-NWPLCY-*, KUBE-POD-FW-*)"
  n=$(enforcer_sets | wc -l)
  (( n == 0 )) || echo "$n ipsets of kube-router (KUBE-SRC-*, KUBE-DST-*)"
  iptables -t mangle -S SAMPLE-APP-ISOLATION >/dev/null 2>&1 && echo "the mangle table's SAMPLE-APP-ISOLATION chain"
  [[ -z "$(enforcer_service_rule show)" ]] || echo "the routing rule $(enforcer_service_rule show)"
  true
}
