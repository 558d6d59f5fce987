#!/usr/bin/env bash
# Validates every manifest under rendered/mock/<stack>/ in strict mode (unknown
# fields are errors) against the Kubernetes OpenAPI schemas of the versions we
# target: 1.31 (ACK) and 1.33 (minikube). The schemas come from the PyPI package
# kubernetes-validate, installed once into a venv under ~/.cache: no download at
# validation time.
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

stacks=("$@"); [ ${#stacks[@]} -gt 0 ] || stacks=(dev test gray prod)
passed=0; failed=0
for stack in "${stacks[@]}"; do
  dir="rendered/mock/$stack"
  files=("$dir"/*.yaml)
  [ -e "${files[0]}" ] || { echo "validate: no manifests in $dir; run scripts/manifests.ts first" >&2; exit 1; }
  for k in "${K8S_VERSIONS[@]}"; do
    if out=$("$venv/bin/kubernetes-validate" --strict --quiet -k "$k" "${files[@]}" 2>&1); then
      echo "ok   $stack: ${#files[@]} manifests valid against Kubernetes $k (strict)"
      passed=$((passed + 1))
    else
      echo "FAIL $stack against Kubernetes $k (strict):"; echo "$out" | sed 's/^/     /'
      failed=$((failed + 1))
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
