# shellcheck shell=bash
# The control plane: etcd, the API server, the controller manager and the scheduler, as processes of
# this machine on the cluster's bridge address ($CP_IP), like a managed control plane outside the
# nodes (ACK's is managed too). Sourced by cluster.sh after lib.sh and pki.sh, never run.

start_control_plane() {
  start etcd "$BIN/etcd-$ETCD_VERSION" --name local --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster local=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810 \
    --quota-backend-bytes 1073741824 --log-level warn
  wait_running 30 etcd etcd curl -fsS http://127.0.0.1:23810/health

  start kube-apiserver "$BIN/kube-apiserver-$K8S_VERSION" \
    --etcd-servers http://127.0.0.1:23790 --bind-address "$CP_IP" --advertise-address "$CP_IP" \
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
  wait_running 120 kube-apiserver "the API server" kc get --raw /readyz

  local common=(--bind-address 127.0.0.1 --leader-elect=false --profiling=false)
  start kube-controller-manager "$BIN/kube-controller-manager-$K8S_VERSION" "${common[@]}" \
    --kubeconfig "$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$PKI/controller-manager.kubeconfig" --authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --root-ca-file "$PKI/ca.crt" \
    --service-account-private-key-file "$PKI/sa.key" --use-service-account-credentials \
    --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$CLUSTER_CIDR" --allocate-node-cidrs=false \
    --horizontal-pod-autoscaler-sync-period 5s --horizontal-pod-autoscaler-downscale-stabilization 30s
  start kube-scheduler "$BIN/kube-scheduler-$K8S_VERSION" "${common[@]}" \
    --kubeconfig "$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig "$PKI/scheduler.kubeconfig" --authorization-kubeconfig "$PKI/scheduler.kubeconfig"
}

stop_control_plane() {
  local p
  for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$p"; done
}
