# shellcheck shell=bash
# `--like ack`: an OCI registry (distribution, the CNCF registry that ACR speaks) on the cluster's
# bridge, $REGISTRY_HOST, over TLS with a certificate of the cluster CA. The nodes' containerd trust
# that CA for it (certs.d), and pull the app's images from it by digest, as ACK's nodes pull from ACR.
# Sourced by cluster.sh after lib.sh and pki.sh, never run.
#
#   registry_start          run it (data in $STATE/registry)
#   registry_trust I        node I's containerd trusts it
#   registry_push           push the images the stacks run (IMAGE_TAG, default 0.1.0), write their
#                           digests to $STATE/registry/digests-<tag>.env
#   registry_stop

# Where prod and gray find their images: their `imageRegistry` on this cluster.
REGISTRY_PREFIX="$REGISTRY_HOST/sample-app"

registry_start() {
  cert registry sample-app-registry "" "IP:$CP_IP"
  mkdir -p "$STATE/registry/data"
  cat >"$STATE/registry/config.yml" <<EOF
version: 0.1
log: { level: warn, formatter: text }
storage:
  filesystem: { rootdirectory: $STATE/registry/data }
  delete: { enabled: true }
http:
  addr: $REGISTRY_HOST
  tls: { certificate: $PKI/registry.crt, key: $PKI/registry.key }
EOF
  start registry "$BIN/registry-$DISTRIBUTION_VERSION" serve "$STATE/registry/config.yml"
  wait_running 30 registry "the registry on $REGISTRY_HOST" curl -fsS --cacert "$PKI/ca.crt" "https://$REGISTRY_HOST/v2/"
}

registry_stop() { stop registry; }

# registry_trust I: node I's containerd trusts the registry's certificate (its CA) for that host.
registry_trust() {
  local d
  d="$(node_dir "$1")/certs.d/$REGISTRY_HOST"
  mkdir -p "$d"
  cp "$PKI/ca.crt" "$d/ca.crt"
  cat >"$d/hosts.toml" <<EOF
server = "https://$REGISTRY_HOST"
[host."https://$REGISTRY_HOST"]
  capabilities = ["pull", "resolve"]
  ca = "$d/ca.crt"
EOF
}

# push IMAGE NAME:TAG: IMAGE from the build store to the registry as NAME:TAG; prints its digest.
push_image() {
  local certs digest
  certs=$(mktemp -d)
  cp "$PKI/ca.crt" "$certs/ca.crt"
  buildah --storage-driver vfs push --quiet --cert-dir "$certs" --digestfile "$certs/digest" "$1" "docker://$REGISTRY_PREFIX/$2" >/dev/null
  digest=$(cat "$certs/digest")
  rm -rf "$certs"
  printf '%s' "$digest"
}

# Pushes what prod and gray run, named as their config names it under imageRegistry ($REGISTRY_PREFIX):
# sample-app-api and sample-app-web at IMAGE_TAG, the Redis and kubectl mirrors; writes the digests,
# as the deploy workflow hands them to the stacks.
registry_push() {
  local tag=${IMAGE_TAG:-0.1.0} api web redis kubectl
  api=$(push_image "docker.io/sample-app/api:$tag" "sample-app-api:$tag")
  web=$(push_image "docker.io/sample-app/web:$tag" "sample-app-web:$tag")
  redis=$(push_image "docker.io/library/redis:7.4.2-alpine" "redis:7.4.2-alpine")
  kubectl=$(push_image "localhost/sample-app-cluster/kubectl:$K8S_VERSION" "kubectl:v$K8S_VERSION")
  local digests="$STATE/registry/digests-$tag.env"
  cat >"$digests" <<EOF
imageRegistry=$REGISTRY_PREFIX
imageTag=$tag
apiImageDigest=$api
webImageDigest=$web
redisImage=redis:7.4.2-alpine@$redis
kubectlImage=kubectl:v$K8S_VERSION@$kubectl
EOF
  log "pushed to $REGISTRY_PREFIX: sample-app-api:$tag@$api, sample-app-web:$tag@$web, redis, kubectl ($digests)"
}
