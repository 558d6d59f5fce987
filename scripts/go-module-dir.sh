#!/usr/bin/env bash
# Prints the directory of a Go module version in the Go module cache, downloading it first if it is
# not there yet (`go mod download` through GOPROXY, checksum-verified); later runs are offline.
# Used by the scripts that take CRD YAML from Go modules (gateway-api-crds.sh,
# volumesnapshot-crds.sh).
#
#   scripts/go-module-dir.sh MODULE@VERSION [FILE]    FILE: a path in the module that must exist
set -euo pipefail

module=${1:?usage: go-module-dir.sh MODULE@VERSION [FILE]}
want=${2:-go.mod}
dir="$(go env GOMODCACHE)/$module"
if [ ! -e "$dir/$want" ]; then
  echo "go-module-dir: downloading $module into the Go module cache" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # Outside any module, so the caller's go.mod (if any) is not touched.
  dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
fi
[ -e "$dir/$want" ] || { echo "go-module-dir: no $want in $dir" >&2; exit 1; }
echo "$dir"
