#!/usr/bin/env bash
# Prints the directory holding the Prometheus Operator's CRDs (monitoring.coreos.com: PodMonitor,
# ServiceMonitor, ...) of the version pinned in scripts/cluster/versions.sh. The Go module proxy
# serves the operator's API types (pkg/apis/monitoring) but not the repository with its CRD YAML, so
# they are generated from those types with controller-gen, as the operator's release does
# (`controller-gen crd`). Built and generated once into a cache under $HOME/.cache keyed by both
# versions (about a minute cold); later runs print the directory at once, offline. Used by
# `npm run validate` to check the PodMonitor a stack makes:
#
#   scripts/validate-crds.py "$(scripts/prometheus-operator-crds.sh)" podmonitor.yaml
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=cluster/versions.sh
source "$(dirname "$0")/cluster/versions.sh"   # PROMETHEUS_OPERATOR_VERSION CONTROLLER_TOOLS_VERSION
api=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring
out="${XDG_CACHE_HOME:-$HOME/.cache}/sample-app/prometheus-operator-crds-v$PROMETHEUS_OPERATOR_VERSION-controller-tools-v$CONTROLLER_TOOLS_VERSION"
if [ ! -f "$out/monitoring.coreos.com_podmonitors.yaml" ]; then
  echo "prometheus-operator-crds: generating the monitoring.coreos.com CRDs of $api v$PROMETHEUS_OPERATOR_VERSION with controller-gen v$CONTROLLER_TOOLS_VERSION" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # A throwaway module that requires both, so controller-gen loads the API types from the module cache.
  cat >"$work/go.mod" <<MOD
module sample-app.local/prometheus-operator-crds

go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')

require (
	$api v$PROMETHEUS_OPERATOR_VERSION
	sigs.k8s.io/controller-tools v$CONTROLLER_TOOLS_VERSION
)
MOD
  printf 'package tools\n\nimport (\n\t_ "%s/v1"\n\t_ "sigs.k8s.io/controller-tools/cmd/controller-gen"\n)\n' "$api" >"$work/tools.go"
  (
    cd "$work"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
    go mod tidy >/dev/null 2>&1 || go mod download
    go build -o "$work/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen
    mkdir -p "$work/crds"
    "$work/controller-gen" crd:crdVersions=v1 paths="$api/v1" output:crd:dir="$work/crds"
  )
  [ -f "$work/crds/monitoring.coreos.com_podmonitors.yaml" ] || { echo "prometheus-operator-crds: controller-gen wrote no PodMonitor CRD" >&2; exit 1; }
  mkdir -p "$(dirname "$out")"
  rm -rf "$out.tmp" && cp -r "$work/crds" "$out.tmp" && mv "$out.tmp" "$out"
fi
echo "$out"
