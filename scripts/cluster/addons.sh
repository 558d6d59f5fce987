# shellcheck shell=bash
# The cluster's add-ons. Sourced by cluster.sh after lib.sh, pki.sh and kubeconfig.sh, never run.
#
# Every cluster (addons.yaml): CoreDNS, metrics-server, local-path-provisioner (StorageClass
# `standard`, a directory of each node), Traefik as a pod (IngressClass and GatewayClass `traefik`,
# the shared Gateway traefik/sample-app-local, published on 127.0.0.1:$HTTP_PORT), the Gateway API CRDs,
# and Prometheus in namespace `monitoring` (`arms-prom` on `--like ack`, metrics_namespace), scraping
# annotated pods (the API's, Traefik's).
#
# `--like ack` adds what an ACK cluster has (addons-ack.yaml): ACK's disk StorageClasses, node-local
# and WaitForFirstConsumer like a cloud disk made in its pod's zone; the VolumeSnapshot CRDs, the
# snapshot controller and ACK's VolumeSnapshotClass; the PodMonitor and ServiceMonitor CRDs that
# ACK's Managed Service for Prometheus installs (no agent reads them here); the GatewayClass `alb`, served from outside the
# pod network by a second Traefik in a namespace of its own on the nodes' range (alb_start), with
# the shared Gateway gateway-system/public-alb that Pulumi.prod.yaml names.

# The TTL of the cluster DNS's own records, and of its "no such name" answers: 30 s in kubeadm's
# Corefile, which minikube uses; ACK's default Corefile sets none, so CoreDNS's default of 5 s. It
# matters to Redis Sentinel: a pod replaced moments ago stays "no such name" that long for the others.
dns_ttl() { if [[ "$LIKE" == ack ]]; then echo 5; else echo 30; fi; }

# Where the cluster's Prometheus runs: `monitoring` (the suite's metricsNamespace for dev and test), or on
# ACK's shape `arms-prom`, where ACK's Managed Service for Prometheus runs its agent and prod and gray admit
# scrapes from (their metricsNamespace). scripts/cluster/prometheus.ts knows the same two names.
metrics_namespace() { if [[ "$LIKE" == ack ]]; then echo arms-prom; else echo monitoring; fi; }

# addon_apply FILE: FILE with its @NAME@ placeholders filled, applied server-side.
addon_apply() {
  local paths="" i
  for ((i = 1; i <= NODES; i++)); do
    paths+="${paths:+, }{ \"node\": \"$(node_name "$i")\", \"paths\": [\"$(node_dir "$i")/local-path\"] }"
  done
  sed -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" -e "s|@GATEWAY_SERVICE_IP@|$GATEWAY_SERVICE_IP|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
    -e "s|@NODE_PATHS@|$paths|g" -e "s|@COREDNS_VERSION@|$COREDNS_VERSION|g" \
    -e "s|@METRICS_SERVER_VERSION@|$METRICS_SERVER_VERSION|g" -e "s|@TRAEFIK_VERSION@|$TRAEFIK_VERSION|g" \
    -e "s|@LOCAL_PATH_VERSION@|$LOCAL_PATH_VERSION|g" \
    -e "s|@PROMETHEUS_VERSION@|$PROMETHEUS_VERSION|g" -e "s|@ALB_IP@|$ALB_IP|g" -e "s|@DNS_TTL@|$(dns_ttl)|g" \
    -e "s|@METRICS_NAMESPACE@|$(metrics_namespace)|g" "$1" \
    | kc apply --server-side --field-manager sample-app-cluster -f - >/dev/null
}

start_addons() {
  local crds d
  crds=$(bash "$REPO_ROOT/scripts/gateway-api-crds.sh")
  kc apply --server-side --field-manager sample-app-cluster -f "$crds" >/dev/null
  kc wait --for=condition=Established crd --all --timeout=60s >/dev/null
  addon_apply "$CLUSTER_DIR/addons.yaml"
  for d in kube-system/daemonset/coredns kube-system/deployment/metrics-server local-path-storage/deployment/local-path-provisioner traefik/deployment/traefik \
    "$(metrics_namespace)/deployment/prometheus"; do
    kc -n "${d%%/*}" rollout status "${d#*/}" --timeout=120s >/dev/null || {
      kc -n "${d%%/*}" get pods -o wide >&2; die "addon ${d#*/} did not become ready (logs: kubectl -n ${d%%/*} logs ${d#*/})"
    }
  done
  wait_for 90 "the metrics API" kc get --raw /apis/metrics.k8s.io/v1beta1/nodes
}

# sa_token NAMESPACE NAME: a long-lived token of ServiceAccount NAME (made with its Secret), in $PKI.
sa_token() {
  local ns=$1 name=$2 file="$PKI/token-$1-$2"
  kc apply --server-side --field-manager sample-app-cluster -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: { name: $name-token, namespace: $ns, annotations: { kubernetes.io/service-account.name: $name } }
EOF
  wait_for 30 "the token of $ns/$name" token_ready "$ns" "$name"
  kc -n "$ns" get secret "$name-token" -o jsonpath='{.data.token}' | base64 -d >"$file"
  chmod 600 "$file"
  printf '%s' "$file"
}

token_ready() { [[ -n "$(kc -n "$1" get secret "$2-token" -o jsonpath='{.data.token}' 2>/dev/null)" ]]; }

# A kubeconfig for a host process that runs as ServiceAccount NAMESPACE/NAME.
sa_kubeconfig() {
  local ns=$1 name=$2 token file="$PKI/$2.kubeconfig" k="$BIN/kubectl-$K8S_VERSION"
  token=$(sa_token "$ns" "$name")
  "$k" config set-cluster "$CONTEXT" --kubeconfig "$file" --server "$API_SERVER" --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$k" config set-credentials "$name" --kubeconfig "$file" --token "$(cat "$token")" >/dev/null
  "$k" config set-context "$CONTEXT" --kubeconfig "$file" --cluster "$CONTEXT" --user "$name" >/dev/null
  "$k" config use-context "$CONTEXT" --kubeconfig "$file" >/dev/null
  printf '%s' "$file"
}

# ACK's add-ons, as far as this machine can have them.
start_ack_addons() {
  local snap crds kubeconfig
  crds=$(bash "$REPO_ROOT/scripts/volumesnapshot-crds.sh")
  local crd
  for crd in "$crds"/snapshot.storage.k8s.io_*.yaml; do kc apply --server-side --field-manager sample-app-cluster -f "$crd" >/dev/null; done
  # ACK's Managed Service for Prometheus (ack-arms-prometheus) reads PodMonitors and ServiceMonitors:
  # their CRDs, so prod and gray as written (metricsDiscovery podMonitor) make theirs.
  crds=$(bash "$REPO_ROOT/scripts/prometheus-operator-crds.sh")
  for crd in "$crds"/monitoring.coreos.com_{podmonitors,servicemonitors}.yaml; do kc apply --server-side --field-manager sample-app-cluster -f "$crd" >/dev/null; done
  kc wait --for=condition=Established crd --all --timeout=60s >/dev/null
  snap="$(bash "$REPO_ROOT/scripts/go-module-dir.sh" "github.com/kubernetes-csi/external-snapshotter/v8@v$SNAPSHOTTER_VERSION" deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml)"
  kc apply --server-side --field-manager sample-app-cluster -f "$snap/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml" >/dev/null
  addon_apply "$CLUSTER_DIR/addons-ack.yaml"
  kubeconfig=$(sa_kubeconfig kube-system snapshot-controller)
  start snapshot-controller "$BIN/snapshot-controller-$SNAPSHOTTER_VERSION" --kubeconfig "$kubeconfig" --leader-election=false \
    --http-endpoint= --v 2
  alb_start
}

# The ALB stand-in: Traefik outside the pod network (namespace sa-alb, $ALB_IP on the nodes' range),
# serving the GatewayClasses labelled implementation=alb from the API server with a ServiceAccount's
# token, load-balancing straight to the pods' addresses as ALB does in ACK. It runs unprivileged,
# with only the capability to bind 80 and 443.
alb_start() {
  local home="$STATE/alb"
  alb_network_up
  # Its home, with its own copies of the token and the CA it trusts the API server by ($PKI is
  # root's only); Traefik also looks for a configuration file there (it finds none: the flags are it).
  mkdir -p "$home"
  cp "$(sa_token gateway-system alb-controller)" "$home/token"
  cp "$PKI/ca.crt" "$home/ca.crt"
  # As ALB stops sending to a backend that fails (its health checks), the stand-in tries another
  # pod when one cannot be reached: a connection that is not made within a second is tried again
  # on the backend the balancer picks next (a new connection each time, none kept idle, so no
  # request waits on a connection to a pod that is gone), up to 16 attempts in all. Only requests no
  # backend answered are retried. Unlike ALB, it does not health-check the backends (Traefik's
  # Gateway API provider has no setting for it): a pod of a lost node stays among them until the
  # node controller marks the node, and, with other requests moving the balancer on meanwhile, each
  # attempt finds it again with the chance of one pod in N. Five attempts failed 13 of the 3,607
  # reads of a zone-loss check (prod had one frontend in three gone, gray one in two); 16 leave
  # (1/2)^16 of gray's.
  cat >"$home/retry.yml" <<'EOF'
http:
  middlewares:
    alb-retry:
      retry: { attempts: 16, initialInterval: 50ms }
EOF
  chown -R 65532:65532 "$home"
  chmod 700 "$home"
  start alb nsenter --net=/run/netns/sa-alb -- env HOME="$home" setpriv --reuid=65532 --regid=65532 --clear-groups \
    --inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
    "$BIN/traefik-$TRAEFIK_VERSION" \
    --entryPoints.web.address=:80 --entryPoints.websecure.address=:443 \
    --entryPoints.ping.address=:8082 --ping.entryPoint=ping \
    --providers.kubernetesGateway --providers.kubernetesGateway.endpoint="$API_SERVER" \
    --providers.kubernetesGateway.token="$home/token" --providers.kubernetesGateway.certAuthFilePath="$home/ca.crt" \
    --providers.kubernetesGateway.labelSelector=sample-app.local/gateway-implementation=alb \
    --providers.kubernetesGateway.statusAddress.ip="$ALB_IP" \
    --providers.file.filename="$home/retry.yml" \
    --entryPoints.web.http.middlewares=alb-retry@file --entryPoints.websecure.http.middlewares=alb-retry@file \
    --serversTransport.forwardingTimeouts.dialTimeout=1s --serversTransport.maxIdleConnsPerHost=-1 \
    --log.level=INFO --log.noColor=true --global.checkNewVersion=false --global.sendAnonymousUsage=false
  wait_running 60 alb "the ALB stand-in to accept GatewayClass alb" alb_accepted
  log "GatewayClass alb served from $ALB_IP (Gateway gateway-system/public-alb: http://$ALB_IP/, https://$ALB_IP/)"
}

alb_accepted() {
  [[ "$(kc get gatewayclass alb -o jsonpath='{.status.conditions[?(@.type=="Accepted")].status}')" == True ]] &&
    in_alb curl -fsS -o /dev/null http://127.0.0.1:8082/ping
}

in_alb() { nsenter --net=/run/netns/sa-alb -- "$@"; }

stop_ack_addons() {
  stop alb
  stop snapshot-controller
  alb_network_down
}
