# shellcheck shell=bash
# The cluster's networks. Sourced by cluster.sh after lib.sh, never run.
#
# One bridge on this machine, $CP_BRIDGE ($CP_IP, the control plane's and the registry's address),
# is the cluster's "VPC". Each node is a network namespace joined to it by a veth pair: eth0 with
# the node's address, a pod bridge of its own with the node's pod range, and a route to every other
# node's pod range through that node, as kind's nodes route. This machine has a route to every pod
# range too (the API server answers the pods, and reaches the metrics server). The ALB stand-in
# (`--like ack`) is one more namespace on the bridge, outside the pod network.
#
# What this changes on the machine, all of it named so that `down` removes exactly that: the bridge
# and the veths, the namespaces sa-node-<i> and sa-alb, the route_localnet setting of the bridge (it
# goes with it), and the chains SAMPLE-APP-* of the filter and nat tables with the one jump to each
# from a built-in chain. Every other iptables rule, namespace and setting of the machine is left as
# it is: a node's kube-proxy, CNI plugins and enforcer write their rules into the node's namespace,
# which `down` deletes whole.

NETWORK_CHAINS=(filter:FORWARD:SAMPLE-APP-FORWARD nat:OUTPUT:SAMPLE-APP-PUBLISH nat:POSTROUTING:SAMPLE-APP-MASQ)

# host_network_up: the bridge, the isolation of the bridge from the machine's other interfaces,
# and the loopback port of the in-cluster gateway.
host_network_up() {
  if ! ip link show "$CP_BRIDGE" >/dev/null 2>&1; then
    ip link add "$CP_BRIDGE" type bridge
  fi
  ip addr replace "$CP_IP/24" dev "$CP_BRIDGE"
  ip link set "$CP_BRIDGE" up
  local spec table builtin chain
  for spec in "${NETWORK_CHAINS[@]}"; do
    IFS=: read -r table builtin chain <<<"$spec"
    iptables -t "$table" -N "$chain" 2>/dev/null || iptables -t "$table" -F "$chain"
    iptables -t "$table" -C "$builtin" -j "$chain" 2>/dev/null || iptables -t "$table" -I "$builtin" 1 -j "$chain"
  done
  # The nodes, the control plane and the ALB stand-in talk across the bridge (accepted here, ahead of
  # a FORWARD policy of DROP such as Docker's); nothing is forwarded between the bridge and any other
  # interface of this machine, whatever its ip_forward says.
  iptables -A SAMPLE-APP-FORWARD -i "$CP_BRIDGE" -o "$CP_BRIDGE" -j ACCEPT
  iptables -A SAMPLE-APP-FORWARD -i "$CP_BRIDGE" -j DROP
  iptables -A SAMPLE-APP-FORWARD -o "$CP_BRIDGE" -j DROP
  # 127.0.0.1:$HTTP_PORT leads to the in-cluster gateway's Service, through node 1's kube-proxy
  # (route below), with this machine's bridge address as the source.
  iptables -t nat -A SAMPLE-APP-PUBLISH -d 127.0.0.1/32 -p tcp --dport "$HTTP_PORT" -j DNAT --to-destination "$GATEWAY_SERVICE_IP:$HTTP_PORT"
  iptables -t nat -A SAMPLE-APP-MASQ -s 127.0.0.0/8 -o "$CP_BRIDGE" -j MASQUERADE
  sysctl -q -w "net.ipv4.conf.$CP_BRIDGE.route_localnet=1"
}

host_network_down() {
  local spec table builtin chain
  for spec in "${NETWORK_CHAINS[@]}"; do
    IFS=: read -r table builtin chain <<<"$spec"
    while iptables -t "$table" -D "$builtin" -j "$chain" 2>/dev/null; do :; done
    iptables -t "$table" -F "$chain" 2>/dev/null || true
    iptables -t "$table" -X "$chain" 2>/dev/null || true
  done
  ip link delete "$CP_BRIDGE" 2>/dev/null || true
}

# host_routes: this machine reaches each node's pod range through the node, and the Service range
# through node 1 (for the published gateway port).
host_routes() {
  local i
  for ((i = 1; i <= NODES; i++)); do ip route replace "$(node_pod_cidr "$i")" via "$(node_ip "$i")" dev "$CP_BRIDGE"; done
  ip route replace "$SERVICE_CIDR" via "$(node_ip 1)" dev "$CP_BRIDGE"
}

# ns_link NETNS VETH ADDRESS: namespace NETNS joined to the bridge by VETH, with ADDRESS/24 on its eth0.
ns_link() {
  local ns=$1 veth=$2 address=$3
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip link set "$veth" master "$CP_BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$address/24" dev eth0
  ip -n "$ns" link set eth0 up
}

# ns_pod_routes NETNS [SKIP]: routes from NETNS to every node's pod range through that node (but node SKIP's).
ns_pod_routes() {
  local ns=$1 skip=${2:-0} j
  for ((j = 1; j <= NODES; j++)); do
    [[ "$j" -eq "$skip" ]] || ip -n "$ns" route replace "$(node_pod_cidr "$j")" via "$(node_ip "$j")" dev eth0
  done
}

node_network_up() {
  local i=$1 ns
  ns=$(node_netns "$i")
  ns_link "$ns" "$(node_veth "$i")" "$(node_ip "$i")"
  ns_pod_routes "$ns" "$i"
  # A node forwards its pods' traffic, and its bridged pod traffic passes iptables (for kube-proxy and
  # the enforcer); both settings belong to the node's namespace.
  ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
}

# The pod network namespaces of node I's containerd (netns_mounts_under_state_dir), unmounted.
node_pod_netns_down() {
  local run m
  run=$(node_run "$1")
  while read -r m; do [[ -z "$m" ]] || umount -l "$m" 2>/dev/null || true; done \
    < <(findmnt -rn -o TARGET | grep -E "^$run/" | sort -r || true)
}

node_network_down() {
  local i=$1
  node_pod_netns_down "$i"
  ip netns delete "$(node_netns "$i")" 2>/dev/null || true
  ip link delete "$(node_veth "$i")" 2>/dev/null || true
}

# The ALB stand-in's namespace: an address on the bridge, routes to the pods through their nodes.
alb_network_up() {
  ns_link sa-alb sa-veth-alb "$ALB_IP"
  ns_pod_routes sa-alb
}

alb_network_down() {
  ip netns delete sa-alb 2>/dev/null || true
  ip link delete sa-veth-alb 2>/dev/null || true
}

# What of the networks is left; empty when nothing is.
network_leftovers() {
  local spec table builtin chain ns
  ip link show "$CP_BRIDGE" >/dev/null 2>&1 && echo "interface $CP_BRIDGE"
  for spec in "${NETWORK_CHAINS[@]}"; do
    IFS=: read -r table builtin chain <<<"$spec"
    iptables -t "$table" -S "$chain" >/dev/null 2>&1 && echo "iptables chain $table/$chain"
  done
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
    [[ "$ns" == sa-node-* || "$ns" == sa-alb ]] && echo "network namespace $ns"
  done
  ip -br link 2>/dev/null | awk '{ print $1 }' | sed -n '/^sa-veth/ { s/@.*//; s/^/interface /; p }'
}
