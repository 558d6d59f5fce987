#!/usr/bin/env bash
# Builds every image the stacks run, without a registry, and imports them into the local
# cluster's nodes' containerd (namespace k8s.io) under the names the stacks use.
#
# The base images the Dockerfiles name (golang, distroless, nginx-unprivileged, redis) and the
# pod sandbox (pause) cannot be pulled here, so local stand-ins are built under those exact names
# from Debian packages (mmdebstrap) and from this machine's Go toolchain; app/api and app/web are
# then built from their own Dockerfiles with buildah, --pull=never. Stand-in root filesystems are
# cached under $HOME/.cache/sample-app-cluster/images keyed by name and Debian suite.
#
#   scripts/cluster/images.sh [--import SOCKET]... [--tag TAG]     one --import per node
#   scripts/cluster/images.sh --stand-ins-only [--tag TAG]          only the images that need neither build.sh's
#                                                                   binaries nor a node (the Debian and Go stand-ins,
#                                                                   the app images): CI makes them beside the builds
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.sh
source "$here/versions.sh"

cache="${SAMPLE_APP_CLUSTER_CACHE:-$HOME/.cache/sample-app-cluster}"
imgcache="$cache/images"
mkdir -p "$imgcache"
sockets=()
tag="${IMAGE_TAG:-0.1.0}"
standins_only=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --import) sockets+=("${2:?--import needs the containerd socket}"); shift 2 ;;
    --tag) tag=${2:?--tag needs a tag}; shift 2 ;;
    --stand-ins-only) standins_only=true; shift ;;
    *) echo "images.sh: unknown argument '$1' (--import SOCKET, --tag TAG, --stand-ins-only)" >&2; exit 2 ;;
  esac
done
if [[ "$standins_only" == true && ${#sockets[@]} -gt 0 ]]; then
  echo "images.sh: --stand-ins-only imports nothing: leave out --import" >&2
  exit 2
fi

log() { printf '[images %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
bud() { buildah --storage-driver vfs "$@"; }

# Names exactly as the Dockerfiles, the stacks and the kubelet ask for them.
GOLANG_IMAGE="docker.io/library/golang:$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')-bookworm"
DISTROLESS_IMAGE="gcr.io/distroless/static-debian12:nonroot"
NGINX_IMAGE="docker.io/nginxinc/nginx-unprivileged:1.29.3-alpine"
REDIS_IMAGE="docker.io/library/redis:7.4.2-alpine"
PAUSE_IMAGE="registry.k8s.io/pause:3.10.1"
HELPER_IMAGE="localhost/sample-app-cluster/helper:$DEBIAN_SUITE"

have_image() { bud images --noheading "$1" 2>/dev/null | grep -q .; }

# rootfs NAME PACKAGES HOOK...: a cached mmdebstrap tarball of Debian minbase plus PACKAGES.
rootfs() {
  local name=$1 packages=$2; shift 2
  local out="$imgcache/$name-$DEBIAN_SUITE.tar"
  if [[ ! -f "$out" ]]; then
    rm -rf "$out"
    log "mmdebstrap $name ($packages), about 2 minutes"
    local args=(--variant=minbase --include="$packages" --aptopt='Acquire::Retries "3"')
    local h
    for h in "$@"; do args+=(--customize-hook="$h"); done
    # mmdebstrap picks the output format from the name: keep .tar at the end.
    mmdebstrap --quiet "${args[@]}" "$DEBIAN_SUITE" "${out%.tar}.partial.tar" http://deb.debian.org/debian
    mv "${out%.tar}.partial.tar" "$out"
  fi
  printf '%s' "$out"
}

# from_tar IMAGE TAR CONFIG...: an image of one layer from TAR, with buildah config flags.
from_tar() {
  local image=$1 tar=$2; shift 2
  local ctr
  ctr=$(bud from --name "standin-$RANDOM" scratch)
  bud add --quiet "$ctr" "$tar" / >/dev/null
  bud config "$@" "$ctr"
  bud commit --quiet --rm "$ctr" "$image" >/dev/null
}

standin_golang() {
  have_image "$GOLANG_IMAGE" && return 0
  local tar
  tar=$(rootfs golang "ca-certificates,git")
  log "stand-in $GOLANG_IMAGE (Debian $DEBIAN_SUITE + $(go env GOVERSION) from $(go env GOROOT))"
  local ctr
  ctr=$(bud from --name "standin-golang-$RANDOM" scratch)
  bud add --quiet "$ctr" "$tar" / >/dev/null
  bud copy --quiet "$ctr" "$(go env GOROOT)" /usr/local/go >/dev/null
  # The builder trusts what this machine trusts (the module proxy may sit behind a local CA).
  bud copy --quiet "$ctr" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
  bud config --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env GOPATH=/go --env GOTOOLCHAIN=local --workingdir /go --cmd bash "$ctr"
  bud commit --quiet --rm "$ctr" "$GOLANG_IMAGE" >/dev/null
}

# distroless/static: no shell, no package manager; root, nobody and nonroot (65532) users,
# CA certificates, /tmp, and the nonroot tag's USER and WORKDIR.
standin_distroless() {
  have_image "$DISTROLESS_IMAGE" && return 0
  log "stand-in $DISTROLESS_IMAGE"
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot"
  chmod 1777 "$dir/tmp"; chown 65532:65532 "$dir/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$dir/etc/group"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
  tar -C "$dir" -cf "$dir.tar" .
  from_tar "$DISTROLESS_IMAGE" "$dir.tar" --user 65532:65532 --workingdir /home/nonroot \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
  rm -rf "$dir" "$dir.tar"
}

# nginx-unprivileged: user nginx 101:101, listens on 8080, pid and temp files under /tmp,
# logs to stdout/stderr, the UI directory /usr/share/nginx/html; Debian's nginx-light.
standin_nginx() {
  have_image "$NGINX_IMAGE" && return 0
  local tar
  # The hooks are run by mmdebstrap with the root directory as $1: single quotes on purpose.
  # shellcheck disable=SC2016
  tar=$(rootfs nginx "nginx-light" \
    'chroot "$1" sh -c "groupadd -g 101 nginx && useradd -u 101 -g 101 -d /nonexistent -s /usr/sbin/nologin -M nginx"' \
    'rm -f "$1/etc/nginx/sites-enabled/default"; mkdir -p "$1/etc/nginx/conf.d" "$1/usr/share/nginx/html"' \
    'ln -sf /dev/stdout "$1/var/log/nginx/access.log"; ln -sf /dev/stderr "$1/var/log/nginx/error.log"' \
    "printf '%s\n' 'worker_processes auto;' 'error_log /var/log/nginx/error.log notice;' 'pid /tmp/nginx.pid;' 'events { worker_connections 1024; }' 'http {' '  client_body_temp_path /tmp/client_temp;' '  proxy_temp_path /tmp/proxy_temp_path;' '  fastcgi_temp_path /tmp/fastcgi_temp;' '  uwsgi_temp_path /tmp/uwsgi_temp;' '  scgi_temp_path /tmp/scgi_temp;' '  include /etc/nginx/mime.types;' '  default_type application/octet-stream;' '  access_log /var/log/nginx/access.log;' '  sendfile on;' '  include /etc/nginx/conf.d/*.conf;' '}' >\"\$1/etc/nginx/nginx.conf\"" \
    "printf '%s\n' 'server {' '  listen 8080;' '  server_name localhost;' '  location / { root /usr/share/nginx/html; index index.html; }' '}' >\"\$1/etc/nginx/conf.d/default.conf\"")
  log "stand-in $NGINX_IMAGE (Debian nginx-light)"
  from_tar "$NGINX_IMAGE" "$tar" --user 101 --port 8080 --stop-signal SIGQUIT \
    --entrypoint '[]' --cmd '["nginx", "-g", "daemon off;"]'
}

# redis: user redis 999:1000 as in the official alpine image, WORKDIR /data, redis-server and
# redis-cli on PATH and a POSIX sh; Debian's redis-server, without Debian's /etc/redis (mode 2770,
# owned by the package's own uid), which the official image does not have either.
standin_redis() {
  have_image "$REDIS_IMAGE" && return 0
  local tar
  # shellcheck disable=SC2016
  tar=$(rootfs redis "redis-server,redis-tools" \
    'chroot "$1" sh -c "groupmod -g 1000 redis && usermod -u 999 -g 1000 redis && mkdir -p /data && chown 999:1000 /data"' \
    'rm -rf "$1/etc/redis" "$1/var/lib/redis" "$1/var/log/redis"')
  log "stand-in $REDIS_IMAGE (Debian redis-server)"
  from_tar "$REDIS_IMAGE" "$tar" --workingdir /data --port 6379 --cmd '["redis-server"]'
}

standin_pause() {
  have_image "$PAUSE_IMAGE" && return 0
  log "stand-in $PAUSE_IMAGE (Kubernetes' pause.c, built by build.sh)"
  local dir
  dir=$(mktemp -d)
  cp "$cache/bin/pause-$K8S_VERSION" "$dir/pause"
  tar -C "$dir" -cf "$dir.tar" pause
  from_tar "$PAUSE_IMAGE" "$dir.tar" --entrypoint '["/pause"]' --user 65535:65535
  rm -rf "$dir" "$dir.tar"
}

# context_hash DIR: a digest of every file in a build context, so an unchanged app is not rebuilt.
context_hash() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# app_image NAME: docker.io/sample-app/NAME:$tag from app/NAME/Dockerfile, unless built from the same files.
app_image() {
  local image="docker.io/sample-app/$1:$tag" hash
  hash=$(context_hash "$root/app/$1")
  if [[ "$(bud inspect --format '{{index .OCIv1.Config.Labels "org.sample-app.context"}} {{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}' "$image" 2>/dev/null)" == "$hash $tag" ]]; then
    return 0
  fi
  log "$image from app/$1/Dockerfile"
  # The version label makes each tag's image (and its digest) its own, as a release's is.
  bud bud --quiet --pull=never --isolation chroot --network host --layers \
    --label "org.sample-app.context=$hash" --label "org.opencontainers.image.version=$tag" -t "$image" "$root/app/$1" >/dev/null
}

app_images() {
  app_image api
  app_image web
}

# The cluster's own addons: each a static binary from build.sh on the distroless stand-in.
addon_image() { # addon_image NAME VERSION
  local image="localhost/sample-app-cluster/$1:$2" dir
  have_image "$image" && return 0
  log "addon image $image"
  dir=$(mktemp -d)
  cp "$cache/bin/$1-$2" "$dir/$1"
  printf 'FROM %s\nCOPY %s /%s\nUSER 65532:65532\nENTRYPOINT ["/%s"]\n' "$DISTROLESS_IMAGE" "$1" "$1" "$1" >"$dir/Containerfile"
  bud bud --quiet --pull=never --isolation chroot -t "$image" "$dir" >/dev/null
  rm -rf "$dir"
}

# The addons, as NAME:VERSION of their binaries.
ADDONS=("coredns:$COREDNS_VERSION" "metrics-server:$METRICS_SERVER_VERSION"
  "local-path-provisioner:$LOCAL_PATH_VERSION" "traefik:$TRAEFIK_VERSION" "prometheus:$PROMETHEUS_VERSION")

# kubectl at /bin/kubectl on the distroless stand-in: the backup Job's image (registry.k8s.io/kubectl's
# layout), of the version the cluster runs.
KUBECTL_IMAGE="localhost/sample-app-cluster/kubectl:$K8S_VERSION"
kubectl_image() {
  have_image "$KUBECTL_IMAGE" && return 0
  log "image $KUBECTL_IMAGE"
  local dir
  dir=$(mktemp -d)
  mkdir -p "$dir/bin"
  cp "$cache/bin/kubectl-$K8S_VERSION" "$dir/bin/kubectl"
  tar -C "$dir" -cf "$dir.tar" bin
  from_tar "$KUBECTL_IMAGE" "$dir.tar" --entrypoint '["/bin/kubectl"]' --user 65532:65532
  rm -rf "$dir" "$dir.tar"
}

addon_images() {
  local a
  for a in "${ADDONS[@]}"; do addon_image "${a%%:*}" "${a#*:}"; done
  kubectl_image
  # local-path-provisioner's helper pods need a shell, mkdir and rm: Debian minbase (the redis stand-in).
  have_image "$HELPER_IMAGE" || bud tag "$REDIS_IMAGE" "$HELPER_IMAGE"
}

# Imports each image into each node's containerd unless that containerd has the same build already
# (a stamp per containerd root and image records the build it has).
import_all() {
  local img out id stamp socket key
  out=$(mktemp -d)
  mkdir -p "$imgcache/imported"
  for img in "$PAUSE_IMAGE" "$REDIS_IMAGE" "$NGINX_IMAGE" "$HELPER_IMAGE" "${ADDONS[@]/#/localhost/sample-app-cluster/}" \
    "docker.io/sample-app/api:$tag" "docker.io/sample-app/web:$tag"; do
    id=$(bud inspect --format '{{.FromImageID}}' "$img")
    rm -f "$out/image.tar"
    for socket in "${sockets[@]}"; do
      key=$(printf '%s %s' "$socket" "$img" | sha256sum | cut -c1-16)
      stamp="$imgcache/imported/$key"
      if [[ "$(cat "$stamp" 2>/dev/null)" == "$id" ]] && ctr --address "$socket" -n k8s.io images ls -q | grep -qxF "$img"; then
        continue
      fi
      [[ -f "$out/image.tar" ]] || bud push --quiet "$img" "docker-archive:$out/image.tar:$img"
      log "import $img into $(basename "$(dirname "$socket")")"
      ctr --address "$socket" -n k8s.io images import "$out/image.tar" >/dev/null
      printf '%s' "$id" >"$stamp"
    done
  done
  rm -rf "$out"
}

start=$(date +%s)
standin_distroless
standin_golang
standin_nginx
standin_redis
app_images
if [[ "$standins_only" == true ]]; then
  log "stand-ins and app images ready ($(( $(date +%s) - start ))s)"
  exit 0
fi
standin_pause
addon_images
[[ ${#sockets[@]} -eq 0 ]] || import_all
log "images ready ($(( $(date +%s) - start ))s)"
