#!/usr/bin/env bash
# Prints the directory holding the VolumeSnapshot CRD YAML (snapshot.storage.k8s.io/v1) of the
# external-snapshotter version pinned here, taken from the Go module
# github.com/kubernetes-csi/external-snapshotter/client/v8 in the Go module cache. The first run
# downloads the module through GOPROXY (`go mod download`, checksum-verified); later runs are
# offline. Used by `npm run validate` to check the VolumeSnapshot the Redis backup Job creates, and
# to install the CRDs into a cluster that lacks them (with the snapshot controller):
#
#   kubectl apply --server-side -f "$(scripts/volumesnapshot-crds.sh)"
set -euo pipefail

SNAPSHOTTER_VERSION=8.7.0
module="github.com/kubernetes-csi/external-snapshotter/client/v8@v$SNAPSHOTTER_VERSION"
dir="$(go env GOMODCACHE)/$module"
if [ ! -f "$dir/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml" ]; then
  echo "volumesnapshot-crds: downloading $module into the Go module cache" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # Outside any module, so the caller's go.mod (if any) is not touched.
  dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$module" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
fi
[ -f "$dir/config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml" ] || { echo "volumesnapshot-crds: no VolumeSnapshot CRD in $dir/config/crd" >&2; exit 1; }
echo "$dir/config/crd"
