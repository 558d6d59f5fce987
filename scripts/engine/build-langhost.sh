#!/usr/bin/env bash
# Builds one of this repository's own language hosts and prints a directory for PATH that holds it
# under the names the Pulumi engine looks for:
#
#   export PATH="$(scripts/engine/build-langhost.sh):$PATH"          # nodejs (the default)
#   export PATH="$(scripts/engine/build-langhost.sh sdkgen):$PATH"   # python and go, codegen only
#
#   nodejs  scripts/engine/langhost: the minimal Node.js language host, as `pulumi-language-nodejs`.
#           With it, `pulumi preview` runs from a shell, `--policy-pack policy/` starts the pack,
#           and the engine starts this repository as a component provider (PulumiPlugin.yaml).
#   sdkgen  scripts/engine/sdkgen: Pulumi's own SDK generators behind the GeneratePackage call
#           only, as `pulumi-language-python` and `pulumi-language-go`, for
#           `pulumi package gen-sdk --language python|go` (put it on PATH only for that).
#
# Only for machines without a Pulumi install (Pulumi's own Node.js, Python and Go language hosts
# are refused by the registries here); never shipped to users, who have Pulumi's hosts with their
# CLI. The Automation API path needs no language host.
#
# The binary is stripped and cached as $HOME/.cache/sample-app-engine/bin/<binary>-<hash>, the
# hash of the host's sources (go.mod, go.sum, the non-test .go files) and of the Go version, so a
# warm run only hashes; binaries of older sources are removed. Progress goes to stderr, only the
# directory to stdout. Modules come through GOPROXY (go.sum pins them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SAMPLE_APP_ENGINE_CACHE:-$HOME/.cache/sample-app-engine}"
bin="$cache/bin"

kind=${1:-nodejs}
case "$kind" in
  # binary: the cached file's name; links: the PATH directory's name (before -<hash>);
  # names: the links in it, as the engine looks for them; cold: what a cold build takes.
  nodejs) src="$here/langhost" binary=pulumi-language-nodejs links=langhost names=(pulumi-language-nodejs)
    cold="downloads the Pulumi SDK module and takes a minute or two" ;;
  sdkgen) src="$here/sdkgen" binary=pulumi-sdkgen links=sdkgen-host names=(pulumi-language-python pulumi-language-go)
    cold="compiles Pulumi's code generators: minutes, less once the CLI is built" ;;
  *) echo "build-langhost.sh: unknown host '$kind' (nodejs sdkgen)" >&2; exit 2 ;;
esac

log() { printf '[langhost %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

command -v go >/dev/null || { log "go is required (the host is a Go module)"; exit 1; }

sources() { (cd "$src" && find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) ! -name '*_test.go' | LC_ALL=C sort); }
hash="$(
  cd "$src"
  while read -r f; do
    printf '%s\n' "$f"
    cat "$f"
  done < <(sources)
  go env GOVERSION
)"
hash="$(printf '%s' "$hash" | sha256sum | cut -c1-16)"

out="$bin/$binary-$hash"
pathdir="$cache/$links-$hash"
if [[ ! -x "$out" ]]; then
  mkdir -p "$bin"
  t0=$(date +%s)
  log "building $binary-$hash from scripts/engine/$(basename "$src") (a cold build $cold)"
  tmp="$(mktemp "$out.XXXXXX.tmp")"
  trap 'rm -f "$tmp"' EXIT
  (cd "$src" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
    go build -ldflags "-s -w -X main.version=0.0.0+sample-app.$hash" -o "$tmp" .)
  chmod 755 "$tmp"
  mv "$tmp" "$out"
  trap - EXIT
  log "built $(basename "$out") in $(($(date +%s) - t0))s ($(du -m "$out" | cut -f1) MB)"
  for old in "$bin/$binary"-* "$cache/$links"-*; do
    [[ -e "$old" && "$old" != "$out" && "$old" != "$pathdir" && "$old" != *.tmp ]] || continue
    log "removing $(basename "$old") (older sources)"
    rm -rf "$old"
  done
else
  log "$binary-$hash is cached in $bin"
fi

mkdir -p "$pathdir"
for name in "${names[@]}"; do
  ln -sfn "$out" "$pathdir/$name"
done
echo "$pathdir"
