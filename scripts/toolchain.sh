#!/usr/bin/env bash
# Makes the Pulumi toolchain that matches package-lock.json available and
# prints the directory holding it as the last line of stdout:
#
#   export PATH="$(scripts/toolchain.sh):$PATH"
#
# What: `pulumi` and `pulumi-language-nodejs` at the version of @pulumi/pulumi,
# `pulumi-resource-kubernetes` at the version of @pulumi/kubernetes and
# `pulumi-resource-random` at the version of @pulumi/random, all read from
# node_modules/@pulumi/<x>.version in package-lock.json, so a dependency bump
# needs no edit here.
#
# Why: Pulumi's usual installers (get.pulumi.com, GitHub releases, the CLI's
# automatic plugin download) need internet access that restricted or
# air-gapped networks don't have, while a Go module proxy (or an internal
# mirror of one) usually is reachable. For each binary the script
#   1. reuses one on PATH (or, for providers, in Pulumi's plugin cache) whose
#      version matches;
#   2. else reuses an earlier build from the cache
#      ${SAMPLE_APP_TOOLCHAIN_CACHE:-$HOME/.cache/sample-app/pulumi-toolchain}/<name>-v<version>-<go version>/
#   3. else builds it from Go modules through GOPROXY, in a throwaway wrapper
#      module (see the build_* functions for the recipes), and moves the result
#      into the cache atomically, so an interrupted build never leaves a
#      broken entry. Copy that cache to carry the toolchain to an offline host.
# Progress and the time of each phase go to stderr; stdout is only the dir.
#
# Environment:
#   SAMPLE_APP_TOOLCHAIN_CACHE   cache root (default above)
#   SAMPLE_APP_TOOLCHAIN_NO_BUILD=1   fail instead of building (cache/PATH only)
#   SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION   version, pseudo-version or commit of
#       github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 (that
#       module has no tags); default: the commit of the CLI's tag, when GOPROXY
#       reports it
#
# To run pulumi fully offline afterwards, set PULUMI_SKIP_UPDATE_CHECK=true,
# PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true, a file backend
# (PULUMI_BACKEND_URL=file://<dir>), PULUMI_CONFIG_PASSPHRASE and optionally
# PULUMI_HOME; plugins are then found on PATH.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
LOCKFILE="$REPO_ROOT/package-lock.json"
HELPER_DIR="$SCRIPT_DIR/toolchain"
CACHE_ROOT="${SAMPLE_APP_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sample-app/pulumi-toolchain}"

PULUMI_PKG=github.com/pulumi/pulumi/pkg/v3
PULUMI_SDK=github.com/pulumi/pulumi/sdk/v3
PULUMI_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
NODEJS_HOST=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
K8S_MOD=github.com/pulumi/pulumi-kubernetes/provider/v4
RANDOM_MOD=github.com/pulumi/pulumi-random/provider/v4

log() { printf 'toolchain: %s\n' "$*" >&2; }
die() { printf 'toolchain: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

TMP_DIRS=()
CHILD=""
cleanup() {
  local d
  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
    [ -e "$d" ] && { chmod -R u+w "$d" 2>/dev/null || true; rm -rf "$d"; }
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- versions ---------------------------------------------------------------

# lock_version NAME: version of node_modules/@pulumi/NAME in package-lock.json.
lock_version() {
  local name="$1" v=""
  [ -f "$LOCKFILE" ] || die "no lockfile at $LOCKFILE (run npm install first)"
  if command -v node >/dev/null 2>&1; then
    v="$(node -e 'const l=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));
      const p=(l.packages||{})["node_modules/@pulumi/"+process.argv[2]]||(l.dependencies||{})["@pulumi/"+process.argv[2]];
      process.stdout.write((p&&p.version)||"")' "$LOCKFILE" "$name")"
  elif command -v python3 >/dev/null 2>&1; then
    v="$(python3 -c 'import json,sys
l=json.load(open(sys.argv[1])); n="@pulumi/"+sys.argv[2]
p=l.get("packages",{}).get("node_modules/"+n) or l.get("dependencies",{}).get(n) or {}
sys.stdout.write(p.get("version",""))' "$LOCKFILE" "$name")"
  else
    die "need node or python3 to read $LOCKFILE"
  fi
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
    die "@pulumi/$name has no usable version in $LOCKFILE (got '${v}')"
  printf '%s\n' "$v"
}

# --- reuse of binaries on PATH / in Pulumi's plugin cache --------------------

# go_binary_has_version BIN MODULE VERSION_VAR VERSION: true when Go build info
# of BIN records MODULE at vVERSION or an -X VERSION_VAR=[v]VERSION.
go_binary_has_version() {
  local info
  command -v go >/dev/null 2>&1 || return 1
  info="$(go version -m "$1" 2>/dev/null)" || return 1
  grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+v$4([[:space:]]|\$)" <<<"$info" && return 0
  grep -Eq -- "-X[= ]$3=v?$4([^0-9A-Za-z.-]|\$)" <<<"$info"
}

# find_existing NAME VERSION: prints the path of a usable binary, if any.
find_existing() {
  local name="$1" ver="$2" bin="" got="" plugdir
  bin="$(command -v "$name" 2>/dev/null || true)"
  if [ -n "$bin" ]; then
    bin="$(readlink -f "$bin")"
    case "$name" in
      pulumi) got="$(timeout 20 "$bin" version </dev/null 2>/dev/null | tr -d '[:space:]' || true)" ;;
      pulumi-language-nodejs) got="$(timeout 20 "$bin" -version </dev/null 2>/dev/null | tr -d '[:space:]' || true)" ;;
      pulumi-resource-kubernetes)
        go_binary_has_version "$bin" "$K8S_MOD" "$K8S_MOD/pkg/version.Version" "$ver" && got="$ver" ;;
      pulumi-resource-random)
        go_binary_has_version "$bin" "$RANDOM_MOD" "$RANDOM_MOD/pkg/version.Version" "$ver" && got="$ver" ;;
    esac
    if [ "${got#v}" = "$ver" ]; then printf '%s\n' "$bin"; return 0; fi
    log "ignoring $bin (version '${got:-unknown}', want $ver)"
  fi
  case "$name" in
    pulumi-resource-*)
      plugdir="${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-${name#pulumi-resource-}-v$ver"
      if [ -x "$plugdir/$name" ] && [ ! -e "$plugdir.lock" ] && [ ! -e "$plugdir.partial" ]; then
        printf '%s\n' "$plugdir/$name"; return 0
      fi ;;
  esac
  return 1
}

# --- Go module helpers ------------------------------------------------------

# json_str KEY < go-json: first string value of KEY (go's indented JSON).
json_str() {
  sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -n 1 |
    sed -e 's/\\n/\n  /g' -e 's/\\t/ /g' -e 's/\\"/"/g'
}

# go_fetch MOD@QUERY: downloads it through GOPROXY and sets DL_DIR, DL_GOMOD,
# DL_VERSION and DL_HASH (the VCS commit, when the proxy reports it); on
# failure returns 1 with the reason in DL_ERR.
go_fetch() {
  local out
  out="$(go mod download -json "$1" 2>&1)" || true
  DL_ERR="$(json_str Error <<<"$out")"
  DL_DIR="$(json_str Dir <<<"$out")"
  DL_GOMOD="$(json_str GoMod <<<"$out")"
  DL_VERSION="$(json_str Version <<<"$out")"
  DL_HASH="$(json_str Hash <<<"$out")"
  if [ -z "$DL_ERR" ] && { [ -z "$DL_DIR" ] || [ -z "$DL_GOMOD" ]; }; then DL_ERR="$out"; fi
  [ -z "$DL_ERR" ]
}

go_download() {
  go_fetch "$1" || die "cannot download $1 through GOPROXY=$(go env GOPROXY):
  $DL_ERR"
}

# replaces GOMOD local|remote: the replace directives of a go.mod, as
# `go mod edit` -replace flags (remote) or "OLD<TAB>DIR" lines (local).
replaces() {
  go mod edit -print "$1" | awk -v mode="$2" '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    function emit(line,   p, l, r, ln, rn) {
      sub(/\/\/.*$/, "", line)
      if (index(line, "=>") == 0) return
      split(line, p, "=>")
      ln = split(trim(p[1]), l, /[ \t]+/); rn = split(trim(p[2]), r, /[ \t]+/)
      if (rn < 2) { if (mode == "local") print l[1] "\t" r[1]; return }
      if (mode == "remote") printf "-replace=%s%s=%s@%s\n", l[1], (ln > 1 ? "@" l[2] : ""), r[1], r[2]
    }
    /^replace \(/ { blk = 1; next }
    blk && /^\)/ { blk = 0; next }
    blk { emit($0); next }
    /^replace / { sub(/^replace /, ""); emit($0) }'
}

# wrapper_module DIR NAME MOD@VER...: a module in DIR that requires each
# MOD@VER and pins it with `replace MOD => MOD VER` (upstream go.mod files
# require their siblings at placeholder versions such as
# v3.0.0-00010101000000-000000000000, made real by local replaces that only
# apply inside their repository), plus the non-local replaces of the go.mod
# files listed in GOMODS (set by the caller).
wrapper_module() {
  local dir="$1" name="$2" gm r args=()
  shift 2
  mkdir -p "$dir"
  (cd "$dir" && go mod init "$name" >/dev/null 2>&1) || die "go mod init failed in $dir"
  for gm in "${GOMODS[@]}"; do
    while IFS= read -r r; do [ -n "$r" ] && args+=("$r"); done < <(replaces "$gm" remote)
  done
  for gm in "$@"; do args+=("-require=$gm" "-replace=${gm%@*}=$gm"); done
  (cd "$dir" && go mod edit "${args[@]}") || die "go mod edit failed in $dir"
}

# go_build DIR OUT LDFLAGS PKG: builds PKG in the wrapper module DIR. It runs
# in the background so that a signal to this script ends it at once (the
# traps fire during `wait`, and cleanup stops the build).
go_build() {
  (
    cd "$1"
    CGO_ENABLED=0 GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod" exec go build -trimpath -ldflags "-s -w $3" -o "$2" "$4"
  ) >&2 &
  CHILD=$!
  wait "$CHILD" || die "go build of $4 failed (see output above)"
  CHILD=""
}

# check_dep DIR MOD VER: warns when MVS picked another version of MOD.
check_dep() {
  local got
  got="$(cd "$1" && GOFLAGS="${GOFLAGS:-} -mod=mod" GOWORK=off go list -m -f '{{.Version}}' "$2" 2>/dev/null)" || got=""
  [ "$got" = "$3" ] || log "warning: $2 resolved to ${got:-?}, not $3"
}

# preflight NAME VERSION: downloads every module NAME's recipe needs, so a
# missing one is reported before any long build starts. Prints problems.
preflight() {
  local v="v$2" mod query
  case "$1" in
    pulumi) for mod in "$PULUMI_PKG@$v" "$PULUMI_SDK@$v"; do go_fetch "$mod" || printf '  %s\n' "$DL_ERR"; done ;;
    pulumi-language-nodejs)
      if go_fetch "$PULUMI_SDK@$v"; then
        query="${SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION:-$DL_HASH}"
        if [ -z "$query" ]; then
          printf '  %s\n' "GOPROXY does not report the commit of $PULUMI_SDK@$v, so the untagged $NODEJS_HOST cannot be pinned: set SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION to the commit of tag $v"
        else
          go_fetch "$NODEJS_HOST@$query" || printf '  %s\n' "$DL_ERR"
        fi
      else
        printf '  %s\n' "$DL_ERR"
      fi
      go_fetch "$PULUMI_PKG@$v" || printf '  %s\n' "$DL_ERR" ;;
    pulumi-resource-kubernetes) go_fetch "$K8S_MOD@$v" || printf '  %s\n' "$DL_ERR" ;;
    pulumi-resource-random) go_fetch "$RANDOM_MOD@$v" || printf '  %s\n' "$DL_ERR" ;;
  esac
}

# --- build recipes ----------------------------------------------------------
# Each build_* VERSION OUTDIR writes one binary to OUTDIR/<name>.
# pkg/go.mod replaces the sdk with ../sdk, so `go install pkg/v3/cmd/pulumi@v`
# refuses; a wrapper module requiring pkg and sdk at the same version (and
# repeating their non-local replaces) builds it.

build_pulumi() {
  local v="v$1" out="$2" w="$2/src" t0
  t0=$(now)
  GOMODS=()
  go_download "$PULUMI_PKG@$v"; GOMODS+=("$DL_GOMOD")
  go_download "$PULUMI_SDK@$v"; GOMODS+=("$DL_GOMOD")
  wrapper_module "$w" sample-app.local/toolchain/pulumi "$PULUMI_PKG@$v" "$PULUMI_SDK@$v"
  log "pulumi $v: download $(( $(now) - t0 ))s"; t0=$(now)
  go_build "$w" "$out/pulumi" "-X $PULUMI_VERSION_VAR=$v" "$PULUMI_PKG/cmd/pulumi"
  check_dep "$w" "$PULUMI_SDK" "$v"
  log "pulumi $v: build $(( $(now) - t0 ))s"
}

# The nodejs language host module has no tags: pin it by pseudo-version at
# the commit of the CLI's tag.
build_pulumi_language_nodejs() {
  local v="v$1" out="$2" w="$2/src" t0 query host
  t0=$(now)
  GOMODS=()
  go_download "$PULUMI_SDK@$v"; GOMODS+=("$DL_GOMOD")
  query="${SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION:-$DL_HASH}"
  [ -n "$query" ] || die "GOPROXY does not report the commit of $PULUMI_SDK@$v, so the
  untagged module $NODEJS_HOST cannot be pinned; set
  SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION to the commit of tag $v"
  go_download "$NODEJS_HOST@$query"; GOMODS+=("$DL_GOMOD"); host="$DL_VERSION"
  go_download "$PULUMI_PKG@$v"; GOMODS+=("$DL_GOMOD")
  wrapper_module "$w" sample-app.local/toolchain/nodejs "$NODEJS_HOST@$host" "$PULUMI_PKG@$v" "$PULUMI_SDK@$v"
  log "pulumi-language-nodejs $v ($host): download $(( $(now) - t0 ))s"; t0=$(now)
  go_build "$w" "$out/pulumi-language-nodejs" "-X $PULUMI_VERSION_VAR=$v" "$NODEJS_HOST"
  check_dep "$w" "$PULUMI_SDK" "$v"
  log "pulumi-language-nodejs $v: build $(( $(now) - t0 ))s"
}

# Providers: cmd/pulumi-resource-<name> embeds generated files (e.g.
# schema-embed.json) that are not in the module zip, while their sources
# (schema.json) are. So copy that main package into the wrapper module,
# generate each missing `<x>-embed.json` from `<x>.json` (setting "version" in
# the schema, as the provider's own generate step does), and build it there.
build_provider() {
  local name="$1" mod="$2" ver="$3" out="$4" w="$4/src" t0 cmd f old rel helper pat src
  t0=$(now)
  GOMODS=()
  go_download "$mod@v$ver"; GOMODS+=("$DL_GOMOD")
  local moddir="$DL_DIR" gomod="$DL_GOMOD"
  cmd="$moddir/cmd/pulumi-resource-$name"
  [ -d "$cmd" ] || die "$mod@v$ver has no cmd/pulumi-resource-$name"
  [ -d "$moddir/pkg/version" ] || log "warning: $mod@v$ver has no pkg/version; the binary's version stays unset"
  wrapper_module "$w" "sample-app.local/toolchain/$name" "$mod@v$ver"
  # Local replaces point outside the module zip; use a helper copy if we have one.
  while IFS=$'\t' read -r old rel; do
    [ -n "$old" ] || continue
    helper="$HELPER_DIR/local-replaces/${old//\//_}"
    [ -d "$helper" ] || die "$mod@v$ver replaces $old with its local $rel, which is not in the
  module zip; add a copy under $helper"
    mkdir -p "$w/local/${old//\//_}"
    cp -R "$helper/." "$w/local/${old//\//_}/"
    [ -f "$w/local/${old//\//_}/go.mod" ] ||
      printf 'module %s\n\ngo 1.21\n' "$old" >"$w/local/${old//\//_}/go.mod"
    (cd "$w" && go mod edit "-replace=$old=./local/${old//\//_}")
  done < <(replaces "$gomod" local)
  for f in "$cmd"/*; do
    case "$f" in *_test.go) continue ;; esac
    [ -f "$f" ] && cp "$f" "$w/"
  done
  chmod -R u+w "$w"
  for pat in $(cd "$w" && grep -h '^//go:embed ' ./*.go 2>/dev/null | sed 's|^//go:embed ||'); do
    [ -e "$w/$pat" ] && continue
    src="${pat%-embed.json}.json"
    if [ "$src" = "$pat" ] || [ ! -f "$w/$src" ]; then
      die "$name: embedded file $pat is missing and cannot be generated"
    fi
    if [ "$src" = schema.json ]; then
      json_set_version "$w/$src" "$w/$pat" "$ver"
    else
      cp "$w/$src" "$w/$pat"
    fi
  done
  log "pulumi-resource-$name v$ver: download $(( $(now) - t0 ))s"; t0=$(now)
  go_build "$w" "$out/pulumi-resource-$name" "-X $mod/pkg/version.Version=$ver" .
  log "pulumi-resource-$name v$ver: build $(( $(now) - t0 ))s"
}

json_set_version() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const fs=require("fs");const s=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));
      s.version=process.argv[3];fs.writeFileSync(process.argv[2],JSON.stringify(s))' "$1" "$2" "$3"
  else
    python3 -c 'import json,sys
s=json.load(open(sys.argv[1])); s["version"]=sys.argv[3]
json.dump(s, open(sys.argv[2], "w"), separators=(",", ":"))' "$1" "$2" "$3"
  fi
}

build_pulumi_resource_kubernetes() { build_provider kubernetes "$K8S_MOD" "$1" "$2"; }
build_pulumi_resource_random() { build_provider random "$RANDOM_MOD" "$1" "$2"; }

# --- cache ------------------------------------------------------------------

# locate NAME VERSION: sets FOUND to a usable binary (PATH, plugin cache or
# our cache) or to "" and ENTRY to the cache entry it would be built into.
locate() {
  local name="$1" ver="$2" bin e
  FOUND="" ENTRY=""
  if bin="$(find_existing "$name" "$ver")"; then
    log "$name $ver: using $bin"; FOUND="$bin"; return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    for e in "$CACHE_ROOT/$name-v$ver-"go*/; do
      [ -x "$e$name" ] && { log "$name $ver: using cached ${e%/} (no go on PATH)"; FOUND="$e$name"; return 0; }
    done
    die "$name $ver is not on PATH or in $CACHE_ROOT, and building it needs Go on PATH"
  fi
  ENTRY="$CACHE_ROOT/$name-v$ver-$(go env GOVERSION)"
  if [ -x "$ENTRY/$name" ]; then
    log "$name $ver: using cached $ENTRY"; FOUND="$ENTRY/$name"
  fi
}

# build NAME VERSION ENTRY: builds NAME into a temp dir next to ENTRY and
# renames it into place, under a lock so parallel runs don't build twice.
build() {
  local name="$1" ver="$2" entry="$3" tmp t0
  mkdir -p "$CACHE_ROOT"
  # Temp dirs of runs that were killed outright (no EXIT trap) are dropped a day later.
  find "$CACHE_ROOT" -maxdepth 1 -name '.tmp-*' -mmin +1440 -exec chmod -R u+w {} + -exec rm -rf {} + 2>/dev/null || true
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$entry.lock"
    flock 9
  fi
  if [ ! -x "$entry/$name" ]; then
    log "$name $ver: building with $(go env GOVERSION) (a cold build takes minutes)"
    t0=$(now)
    tmp="$(mktemp -d "$CACHE_ROOT/.tmp-$name-XXXXXX")"
    TMP_DIRS+=("$tmp")
    "build_${name//-/_}" "$ver" "$tmp"
    [ -x "$tmp/$name" ] || die "$name: the build produced no binary"
    mkdir "$tmp/entry"
    mv "$tmp/$name" "$tmp/entry/$name"
    printf 'built %s with %s in %ss\n' "$(date -u +%FT%TZ)" "$(go env GOVERSION)" "$(( $(now) - t0 ))" >"$tmp/entry/BUILDINFO"
    mv -T "$tmp/entry" "$entry" 2>/dev/null || [ -x "$entry/$name" ] || die "cannot move the build into $entry"
    log "$name $ver: built in $(( $(now) - t0 ))s, $(du -h "$entry/$name" | cut -f1)"
  fi
  if command -v flock >/dev/null 2>&1; then exec 9>&-; fi
}

main() {
  case "${1:-}" in
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; return 0 ;;
    "") ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
  local t0 pv kv rv bindir i problems="" p
  local names=(pulumi pulumi-language-nodejs pulumi-resource-kubernetes pulumi-resource-random)
  local vers=() paths=() entries=()
  t0=$(now)
  pv="$(lock_version pulumi)"; kv="$(lock_version kubernetes)"; rv="$(lock_version random)"
  vers=("$pv" "$pv" "$kv" "$rv")
  for i in "${!names[@]}"; do
    locate "${names[$i]}" "${vers[$i]}"
    paths[i]="$FOUND"; entries[i]="$ENTRY"
  done
  for i in "${!names[@]}"; do
    [ -z "${paths[$i]}" ] || continue
    [ "${SAMPLE_APP_TOOLCHAIN_NO_BUILD:-}" != 1 ] ||
      die "${names[$i]} ${vers[$i]} is not on PATH or in $CACHE_ROOT, and SAMPLE_APP_TOOLCHAIN_NO_BUILD=1"
    p="$(preflight "${names[$i]}" "${vers[$i]}")"
    [ -z "$p" ] || problems+="${names[$i]} ${vers[$i]}:"$'\n'"$p"$'\n'
  done
  [ -z "$problems" ] || die "cannot fetch the Go modules to build:
$problems  Put matching binaries on PATH, point GOPROXY at a mirror that serves these
  modules, or copy a filled cache ($CACHE_ROOT) from another machine."
  for i in "${!names[@]}"; do
    [ -n "${paths[$i]}" ] && continue
    build "${names[$i]}" "${vers[$i]}" "${entries[$i]}"
    paths[i]="${entries[$i]}/${names[$i]}"
  done
  bindir="$CACHE_ROOT/bin/pulumi-v$pv+kubernetes-v$kv+random-v$rv"
  mkdir -p "$bindir"
  for i in "${!names[@]}"; do
    # Replace each link atomically so a concurrent reader never misses it.
    ln -sfn "${paths[$i]}" "$bindir/.${names[$i]}.$$"
    mv -Tf "$bindir/.${names[$i]}.$$" "$bindir/${names[$i]}"
  done
  log "toolchain ready in $(( $(now) - t0 ))s: $bindir"
  printf '%s\n' "$bindir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
