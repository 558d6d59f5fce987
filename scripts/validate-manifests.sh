#!/usr/bin/env bash
# Validates every manifest under rendered/mock/<stack>/ and its variants
# rendered/mock/<stack>-<variant>/ (scripts/manifests.ts) in strict mode (unknown fields are errors):
#  - Kubernetes objects against the OpenAPI schemas of the versions we target,
#    1.31 (ACK) and 1.33 (minikube), from the PyPI package kubernetes-validate;
#  - Gateway API objects (gateway.networking.k8s.io) against the CRD schemas of
#    the pinned Gateway API version (scripts/gateway-api-crds.sh, from the Go
#    module cache), with scripts/validate-crds.py; first it proves on a copy of a
#    rendered HTTPRoute that a misspelt field fails;
#  - the VolumeSnapshotClass a stack creates, and the VolumeSnapshot the Redis
#    backup Job creates (the manifest in its prepare.sh, with sample values),
#    against the snapshot.storage.k8s.io CRDs
#    (scripts/volumesnapshot-crds.sh, from the Go module cache), and that the
#    check fails on a misspelt field.
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
snapshot_crds="$(scripts/volumesnapshot-crds.sh)"
monitoring_crds="$(scripts/prometheus-operator-crds.sh)"
# backup_snapshot CONFIGMAP OUT: the VolumeSnapshot that prepare.sh in the backup ConfigMap writes, for pod redis-0.
backup_snapshot() {
  "$venv/bin/python" - "$1" "$2" <<'PY'
import sys, yaml
script = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["data"]["prepare.sh"]
body = script.split("<<EOF\n", 1)[1].split("\nEOF\n", 1)[0]
body = body.replace("$name", "data-redis-0-20261130-030000").replace("$pod", "redis-0")
open(sys.argv[2], "w", encoding="utf-8").write(body + "\n")
PY
}
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
    core=(); gateway=(); snapshot=(); monitoring=()
    for f in "${all[@]}"; do
      if grep -q '^apiVersion: gateway\.networking\.k8s\.io/' "$f"; then gateway+=("$f")
      elif grep -q '^apiVersion: snapshot\.storage\.k8s\.io/' "$f"; then snapshot+=("$f")
      elif grep -q '^apiVersion: monitoring\.coreos\.com/' "$f"; then monitoring+=("$f")
      else core+=("$f"); fi
    done
    for k in "${K8S_VERSIONS[@]}"; do
      check "$name: ${#core[@]} manifests valid against Kubernetes $k (strict)" \
        "$venv/bin/kubernetes-validate" --strict --quiet -k "$k" "${core[@]}"
    done
    [ ${#gateway[@]} -eq 0 ] || check "$name: ${#gateway[@]} Gateway API manifests valid against the CRDs in $crds (strict)" \
      validate_crds "${gateway[@]}"
    [ ${#snapshot[@]} -eq 0 ] || check "$name: ${#snapshot[@]} VolumeSnapshotClass manifests valid against the CRDs in $snapshot_crds (strict)" \
      "$venv/bin/python" scripts/validate-crds.py "$snapshot_crds" "${snapshot[@]}"
    [ ${#monitoring[@]} -eq 0 ] || check "$name: ${#monitoring[@]} PodMonitor manifests valid against the CRDs in $monitoring_crds (strict)" \
      "$venv/bin/python" scripts/validate-crds.py "$monitoring_crds" "${monitoring[@]}"
    if [ -f "$dir/configmap-redis-backup.yaml" ]; then
      backup_snapshot "$dir/configmap-redis-backup.yaml" "$tmp/$name-volumesnapshot.yaml"
      check "$name: the backup Job's VolumeSnapshot valid against the CRDs in $snapshot_crds (strict)" \
        "$venv/bin/python" scripts/validate-crds.py "$snapshot_crds" "$tmp/$name-volumesnapshot.yaml"
    fi
  done
done

# rejects_misspelt WHAT FIELD WRONG FROM CRDS: each CRD check must be able to fail. FROM with FIELD
# misspelt as WRONG must not pass validate-crds.py against CRDS.
rejects_misspelt() {
  local what=$1 field=$2 wrong=$3 from=$4 crds=$5 bad
  bad="$tmp/misspelt-$(basename "$from")"
  if [ ! -f "$from" ]; then
    echo "FAIL no rendered manifest to check $what with ($from)"
    failed=$((failed + 1))
    return
  fi
  sed "s/$field:/$wrong:/" "$from" >"$bad"
  if "$venv/bin/python" scripts/validate-crds.py "$crds" "$bad" >/dev/null 2>&1; then
    echo "FAIL $what accepts a misspelt field ($wrong, from $from)"
    failed=$((failed + 1))
  else
    echo "ok   $what rejects a misspelt field ($wrong)"
    passed=$((passed + 1))
  fi
}
route="$(grep -l '^kind: HTTPRoute' rendered/mock/*/*.yaml | head -n 1)"
rejects_misspelt "the Gateway API check" backendRefs backendRef "$route" "$crds"
# The VolumeSnapshot the backup Job would create, from the first stack that has the backup.
backups=(rendered/mock/*/configmap-redis-backup.yaml)
backup_snapshot "${backups[0]}" "$tmp/volumesnapshot.yaml"
rejects_misspelt "the VolumeSnapshot check" persistentVolumeClaimName persistentVolumeClaim "$tmp/volumesnapshot.yaml" "$snapshot_crds"
# prod and gray as written find the API by PodMonitor.
monitor="$(grep -l '^kind: PodMonitor' rendered/mock/*/*.yaml | head -n 1 || true)"
rejects_misspelt "the PodMonitor check" podMetricsEndpoints podMetricEndpoints "${monitor:-rendered/mock/prod/podmonitor-user-api.yaml}" "$monitoring_crds"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
