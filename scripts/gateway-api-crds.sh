#!/usr/bin/env bash
# Prints the directory holding the Gateway API standard-channel CRD YAML of the
# version the stacks target (GATEWAY_API_VERSION in scripts/cluster/versions.sh:
# the one Traefik v3.6 implements), taken from the Go module
# sigs.k8s.io/gateway-api (scripts/go-module-dir.sh: downloaded through GOPROXY
# once, checksum-verified; later runs are offline). Used by `npm run validate`
# and to install the CRDs into a cluster:
#
#   kubectl apply --server-side -f "$(scripts/gateway-api-crds.sh)"
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=cluster/versions.sh
source "$(dirname "$0")/cluster/versions.sh"

dir="$("$(dirname "$0")/go-module-dir.sh" "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" config/crd/standard)"
echo "$dir/config/crd/standard"
