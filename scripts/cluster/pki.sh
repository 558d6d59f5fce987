# shellcheck shell=bash
# Certificates and kubeconfigs of the local cluster, made with openssl on this machine.
# Sourced by cluster.sh after lib.sh. Existing files are kept, so a restart keeps its identities.

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

# context_entry FILE USER CERT: cluster, user USER (CERT's client identity) and context $CONTEXT in
# the kubeconfig FILE, certificates embedded; other entries of FILE are kept.
context_entry() {
  local file=$1 user=$2 cert=$3 k="$BIN/kubectl-$K8S_VERSION"
  "$k" config set-cluster "$CONTEXT" --kubeconfig "$file" --server "$API_SERVER" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$k" config set-credentials "$user" --kubeconfig "$file" --client-certificate "$PKI/$cert.crt" \
    --client-key "$PKI/$cert.key" --embed-certs >/dev/null
  "$k" config set-context "$CONTEXT" --kubeconfig "$file" --cluster "$CONTEXT" --user "$user" >/dev/null
}

# kubeconfig NAME: a kubeconfig of its own for component NAME, with NAME's client certificate.
kubeconfig() {
  local file="$PKI/$1.kubeconfig"
  [[ -s "$file" ]] && return 0
  context_entry "$file" "$1" "$1"
  "$BIN/kubectl-$K8S_VERSION" config use-context "$CONTEXT" --kubeconfig "$file" >/dev/null
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  ca ca "sample-app-local-ca"
  ca front-proxy-ca "sample-app-local-front-proxy-ca"
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  api_sans+=",DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$KUBERNETES_SERVICE_IP"
  cert apiserver kube-apiserver "" "$api_sans"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client
  cert admin sample-app-local-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kube-proxy system:kube-proxy
  cert kubelet "system:node:$NODE_NAME" system:nodes
  cert kubelet-serving "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,IP:$NODE_IP"
  CA_NAME=front-proxy-ca cert front-proxy-client front-proxy-client
  [[ -s "$PKI/sa.key" ]] || {
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
  local who
  for who in admin controller-manager scheduler kube-proxy kubelet; do kubeconfig "$who"; done
}
