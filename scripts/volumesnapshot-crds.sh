#!/usr/bin/env bash
# Prints the directory holding the VolumeSnapshot CRD YAML (snapshot.storage.k8s.io/v1) of the
# external-snapshotter version pinned here, from the Go module
# github.com/kubernetes-csi/external-snapshotter/client/v8 (scripts/go-module-dir.sh: downloaded
# once, then offline). Used by `npm run validate` to check the VolumeSnapshot the Redis backup Job
# creates, and to install the CRDs into a cluster that lacks them (with the snapshot controller):
#
#   kubectl apply --server-side -f "$(scripts/volumesnapshot-crds.sh)"
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=cluster/versions.sh
source "$(dirname "$0")/cluster/versions.sh"   # SNAPSHOTTER_VERSION
crd=config/crd/snapshot.storage.k8s.io_volumesnapshots.yaml
dir="$("$(dirname "$0")/go-module-dir.sh" "github.com/kubernetes-csi/external-snapshotter/client/v8@v$SNAPSHOTTER_VERSION" "$crd")"
echo "$dir/config/crd"
