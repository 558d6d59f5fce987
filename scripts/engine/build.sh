#!/usr/bin/env bash
# Builds the Pulumi engine this project's local-cluster deploys run on, from the Go module proxy:
# the CLI (`pulumi`), the kubernetes provider (`pulumi-resource-kubernetes`) and Pulumi YAML's
# language host (`pulumi-language-yaml`, which runs examples/reuse-yaml), at the versions in
# scripts/cluster/versions.sh, stripped, into $HOME/.cache/sample-app-engine/bin/<name>-<version>.
# A binary already there is not built again, so a warm run costs nothing; a cold run on 2 idle
# cores takes about 15 minutes (the provider is the long pole). Prints progress as it goes.
#
#   scripts/engine/build.sh            build what is missing, print nothing else on stdout
#   scripts/engine/build.sh cli        only the CLI
#   scripts/engine/build.sh provider   only the kubernetes provider
#   scripts/engine/build.sh yaml       only the YAML language host
#
# Nothing here downloads a Pulumi plugin or a release binary: every byte comes from Go modules.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../cluster/versions.sh
source "$here/../cluster/versions.sh"

cache="${SAMPLE_APP_ENGINE_CACHE:-$HOME/.cache/sample-app-engine}"
bin="$cache/bin"
src="$cache/src"
mkdir -p "$bin" "$src"
export CGO_ENABLED=0 GOFLAGS="-mod=mod -trimpath -buildvcs=false"

log() { printf '[engine %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# The replace pulumi/pkg carries for a fork of the clipboard module; Go ignores a dependency's
# replaces, so every module that builds pulumi/pkg repeats it.
CLIPBOARD_REPLACE="github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
GO_LINE="go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"

# build DIR OUTFILE PACKAGE LDFLAGS: go build in the wrapper module DIR, atomically into OUTFILE.
build() {
  local dir=$1 out=$2 pkg=$3 ldflags=$4 t0
  t0=$(date +%s)
  log "building $(basename "$out") ($pkg); a cold build takes minutes"
  (cd "$dir" && go build -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  log "built $(basename "$out") in $(( $(date +%s) - t0 ))s ($(du -m "$out" | cut -f1) MB)"
}

build_cli() {
  local out="$bin/pulumi-$PULUMI_VERSION" dir="$src/pulumi-$PULUMI_VERSION"
  [[ -x "$out" ]] && return 0
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module sample-app.local/engine/pulumi

$GO_LINE

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace $CLIPBOARD_REPLACE
EOF
  : >"$dir/go.sum"
  build "$dir" "$out" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
}

# The provider module has no main of its own that builds outside its repository (its main embeds
# files that `go generate` writes), so this wrapper has a main that embeds the module's schema with
# the version set, and its terraform mapping, and serves the provider as the module's main does.
# The provider's go.mod replaces its SDK module with a local path, so the wrapper requires a
# published SDK version instead. It builds in a module of its own: beside the CLI, pulumi/pkg would be raised to the CLI's version,
# which this provider commit does not compile against.
build_provider() {
  local v=$PULUMI_K8S_PROVIDER_VERSION out dir mod
  out="$bin/pulumi-resource-kubernetes-$v"
  [[ -x "$out" ]] && return 0
  dir="$src/pulumi-kubernetes-$v"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module sample-app.local/engine/pulumi-resource-kubernetes

$GO_LINE

require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 $PULUMI_K8S_PROVIDER_MODULE_VERSION
	github.com/pulumi/pulumi-kubernetes/sdk/v4 v$PULUMI_K8S_SDK_VERSION
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_K8S_PROVIDER_PKG
)

replace $CLIPBOARD_REPLACE
EOF
  : >"$dir/go.sum"
  mod="$("$here/../go-module-dir.sh" "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_K8S_PROVIDER_MODULE_VERSION" cmd/pulumi-resource-kubernetes/schema.json)"
  # The schema the provider serves names its version, as `go generate` would write it.
  python3 - "$mod/cmd/pulumi-resource-kubernetes/schema.json" "$dir/schema.json" "$v" <<'PY'
import json, sys
src, dst, version = sys.argv[1:]
with open(src) as f:
    spec = json.load(f)
spec["version"] = version
with open(dst, "w") as f:
    json.dump(spec, f, separators=(",", ":"))
PY
  cp "$mod/cmd/pulumi-resource-kubernetes/terraform-mapping.json" "$dir/terraform-mapping.json"
  chmod u+w "$dir/terraform-mapping.json"
  cat >"$dir/main.go" <<'EOF'
// The kubernetes provider's plugin binary, built outside its repository (scripts/engine/build.sh).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var mapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, mapping)
}
EOF
  build "$dir" "$out" . "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v"
}

# Pulumi YAML's language host, for the YAML program in examples/reuse-yaml. Users get it with their
# Pulumi CLI; these machines build it, like the CLI, because no release binary is downloaded here.
# It builds in a module of its own, so every dependency is at the version pulumi-yaml's go.mod names
# (its pulumi/pkg is older than the CLI's); that go.mod has no replace directives to repeat.
build_yaml() {
  local v=$PULUMI_YAML_VERSION out dir
  out="$bin/pulumi-language-yaml-$v"
  [[ -x "$out" ]] && return 0
  dir="$src/pulumi-yaml-$v"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<EOF
module sample-app.local/engine/pulumi-language-yaml

$GO_LINE

require github.com/pulumi/pulumi-yaml v$v
EOF
  : >"$dir/go.sum"
  build "$dir" "$out" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml \
    "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=v$v"
}

what=("$@")
[[ ${#what[@]} -gt 0 ]] || what=(cli provider yaml)
start=$(date +%s)
for w in "${what[@]}"; do
  case "$w" in
    cli) build_cli ;;
    provider) build_provider ;;
    yaml) build_yaml ;;
    *) echo "engine/build.sh: unknown part '$w' (cli provider yaml)" >&2; exit 2 ;;
  esac
done
log "engine binaries present in $bin ($(( $(date +%s) - start ))s)"
