#!/usr/bin/env bash
# Builds every binary the local cluster runs from the Go module proxy, at the versions in
# versions.sh, into $HOME/.cache/sample-app-cluster/bin/<name>-<version>. A binary that is
# already there is not built again, so a warm run costs nothing; a cold run on 2 cores takes
# about 25 minutes (kube-apiserver is the long pole). Prints progress as it goes.
#
#   scripts/cluster/build.sh            build everything that is missing
#   scripts/cluster/build.sh kubernetes build one group: kubernetes etcd coredns metrics-server
#                                       traefik local-path kube-router pause registry snapshot-controller
#                                       prometheus
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.sh
source "$here/versions.sh"

cache="${SAMPLE_APP_CLUSTER_CACHE:-$HOME/.cache/sample-app-cluster}"
bin="$cache/bin"
src="$cache/src"
mkdir -p "$bin" "$src"
export CGO_ENABLED=0 GOFLAGS="-mod=mod -trimpath -buildvcs=false"

log() { printf '[build %(%H:%M:%S)T] %s\n' -1 "$*"; }

# have NAME VERSION: the cached binary exists (and is executable).
have() { [[ -x "$bin/$1-$2" ]]; }

# wrapper_module DIR MODULE VERSION: a throwaway module in DIR that requires MODULE@VERSION and
# carries over MODULE's own replace directives that name module versions (local-path replaces
# cannot apply outside MODULE's repository), since Go ignores a dependency's replaces.
wrapper_module() {
  local dir=$1 module=$2 version=$3 gomod
  mkdir -p "$dir"
  gomod="$(cd "$dir" && go mod download -json "$module@$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  {
    echo "module sample-app.local/build/$(basename "$dir")"
    echo
    echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
    echo
    echo "require $module $version"
    awk '
      /^replace \(/ { inblock = 1; next }
      inblock && /^\)/ { inblock = 0; next }
      inblock { line = $0 }
      /^replace [^(]/ { line = substr($0, 9) }
      line != "" {
        n = split(line, f, /[ \t]+/); ok = 0
        for (i = 1; i <= n; i++) if (f[i] == "=>") { target = f[i + 1]; ok = (target !~ /^\.|^\//) && (i + 2 <= n) }
        if (ok) print "replace " line
        line = ""
      }
    ' "$gomod"
  } >"$dir/go.mod"
  : >"$dir/go.sum"
}

# build_into DIR OUTNAME VERSION PACKAGE [LDFLAGS]
build_into() {
  local dir=$1 name=$2 version=$3 pkg=$4 ldflags=${5:-} t0
  t0=$(date +%s)
  log "building $name $version ($pkg)"
  (cd "$dir" && go build -ldflags "-s -w $ldflags" -o "$bin/.$name-$version.tmp" "$pkg")
  mv "$bin/.$name-$version.tmp" "$bin/$name-$version"
  log "built $name $version in $(( $(date +%s) - t0 ))s"
}

build_kubernetes() {
  local v=$K8S_VERSION names=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl) n missing=()
  for n in "${names[@]}"; do have "$n" "$v" || missing+=("$n"); done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  local dir="$src/kubernetes-$v" gomod staging
  wrapper_module "$dir" k8s.io/kubernetes "v$v"
  # kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging paths;
  # the published staging modules carry the matching tags v0.<minor>.<patch>.
  gomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$v.mod"
  while read -r staging; do
    echo "replace $staging => $staging v0.${v#1.}" >>"$dir/go.mod"
  done < <(awk '$2 == "=>" && $3 ~ /^\.\/staging/ { print $1 }' "$gomod")
  local ld="-X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1"
  ld+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$v") -X k8s.io/component-base/version.gitTreeState=clean"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=v$v -X k8s.io/client-go/pkg/version.gitMajor=1"
  ld+=" -X k8s.io/client-go/pkg/version.gitMinor=$(cut -d. -f2 <<<"$v")"
  ld+=" -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  for n in "${missing[@]}"; do build_into "$dir" "$n" "$v" "k8s.io/kubernetes/cmd/$n" "$ld"; done
}

build_etcd() {
  have etcd "$ETCD_VERSION" && return 0
  wrapper_module "$src/etcd-$ETCD_VERSION" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
  build_into "$src/etcd-$ETCD_VERSION" etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3
}

build_coredns() {
  have coredns "$COREDNS_VERSION" && return 0
  wrapper_module "$src/coredns-$COREDNS_VERSION" github.com/coredns/coredns "v$COREDNS_VERSION"
  build_into "$src/coredns-$COREDNS_VERSION" coredns "$COREDNS_VERSION" github.com/coredns/coredns
}

build_metrics_server() {
  have metrics-server "$METRICS_SERVER_VERSION" && return 0
  wrapper_module "$src/metrics-server-$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server "v$METRICS_SERVER_VERSION"
  build_into "$src/metrics-server-$METRICS_SERVER_VERSION" metrics-server "$METRICS_SERVER_VERSION" \
    sigs.k8s.io/metrics-server/cmd/metrics-server
}

build_traefik() {
  have traefik "$TRAEFIK_VERSION" && return 0
  wrapper_module "$src/traefik-$TRAEFIK_VERSION" github.com/traefik/traefik/v3 "v$TRAEFIK_VERSION"
  build_into "$src/traefik-$TRAEFIK_VERSION" traefik "$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
}

build_local_path() {
  have local-path-provisioner "$LOCAL_PATH_VERSION" && return 0
  wrapper_module "$src/local-path-$LOCAL_PATH_VERSION" github.com/rancher/local-path-provisioner "v$LOCAL_PATH_VERSION"
  build_into "$src/local-path-$LOCAL_PATH_VERSION" local-path-provisioner "$LOCAL_PATH_VERSION" \
    github.com/rancher/local-path-provisioner
}

# The NetworkPolicy enforcer: kube-router's firewall controller (see versions.sh for why only here).
build_kube_router() {
  have kube-router "$KUBE_ROUTER_VERSION" && return 0
  wrapper_module "$src/kube-router-$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2 "v$KUBE_ROUTER_VERSION"
  build_into "$src/kube-router-$KUBE_ROUTER_VERSION" kube-router "$KUBE_ROUTER_VERSION" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=1970-01-01T00:00:00Z"
}

# Prometheus with Kubernetes service discovery alone (every other discovery mechanism, and the cloud
# SDKs they pull in, left out by the build tags Prometheus's own Makefile offers), no web UI assets:
# the HTTP API is what the release judgements and the cluster checks use.
build_prometheus() {
  have prometheus "$PROMETHEUS_VERSION" && return 0
  # The module's v0.MNN.P is release M.NN.P (v0.316.0 is 3.16.0).
  local dir="$src/prometheus-$PROMETHEUS_VERSION" minor="${PROMETHEUS_VERSION#0.}" v
  minor="${minor%%.*}"
  v="${minor:0:1}.${minor:1}.${PROMETHEUS_VERSION##*.}"
  wrapper_module "$dir" github.com/prometheus/prometheus "v$PROMETHEUS_VERSION"
  GOFLAGS="$GOFLAGS -tags=remove_all_sd,enable_kubernetes_sd" build_into "$dir" prometheus "$PROMETHEUS_VERSION" \
    github.com/prometheus/prometheus/cmd/prometheus "-X github.com/prometheus/common/version.Version=$v"
}

# `up --like ack`: the OCI registry (distribution, what ACR speaks) the nodes pull the app's images from.
build_registry() {
  have registry "$DISTRIBUTION_VERSION" && return 0
  wrapper_module "$src/registry-$DISTRIBUTION_VERSION" github.com/distribution/distribution/v3 "v$DISTRIBUTION_VERSION"
  build_into "$src/registry-$DISTRIBUTION_VERSION" registry "$DISTRIBUTION_VERSION" \
    github.com/distribution/distribution/v3/cmd/registry \
    "-X github.com/distribution/distribution/v3/version.version=v$DISTRIBUTION_VERSION"
}

# `up --like ack`: the VolumeSnapshot controller (external-snapshotter), as ACK's csi-provisioner runs it.
build_snapshot_controller() {
  have snapshot-controller "$SNAPSHOTTER_VERSION" && return 0
  wrapper_module "$src/snapshot-controller-$SNAPSHOTTER_VERSION" github.com/kubernetes-csi/external-snapshotter/v8 "v$SNAPSHOTTER_VERSION"
  build_into "$src/snapshot-controller-$SNAPSHOTTER_VERSION" snapshot-controller "$SNAPSHOTTER_VERSION" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller "-X main.version=v$SNAPSHOTTER_VERSION"
}

# The pod sandbox ("pause") from Kubernetes' own pause.c, linked statically.
build_pause() {
  have pause "$K8S_VERSION" && return 0
  local c
  c="$(cd "$src" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')/build/pause/linux/pause.c"
  log "building pause from $c"
  gcc -Os -static -DVERSION="v$K8S_VERSION" -o "$bin/.pause.tmp" "$c"
  strip "$bin/.pause.tmp"
  mv "$bin/.pause.tmp" "$bin/pause-$K8S_VERSION"
}

groups=("$@")
[[ ${#groups[@]} -gt 0 ]] || groups=(pause kubernetes etcd coredns metrics-server traefik local-path kube-router registry snapshot-controller prometheus)
start=$(date +%s)
for g in "${groups[@]}"; do
  case "$g" in
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    coredns) build_coredns ;;
    metrics-server) build_metrics_server ;;
    traefik) build_traefik ;;
    local-path) build_local_path ;;
    kube-router) build_kube_router ;;
    pause) build_pause ;;
    registry) build_registry ;;
    snapshot-controller) build_snapshot_controller ;;
    prometheus) build_prometheus ;;
    *) echo "build.sh: unknown group '$g' (kubernetes etcd coredns metrics-server traefik local-path kube-router pause registry snapshot-controller prometheus)" >&2; exit 2 ;;
  esac
done
log "all binaries present in $bin ($(( $(date +%s) - start ))s)"
