#!/usr/bin/env bash
# End-to-end check of the minimal language host (scripts/engine/langhost) with the real Pulumi CLI:
# a tiny TypeScript program outside the tree, on this repository's node_modules, with the
# kubernetes provider rendering YAML to a directory (no cluster), on a file backend of its own.
#
#   1. `pulumi preview` from a shell runs the program (config, a secret, one Deployment);
#   2. with a `:latest` image, `pulumi preview --policy-pack policy` fails on the pack's mandatory
#      pinned-image-tags policy, and so does `pulumi up`, before anything is created;
#   3. with a pinned image, the same preview passes, `up` creates the Deployment (rendered to
#      YAML) with the config and the secret as outputs, and `destroy` removes it.
#
# Exits non-zero on any mismatch; removes its temporary directory on exit and on Ctrl-C.
# Needs: `npm ci` in the repository and in policy/, Node.js >= 22 (scripts/ensure-node.sh), Go
# (the host is built by build-langhost.sh), and the CLI and kubernetes provider binaries of
# scripts/engine/build.sh; this script builds neither of those two. Override their paths with
# PULUMI_BIN and PULUMI_K8S_PROVIDER_BIN; otherwise the cached builds of the versions in
# scripts/cluster/versions.sh are taken, else a `pulumi` / `pulumi-resource-kubernetes` on PATH.
# Nothing reaches for the network: no plugin download, no update check.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../cluster/versions.sh
source "$repo/scripts/cluster/versions.sh"
cache="${SAMPLE_APP_ENGINE_CACHE:-$HOME/.cache/sample-app-engine}"

log() { printf '[langhost-check %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
  log "FAIL: $*"
  exit 1
}

# binary VAR CACHED_NAME PATH_NAME: the executable named by $VAR, else the cached build, else
# PATH_NAME on PATH.
binary() {
  local var=$1 cached=$2 name=$3
  local given=${!var:-}
  if [[ -n "$given" ]]; then
    [[ -x "$given" ]] || die "$var=$given is not an executable"
    echo "$given"
  elif [[ -n "$cached" && -x "$cache/bin/$cached" ]]; then
    echo "$cache/bin/$cached"
  elif command -v "$name" >/dev/null; then
    command -v "$name"
  else
    die "no $name: build it with scripts/engine/build.sh, or set $var"
  fi
}
pulumi_bin="$(binary PULUMI_BIN "${PULUMI_VERSION:+pulumi-$PULUMI_VERSION}" pulumi)"
k8s_bin="$(binary PULUMI_K8S_PROVIDER_BIN \
  "${PULUMI_K8S_PROVIDER_VERSION:+pulumi-resource-kubernetes-$PULUMI_K8S_PROVIDER_VERSION}" pulumi-resource-kubernetes)"

[[ -d "$repo/node_modules/@pulumi/kubernetes" ]] || die "no node_modules in $repo: run npm ci there"
[[ -d "$repo/policy/node_modules/@pulumi/policy" ]] || die "no node_modules in $repo/policy: run npm ci --prefix policy"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/langhost-check.XXXXXX")"
running="" # the pulumi a step is waiting for
cleanup() {
  if [[ -n "$running" ]] && kill -0 "$running" 2>/dev/null; then
    # It stops its plugins; a language host whose engine is killed exits within seconds by itself.
    kill -INT "$running" 2>/dev/null || true
    for _ in {1..30}; do
      kill -0 "$running" 2>/dev/null || break
      sleep 1
    done
    kill -KILL "$running" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# PATH: our host, then the CLI and the provider under the names the engine looks for, then node.
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/backend" "$tmp/rendered" "$tmp/program"
ln -s "$pulumi_bin" "$tmp/bin/pulumi"
ln -s "$k8s_bin" "$tmp/bin/pulumi-resource-kubernetes"
langhost_dir="$("$here/build-langhost.sh")"
node_dir="$("$repo/scripts/ensure-node.sh")"
export PATH="$langhost_dir:$tmp/bin:$node_dir:$PATH"
export PULUMI_HOME="$tmp/home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_CONFIG_PASSPHRASE=langhost-check PULUMI_SKIP_CONFIRMATIONS=true
# The provider renders to a directory, where it talks to no cluster (and refuses a kubeconfig,
# which the SDK would take from KUBECONFIG).
unset KUBECONFIG
log "pulumi $(pulumi version), $(command -v pulumi-language-nodejs) ($(pulumi-language-nodejs -version)), node $(node --version)"

cd "$tmp/program"
ln -s "$repo/node_modules" node_modules
cat >Pulumi.yaml <<'EOF'
name: langhost-check
runtime:
  name: nodejs
  options:
    typescript: true
main: index.ts
EOF
cat >package.json <<'EOF'
{
  "name": "langhost-check",
  "private": true,
  "main": "index.ts",
  "dependencies": { "@pulumi/pulumi": "*", "@pulumi/kubernetes": "*" }
}
EOF
cat >index.ts <<'EOF'
// A program the policy pack judges: one Deployment that meets every rule but, maybe, its image.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

const config = new pulumi.Config();
const provider = new k8s.Provider("render", { renderYamlToDirectory: config.require("renderDir") });
const labels = { app: "web" };
const probe = { httpGet: { path: "/", port: 8080 } };
const web = new k8s.apps.v1.Deployment("web", {
    metadata: { name: "web", namespace: "default" },
    spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
            metadata: { labels },
            spec: {
                securityContext: { runAsNonRoot: true, runAsUser: 10101, runAsGroup: 10101, fsGroup: 10101, seccompProfile: { type: "RuntimeDefault" } },
                containers: [{
                    name: "web",
                    image: config.require("image"),
                    ports: [{ containerPort: 8080 }],
                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
                    livenessProbe: probe,
                    readinessProbe: probe,
                    securityContext: {
                        allowPrivilegeEscalation: false,
                        capabilities: { drop: ["ALL"] },
                        readOnlyRootFilesystem: true,
                    },
                }],
            },
        },
    },
}, { provider });

export const greeting = config.require("greeting");
export const token = config.requireSecret("token");
export const image = web.spec.template.spec.containers[0].image;
EOF

out="$tmp/out.txt"
# step NAME EXPECT(ok|fail) pulumi-args...: runs pulumi, shows its output, checks its exit status.
# pulumi runs in the background so that Ctrl-C reaches the trap at once (bash runs no trap for a
# foreground command that handles SIGINT itself, as pulumi does).
step() {
  local name=$1 expect=$2 rc=0
  shift 2
  log "$name: pulumi $*"
  pulumi --color never "$@" >"$out" 2>&1 &
  running=$!
  wait "$running" || rc=$?
  running=""
  sed 's/^/    /' "$out" >&2
  if [[ $expect == ok && $rc -ne 0 ]]; then
    die "$name: pulumi $* exited $rc, want success"
  elif [[ $expect == fail && $rc -eq 0 ]]; then
    die "$name: pulumi $* succeeded, want a failure"
  fi
}
has() { grep -qF -- "$1" "$out" || die "the output has no \"$1\""; }
hasnt() { ! grep -qF -- "$1" "$out" || die "the output has \"$1\""; }
# resources [all]: how many resources the stack's state holds: kubernetes objects, or all of them.
resources() {
  pulumi stack export | node -e '
    const rs = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment.resources || [];
    console.log(rs.filter((r) => process.argv[1] === "all" || !r.type.startsWith("pulumi:")).length);' "${1:-}"
}
rendered() { find "$tmp/rendered" -type f | wc -l; }

pulumi login "file://$tmp/backend" >/dev/null
pulumi stack init dev >/dev/null
pulumi config set renderDir "$tmp/rendered"
pulumi config set greeting "hello from the config"
pulumi config set --secret token langhost-check-secret
pulumi config set image nginx:1.27.3

step "plain preview from a shell" ok preview
has "+ 3 to create"
has "kubernetes:apps/v1:Deployment"

pulumi config set image nginx:latest
step "preview of a :latest image with the policy pack" fail preview --policy-pack "$repo/policy"
has "pinned-image-tags"
has 'image "nginx:latest"'
has "mandatory"
step "up of the :latest image with the policy pack" fail up --yes --policy-pack "$repo/policy"
has "pinned-image-tags"
[[ "$(resources)" == 0 ]] || die "the failed up left $(resources) kubernetes objects in the stack"
[[ "$(rendered)" == 0 ]] || die "the failed up rendered $(rendered) files"
log "ok: the mandatory violation stopped preview and up; nothing was created"

pulumi config set image nginx:1.27.3
step "preview of a pinned image with the policy pack" ok preview --policy-pack "$repo/policy"
has "+ 3 to create"
hasnt "pinned-image-tags"
step "up of the pinned image with the policy pack" ok up --yes --policy-pack "$repo/policy"
has "3 created"
[[ "$(pulumi stack output greeting)" == "hello from the config" ]] || die "output greeting: $(pulumi stack output greeting)"
[[ "$(pulumi stack output token)" == "[secret]" ]] || die "output token is not a secret: $(pulumi stack output token)"
[[ "$(pulumi stack output token --show-secrets)" == "langhost-check-secret" ]] || die "output token: wrong value"
grep -rqF "image: nginx:1.27.3" "$tmp/rendered" || die "no rendered Deployment with nginx:1.27.3 in $tmp/rendered"
log "ok: the compliant program passed the pack and was created ($(rendered) rendered files)"

step "destroy" ok destroy --yes
[[ "$(resources all)" == 0 ]] || die "destroy left $(resources all) resources"
[[ "$(rendered)" == 0 ]] || die "destroy left $(rendered) rendered files"
log "PASS: pulumi preview and up from a shell, and the policy pack, run through the language host"
