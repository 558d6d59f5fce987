#!/usr/bin/env bash
# Builds the minimal Node.js language host (scripts/engine/langhost) and prints a directory for
# PATH that holds it as `pulumi-language-nodejs`, the name the Pulumi engine looks for:
#
#   export PATH="$(scripts/engine/build-langhost.sh):$PATH"
#
# Only for machines without a Pulumi install (Pulumi's own language host is refused by the
# registries here); never shipped to users, and the Automation API path needs no language host.
# With it, `pulumi preview` runs from a shell and `--policy-pack policy/` starts the pack.
#
# The binary is stripped and cached as $HOME/.cache/sample-app-engine/bin/
# pulumi-language-nodejs-<hash>, the hash of the host's sources (go.mod, go.sum, the non-test .go
# files) and of the Go version, so a warm run only hashes; binaries of older sources are removed.
# Progress goes to stderr, only the directory to stdout. The SDK module comes through GOPROXY.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/langhost"
cache="${SAMPLE_APP_ENGINE_CACHE:-$HOME/.cache/sample-app-engine}"
bin="$cache/bin"

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

out="$bin/pulumi-language-nodejs-$hash"
pathdir="$cache/langhost-$hash"
if [[ ! -x "$out" ]]; then
  mkdir -p "$bin"
  t0=$(date +%s)
  log "building pulumi-language-nodejs-$hash from scripts/engine/langhost (a cold build downloads the Pulumi SDK module and takes a minute or two)"
  tmp="$(mktemp "$out.XXXXXX.tmp")"
  trap 'rm -f "$tmp"' EXIT
  (cd "$src" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -trimpath -buildvcs=false" \
    go build -ldflags "-s -w -X main.version=0.0.0+sample-app.$hash" -o "$tmp" .)
  chmod 755 "$tmp"
  mv "$tmp" "$out"
  trap - EXIT
  log "built $(basename "$out") in $(($(date +%s) - t0))s ($(du -m "$out" | cut -f1) MB)"
  for old in "$bin"/pulumi-language-nodejs-* "$cache"/langhost-*; do
    [[ -e "$old" && "$old" != "$out" && "$old" != "$pathdir" && "$old" != *.tmp ]] || continue
    log "removing $(basename "$old") (older sources)"
    rm -rf "$old"
  done
else
  log "pulumi-language-nodejs-$hash is cached in $bin"
fi

mkdir -p "$pathdir"
ln -sfn "$out" "$pathdir/pulumi-language-nodejs"
echo "$pathdir"
