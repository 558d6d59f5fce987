#!/usr/bin/env bash
# Prints the directory holding the Gateway API standard-channel CRD YAML of the
# version the stacks target (GATEWAY_API_VERSION in scripts/cluster/versions.sh:
# the one Traefik v3.6 implements), taken from the Go module
# sigs.k8s.io/gateway-api in the Go module cache. The first run downloads the
# module through GOPROXY (`go mod download`, checksum-verified); later runs are
# offline. Used by `npm run validate` and to install the CRDs into a cluster:
#
#   kubectl apply --server-side -f "$(scripts/gateway-api-crds.sh)"
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=cluster/versions.sh
source "$(dirname "$0")/cluster/versions.sh"

module="sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION"
dir="$(go env GOMODCACHE)/$module"
if [ ! -d "$dir/config/crd/standard" ]; then
  echo "gateway-api-crds: downloading $module into the Go module cache" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # Outside any module, so the caller's go.mod (if any) is not touched.
  dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
fi
[ -d "$dir/config/crd/standard" ] || { echo "gateway-api-crds: no config/crd/standard in $dir" >&2; exit 1; }
echo "$dir/config/crd/standard"
