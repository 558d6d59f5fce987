# shellcheck shell=bash
# Kubeconfigs of the local cluster: one per component (its client certificate), the context
# sample-app-local merged into the user's kubeconfig as minikube and kind do, and a kubeconfig of the
# cluster's own whose contexts carry the names the stack files pin (`minikube` for dev and test,
# `ack-prod` for gray and prod), which `deploy` hands to the engine: a stack file's kubeContext works
# as written, and the user's own contexts of those names are never touched. Sourced by cluster.sh
# after lib.sh and pki.sh, never run.

# The kubeconfig `deploy` gives the engine (KUBECONFIG), with the contexts the stack files name.
STACKS_KUBECONFIG="$STATE/stacks.kubeconfig"
STACK_CONTEXTS=(sample-app-local minikube ack-prod)

# context_entry FILE USER CERT [CONTEXT]: cluster, user USER (CERT's client identity) and context
# CONTEXT (default $CONTEXT) in the kubeconfig FILE, certificates embedded; other entries of FILE are kept.
context_entry() {
  local file=$1 user=$2 cert=$3 context=${4:-$CONTEXT} k="$BIN/kubectl-$K8S_VERSION"
  "$k" config set-cluster "$CONTEXT" --kubeconfig "$file" --server "$API_SERVER" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$k" config set-credentials "$user" --kubeconfig "$file" --client-certificate "$PKI/$cert.crt" \
    --client-key "$PKI/$cert.key" --embed-certs >/dev/null
  "$k" config set-context "$context" --kubeconfig "$file" --cluster "$CONTEXT" --user "$user" >/dev/null
}

# kubeconfig NAME: a kubeconfig of its own for component NAME, with NAME's client certificate.
kubeconfig() {
  local file="$PKI/$1.kubeconfig"
  [[ -s "$file" ]] && return 0
  context_entry "$file" "$1" "$1"
  "$BIN/kubectl-$K8S_VERSION" config use-context "$CONTEXT" --kubeconfig "$file" >/dev/null
}

# The stacks' kubeconfig: every context of STACK_CONTEXTS leads to this cluster as its admin.
stacks_kubeconfig() {
  local c
  rm -f "$STACKS_KUBECONFIG"
  for c in "${STACK_CONTEXTS[@]}"; do context_entry "$STACKS_KUBECONFIG" "$CONTEXT" admin "$c"; done
  chmod 600 "$STACKS_KUBECONFIG"
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
