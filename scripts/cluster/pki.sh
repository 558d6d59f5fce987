# shellcheck shell=bash
# Certificates of the local cluster, made with openssl on this machine: a CA, the API server's serving
# certificate, a client certificate per component and per node, each node's kubelet serving
# certificate, and the registry's. Sourced by cluster.sh after lib.sh, never run. Existing files are
# kept, so a restart keeps its identities.

# cert NAME CN [O] [SANS]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=${3:-} sans=${4:-} subj ext
  [[ -s "$PKI/$name.crt" ]] && return 0
  subj="/CN=$cn"
  [[ -z "$org" ]] || subj="/O=$org$subj"
  ext="$PKI/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$sans" ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/${CA_NAME:-ca}.crt" -CAkey "$PKI/${CA_NAME:-ca}.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

ca() { # ca NAME CN
  [[ -s "$PKI/$1.crt" ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -days 3650 \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  ca ca "sample-app-local-ca"
  ca front-proxy-ca "sample-app-local-front-proxy-ca"
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  api_sans+=",DNS:localhost,IP:127.0.0.1,IP:$CP_IP,IP:$KUBERNETES_SERVICE_IP"
  cert apiserver kube-apiserver "" "$api_sans"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client
  cert admin sample-app-local-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kube-proxy system:kube-proxy
  local i name
  for ((i = 1; i <= NODES; i++)); do
    name=$(node_name "$i")
    cert "kubelet-$name" "system:node:$name" system:nodes
    cert "kubelet-serving-$name" "system:node:$name" system:nodes "DNS:$name,IP:$(node_ip "$i")"
  done
  CA_NAME=front-proxy-ca cert front-proxy-client front-proxy-client
  [[ -s "$PKI/sa.key" ]] || {
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
  local who
  for who in admin controller-manager scheduler kube-proxy; do kubeconfig "$who"; done
  for ((i = 1; i <= NODES; i++)); do kubeconfig "kubelet-$(node_name "$i")"; done
}
