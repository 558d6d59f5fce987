#!/usr/bin/env bash
# Offline self-test of scripts/toolchain.sh.
#
# The real build needs the Pulumi modules from GOPROXY; this test checks the
# script's own machinery without them: it serves small stand-in modules (same
# module paths and go.mod quirks as upstream: a local replace of the sdk in
# pkg, placeholder versions, an untagged language-host module pinned through
# the commit in the sdk's .info Origin, providers whose main embeds a
# generated schema-embed.json, a local replace to a nested shim module) from a
# GOPROXY=file:// directory, in a throwaway GOMODCACHE, and checks the cold
# build, the warm run, reuse from PATH, the preflight report and that a failed
# build leaves no cache entry behind. Needs only Go; takes well under a minute.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLCHAIN="$(cd "$HERE/.." && pwd)/toolchain.sh"
T="$(mktemp -d)"
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# --- stand-in modules -------------------------------------------------------
S="$T/src"
put() { mkdir -p "$(dirname "$1")"; cat >"$1"; }
HASH=0123456789abcdef0123456789abcdef01234567
HOSTV=v3.0.0-20261016182630-0123456789ab
PLACEHOLDER=v3.0.0-00010101000000-000000000000

put "$S/example.com!dep@v1.0.0/go.mod" <<<$'module example.com/dep\n\ngo 1.21'
put "$S/example.com!dep@v1.0.0/dep.go" <<<$'package dep\n\nfunc Name() string { return "orig" }'
put "$S/example.com!depfork@v1.0.1/go.mod" <<<$'module example.com/dep\n\ngo 1.21'
put "$S/example.com!depfork@v1.0.1/dep.go" <<<$'package dep\n\nfunc Name() string { return "fork" }'

SDK="$S/github.com!pulumi!pulumi!sdk!v3@v3.270.0"
put "$SDK/go.mod" <<EOF
module github.com/pulumi/pulumi/sdk/v3

go 1.21

require example.com/dep v1.0.0

replace example.com/dep => example.com/depfork v1.0.1
EOF
put "$SDK/go/common/version/version.go" <<<$'package version\n\nvar Version string'
put "$S/github.com!pulumi!pulumi!sdk!v3@v3.270.0.info" <<EOF
{"Version":"v3.270.0","Time":"2026-10-16T18:26:30Z","Origin":{"VCS":"git","URL":"https://github.com/pulumi/pulumi","Subdir":"sdk","Hash":"$HASH","Ref":"refs/tags/sdk/v3.270.0"}}
EOF

PKG="$S/github.com!pulumi!pulumi!pkg!v3@v3.270.0"
put "$PKG/go.mod" <<EOF
module github.com/pulumi/pulumi/pkg/v3

go 1.21

replace github.com/pulumi/pulumi/sdk/v3 => ../sdk

replace example.com/dep => example.com/depfork v1.0.1

require (
	example.com/dep v1.0.0
	github.com/pulumi/pulumi/sdk/v3 v3.270.0
)
EOF
put "$PKG/codegen/codegen.go" <<<$'package codegen\n\nfunc Hello() string { return "pkg" }'
put "$PKG/cmd/pulumi/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"

	"example.com/dep"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println(version.Version)
		return
	}
	fmt.Println("dep=" + dep.Name())
}
EOF

HOST="$S/github.com!pulumi!pulumi!sdk!nodejs!cmd!pulumi-language-nodejs!v3@$HOSTV"
put "$HOST/go.mod" <<EOF
module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3

go 1.21

replace (
	github.com/pulumi/pulumi/pkg/v3 => ../../../../pkg
	github.com/pulumi/pulumi/sdk/v3 => ../../..
)

require (
	github.com/pulumi/pulumi/pkg/v3 $PLACEHOLDER
	github.com/pulumi/pulumi/sdk/v3 v3.200.0
)
EOF
put "$HOST/main.go" <<'EOF'
package main

import (
	"flag"
	"fmt"

	"github.com/pulumi/pulumi/pkg/v3/codegen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
)

func main() {
	v := flag.Bool("version", false, "print version")
	flag.Parse()
	if *v {
		fmt.Println(version.Version)
		return
	}
	fmt.Println(codegen.Hello())
}
EOF
touch "$HOST.$HASH.alias"

provider() { # NAME VERSION: a provider whose main embeds schema-embed.json
  local name="$1" P="$S/example.com!fake!$1!provider!v4@v$2"
  put "$P/pkg/version/version.go" <<<$'package version\n\nvar Version string'
  put "$P/cmd/pulumi-resource-$name/schema.json" <<<"{\"name\":\"$name\",\"version\":\"0.0.0-dev\",\"resources\":{}}"
  put "$P/cmd/pulumi-resource-$name/generate.go" <<'EOF'
//go:build ignore

package main

import _ "example.com/not/available"
EOF
  put "$P/cmd/pulumi-resource-$name/main_test.go" <<<$'package main\n\nimport _ "example.com/not/available/either"'
  put "$P/cmd/pulumi-resource-$name/main.go" <<EOF
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"example.com/fake/$name/provider/v4/pkg/version"
	root "example.com/fake/$name/provider/v4"
)

//go:embed schema-embed.json
var schema []byte

func main() {
	var s struct{ Version string \`json:"version"\` }
	if err := json.Unmarshal(schema, &s); err != nil {
		panic(err)
	}
	fmt.Printf("$name %s schema=%s root=%s\n", version.Version, s.Version, root.Name())
}
EOF
}

provider kubernetes 4.34.2
K8S="$S/example.com!fake!kubernetes!provider!v4@v4.34.2"
put "$K8S/go.mod" <<EOF
module example.com/fake/kubernetes/provider/v4

go 1.21

require example.com/dep v1.0.0

replace example.com/dep => example.com/depfork v1.0.1
EOF
put "$K8S/root.go" <<<$'package provider\n\nimport "example.com/dep"\n\nfunc Name() string { return dep.Name() }'

provider random 4.21.2
RND="$S/example.com!fake!random!provider!v4@v4.21.2"
put "$RND/go.mod" <<EOF
module example.com/fake/random/provider/v4

go 1.21

require (
	example.com/upstream v1.0.0
	example.com/upstream/shim v0.0.0
)

replace example.com/upstream/shim => ./shim
EOF
put "$RND/root.go" <<<$'package provider\n\nimport "example.com/upstream/shim"\n\nfunc Name() string { return shim.NewProvider() }'
put "$RND/shim/go.mod" <<<$'module example.com/upstream/shim\n\ngo 1.21\n\nrequire example.com/upstream v1.0.0'
put "$RND/shim/shim.go" <<<$'package shim\n\nimport "example.com/upstream/internal/provider"\n\nfunc NewProvider() string { return provider.New() }'
put "$S/example.com!upstream@v1.0.0/go.mod" <<<$'module example.com/upstream\n\ngo 1.21'
put "$S/example.com!upstream@v1.0.0/internal/provider/provider.go" <<<$'package provider\n\nfunc New() string { return "upstream" }'
mkdir -p "$T/helpers/local-replaces"
cp -R "$RND/shim" "$T/helpers/local-replaces/example.com_upstream_shim"
rm "$T/helpers/local-replaces/example.com_upstream_shim/go.mod"

(cd "$HERE/selftest" && go run ./mkproxy.go "$S" "$T/proxy")

put "$T/package-lock.json" <<'EOF'
{"lockfileVersion":3,"packages":{
 "node_modules/@pulumi/pulumi":{"version":"3.270.0"},
 "node_modules/@pulumi/kubernetes":{"version":"4.34.2"},
 "node_modules/@pulumi/random":{"version":"4.21.2"}}}
EOF

# run [VAR=VALUE...]: runs toolchain.sh's main against the stand-ins.
# shellcheck disable=SC2016 # expanded by the inner bash
INNER=(bash -c '
    source "$1"
    LOCKFILE="$2/package-lock.json" HELPER_DIR="$2/helpers"
    K8S_MOD=example.com/fake/kubernetes/provider/v4
    RANDOM_MOD=${FAKE_RANDOM_MOD:-example.com/fake/random/provider/v4}
    main' _ "$TOOLCHAIN" "$T")
run() { env "$@" "${INNER[@]}" >"$T/out" 2>"$T/err"; }
export GOPROXY="file://$T/proxy" GOSUMDB=off GONOSUMDB='' GOPRIVATE='' GOMODCACHE="$T/modcache"
export GOFLAGS=-modcacherw GOTOOLCHAIN=local SAMPLE_APP_TOOLCHAIN_CACHE="$T/cache" PULUMI_HOME="$T/pulumi-home"
unset SAMPLE_APP_PULUMI_NODEJS_HOST_VERSION SAMPLE_APP_TOOLCHAIN_NO_BUILD
CLEANPATH="$(dirname "$(command -v go)"):/usr/bin:/bin"

# --- cold ---------------------------------------------------------------
t0=$(date +%s)
if PATH="$CLEANPATH" run; then ok "cold run succeeds ($(( $(date +%s) - t0 ))s)"; else bad "cold run"; cat "$T/err"; exit 1; fi
BIN="$(tail -n 1 "$T/out")"
check "stdout is one line, the bin dir" test "$(wc -l <"$T/out")" = 1 -a -d "$BIN"
check "pulumi version is v3.270.0" [ "$("$BIN/pulumi" version)" = v3.270.0 ]
check "pkg's non-local replace applies" [ "$("$BIN/pulumi")" = dep=fork ]
check "language host -version is v3.270.0" [ "$("$BIN/pulumi-language-nodejs" -version)" = v3.270.0 ]
check "language host links the pinned pkg" [ "$("$BIN/pulumi-language-nodejs")" = pkg ]
check "kubernetes provider: version, schema version, replaces" \
  [ "$("$BIN/pulumi-resource-kubernetes")" = "kubernetes 4.34.2 schema=4.34.2 root=fork" ]
check "random provider: local shim replace via helper" \
  [ "$("$BIN/pulumi-resource-random")" = "random 4.21.2 schema=4.21.2 root=upstream" ]
check "cache entries keyed by version and Go version" \
  [ -x "$T/cache/pulumi-v3.270.0-$(go env GOVERSION)/pulumi" ]
check "no temp dirs left" [ -z "$(find "$T/cache" -maxdepth 1 -name '.tmp-*')" ]
check "phase timings on stderr" grep -q 'pulumi v3.270.0: build [0-9]*s' "$T/err"

# --- warm ---------------------------------------------------------------
t0=$(date +%s)
if PATH="$CLEANPATH" run; then ok "warm run succeeds ($(( $(date +%s) - t0 ))s)"; else bad "warm run"; cat "$T/err"; fi
check "warm run builds nothing" test "$(grep -c 'using cached' "$T/err")" = 4 -a "$(grep -c building "$T/err" || true)" = 0

# --- reuse from PATH -----------------------------------------------------
mkdir -p "$T/onpath"
cp "$T/cache/pulumi-v3.270.0-$(go env GOVERSION)/pulumi" "$T/onpath/"
cp "$T/cache/pulumi-resource-kubernetes-v4.34.2-$(go env GOVERSION)/pulumi-resource-kubernetes" "$T/onpath/"
printf '#!/bin/sh\necho v3.1.0\n' >"$T/onpath/pulumi-language-nodejs"; chmod +x "$T/onpath/pulumi-language-nodejs"
if PATH="$T/onpath:$CLEANPATH" run; then ok "run with binaries on PATH"; else bad "run with PATH"; cat "$T/err"; fi
check "matching pulumi on PATH is used" [ "$(readlink "$BIN/pulumi")" = "$T/onpath/pulumi" ]
check "provider on PATH matched by its Go build info" \
  [ "$(readlink "$BIN/pulumi-resource-kubernetes")" = "$T/onpath/pulumi-resource-kubernetes" ]
check "mismatching language host on PATH is ignored" grep -q "ignoring $T/onpath/pulumi-language-nodejs" "$T/err"

# --- provider from Pulumi's plugin cache ---------------------------------
mkdir -p "$T/pulumi-home/plugins/resource-random-v4.21.2"
cp "$T/cache/pulumi-resource-random-v4.21.2-$(go env GOVERSION)/pulumi-resource-random" "$T/pulumi-home/plugins/resource-random-v4.21.2/"
if PATH="$CLEANPATH" run; then ok "run with a plugin-cache provider"; else bad "plugin cache run"; fi
check "provider in PULUMI_HOME/plugins is used" \
  [ "$(readlink "$BIN/pulumi-resource-random")" = "$T/pulumi-home/plugins/resource-random-v4.21.2/pulumi-resource-random" ]
rm -rf "$T/pulumi-home"

# --- interrupted build ------------------------------------------------------
rm -rf "$T/cache/pulumi-resource-random-v4.21.2-"*
PATH="$CLEANPATH" "${INNER[@]}" >"$T/out" 2>"$T/err" & pid=$!
for _ in $(seq 1 400); do
  [ -n "$(find "$T/cache" -maxdepth 1 -name '.tmp-*' 2>/dev/null)" ] && break
  sleep 0.05
done
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
check "interrupted build leaves no temp dir" [ -z "$(find "$T/cache" -maxdepth 1 -name '.tmp-*')" ]
e="$(find "$T/cache" -maxdepth 1 -name 'pulumi-resource-random-*' ! -name '*.lock')"
check "interrupted build leaves no entry or a complete one ($([ -z "$e" ] && echo none || echo complete))" \
  test -z "$e" -o -x "$e/pulumi-resource-random"

# --- failures -------------------------------------------------------------
rm -rf "$T/cache/pulumi-resource-random-v4.21.2-"*
if PATH="$CLEANPATH" run FAKE_RANDOM_MOD=example.com/fake/missing/provider/v4; then bad "missing module must fail"; else ok "missing module fails"; fi
check "preflight names the missing module" grep -q 'example.com/fake/missing/provider/v4@v4.21.2' "$T/err"
check "stdout stays empty on failure" [ ! -s "$T/out" ]

if PATH="$CLEANPATH" run SAMPLE_APP_TOOLCHAIN_NO_BUILD=1; then bad "NO_BUILD must fail"; else ok "SAMPLE_APP_TOOLCHAIN_NO_BUILD=1 refuses to build"; fi

rm -rf "$T/helpers/local-replaces"
if PATH="$CLEANPATH" run; then bad "build without shim helper must fail"; else ok "build failure is reported"; fi
check "failure names the local replace" grep -q 'replaces example.com/upstream/shim' "$T/err"
check "failed build leaves no cache entry" [ -z "$(find "$T/cache" -maxdepth 1 -name 'pulumi-resource-random-*' ! -name '*.lock')" ]
check "failed build leaves no temp dir" [ -z "$(find "$T/cache" -maxdepth 1 -name '.tmp-*')" ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
