#!/usr/bin/env bash
# Lints the GitHub Actions workflows in .github/workflows with actionlint.
#
#   scripts/actionlint.sh            # every workflow
#   scripts/actionlint.sh FILE...    # only these files
#
# actionlint is a Go module (github.com/rhysd/actionlint/cmd/actionlint). The
# script builds it once, at the pinned version below, with `go install` through
# the Go module proxy into ${SAMPLE_APP_BIN:-$HOME/.cache/sample-app/bin}, and
# reuses that binary while its version matches. No GitHub download is needed.
#
# actionlint checks workflow syntax, expressions, `needs:` graphs, matrix
# values, the inputs of well-known actions and the types of contexts. With
# ShellCheck on PATH it also lints every `run:` script; without it that part
# is skipped (with a note), as actionlint does by itself.
#
# Environment:
#   SAMPLE_APP_BIN                 where the binary goes (default above)
#   SAMPLE_APP_ACTIONLINT_VERSION  override the pinned version (e.g. to try a bump)
#   ACTIONLINT_NO_INSTALL=1        fail instead of building when the binary is missing
set -euo pipefail

ACTIONLINT_VERSION="${SAMPLE_APP_ACTIONLINT_VERSION:-v1.7.12}"
ACTIONLINT_MODULE="github.com/rhysd/actionlint/cmd/actionlint"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${SAMPLE_APP_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/sample-app/bin}"
BIN="$BIN_DIR/actionlint"

log() { printf 'actionlint.sh: %s\n' "$*" >&2; }
die() { printf 'actionlint.sh: error: %s\n' "$*" >&2; exit 2; }

installed_version() {
    # `actionlint -version` prints the version on its first line, e.g. "v1.7.12" or "1.7.12".
    [[ -x "$BIN" ]] || return 1
    local v
    v="$("$BIN" -version 2>/dev/null | head -n1 | tr -d '[:space:]')" || return 1
    printf '%s\n' "v${v#v}"
}

if [[ "$(installed_version || true)" != "$ACTIONLINT_VERSION" ]]; then
    [[ "${ACTIONLINT_NO_INSTALL:-}" == "1" ]] && die "actionlint $ACTIONLINT_VERSION is not in $BIN_DIR and ACTIONLINT_NO_INSTALL=1"
    command -v go >/dev/null 2>&1 || die "go is needed to build actionlint $ACTIONLINT_VERSION (or put the binary in $BIN_DIR)"
    log "building $ACTIONLINT_MODULE@$ACTIONLINT_VERSION into $BIN_DIR"
    mkdir -p "$BIN_DIR"
    # Build into a temporary directory and move the binary in place, so an
    # interrupted build never leaves a half-written binary behind.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" go install "$ACTIONLINT_MODULE@$ACTIONLINT_VERSION"
    mv -f "$tmp/actionlint" "$BIN"
    [[ "$(installed_version)" == "$ACTIONLINT_VERSION" ]] || die "built binary reports $("$BIN" -version | head -n1), expected $ACTIONLINT_VERSION"
fi

cd "$REPO_ROOT"
if [[ $# -gt 0 ]]; then
    files=("$@")
else
    shopt -s nullglob
    files=(.github/workflows/*.yml .github/workflows/*.yaml)
    shopt -u nullglob
    [[ ${#files[@]} -gt 0 ]] || die "no workflows found in .github/workflows"
fi

args=(-no-color -pyflakes=)
if command -v shellcheck >/dev/null 2>&1; then
    args+=(-shellcheck "$(command -v shellcheck)")
else
    log "shellcheck not found on PATH: run: scripts are not linted (install it, e.g. apt-get install shellcheck)"
    args+=(-shellcheck=)
fi

log "actionlint $ACTIONLINT_VERSION on ${#files[@]} file(s): ${files[*]}"
"$BIN" "${args[@]}" "${files[@]}"
log "OK: no problems found"
