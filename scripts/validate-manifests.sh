#!/usr/bin/env bash
# Validates every manifest under rendered/mock/<stack>/ and its variants
# rendered/mock/<stack>-<variant>/ (scripts/manifests.ts) in strict mode (unknown fields are errors):
#  - Kubernetes objects against the OpenAPI schemas of the versions we target,
#    1.31 (ACK) and 1.33 (minikube), from the PyPI package kubernetes-validate;
#  - Gateway API objects (gateway.networking.k8s.io) against the CRD schemas of
#    the pinned Gateway API version (scripts/gateway-api-crds.sh, from the Go
#    module cache), with scripts/validate-crds.py; first it proves on a copy of a
#    rendered HTTPRoute that a misspelt field fails.
# kubernetes-validate is installed once into a venv under ~/.cache and the CRDs
# are downloaded once: after that, validation is offline.
#
#   scripts/validate-manifests.sh [stack ...]     (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."

KV_VERSION=1.37.0
K8S_VERSIONS=(1.31.0 1.33.0)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/sample-app/kubernetes-validate-$KV_VERSION"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  echo "validate: installing kubernetes-validate $KV_VERSION into $venv" >&2
  rm -rf "$venv.tmp" && python3 -m venv "$venv.tmp"
  "$venv.tmp/bin/pip" install -q "kubernetes-validate==$KV_VERSION"
  rm -rf "$venv" && mv "$venv.tmp" "$venv"
  # The venv's scripts name the temp path in their shebang: point them at the final one.
  sed -i "1s|$venv.tmp|$venv|" "$venv"/bin/*
fi
crds="$(scripts/gateway-api-crds.sh)"
validate_crds() { "$venv/bin/python" scripts/validate-crds.py "$crds" "$@"; }
indent() { sed 's/^/     /'; }

passed=0; failed=0
# check WHAT COMMAND...: runs COMMAND and reports "ok WHAT" (with its last line of output, if any) or its output.
check() {
  local what=$1 out; shift
  if out=$("$@" 2>&1); then
    echo "ok   $what${out:+ (${out##*$'\n'})}"
    passed=$((passed + 1))
  else
    echo "FAIL $what:"; indent <<<"$out"
    failed=$((failed + 1))
  fi
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

stacks=("$@"); [ ${#stacks[@]} -gt 0 ] || stacks=(dev test gray prod)
for stack in "${stacks[@]}"; do
  for dir in "rendered/mock/$stack" "rendered/mock/$stack"-*; do
    [ -d "$dir" ] || [ "$dir" = "rendered/mock/$stack" ] || continue
    name="${dir#rendered/mock/}"
    all=("$dir"/*.yaml)
    [ -e "${all[0]}" ] || { echo "validate: no manifests in $dir; run scripts/manifests.ts first" >&2; exit 1; }
    core=(); gateway=()
    for f in "${all[@]}"; do
      if grep -q '^apiVersion: gateway\.networking\.k8s\.io/' "$f"; then gateway+=("$f"); else core+=("$f"); fi
    done
    for k in "${K8S_VERSIONS[@]}"; do
      check "$name: ${#core[@]} manifests valid against Kubernetes $k (strict)" \
        "$venv/bin/kubernetes-validate" --strict --quiet -k "$k" "${core[@]}"
    done
    [ ${#gateway[@]} -eq 0 ] || check "$name: ${#gateway[@]} Gateway API manifests valid against the CRDs in $crds (strict)" \
      validate_crds "${gateway[@]}"
  done
done

# The Gateway API check must be able to fail: a rendered HTTPRoute with a misspelt field.
route="$(grep -l '^kind: HTTPRoute' rendered/mock/*/*.yaml | head -n 1)"
sed 's/backendRefs:/backendRef:/' "$route" >"$tmp/misspelt-httproute.yaml"
if validate_crds "$tmp/misspelt-httproute.yaml" >/dev/null 2>&1; then
  echo "FAIL the Gateway API check accepts an HTTPRoute with a misspelt field (backendRef, from $route)"
  failed=$((failed + 1))
else
  echo "ok   the Gateway API check rejects an HTTPRoute with a misspelt field (backendRef)"
  passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
