#!/usr/bin/env bash
# Installs the Debian packages the local cluster needs, and only those that are missing:
# containerd, runc and the CNI plugins run the node; buildah and mmdebstrap build the images;
# iptables, iproute2, openssl, curl and util-linux (findmnt, setsid) are used by cluster.sh; ipset by
# the NetworkPolicy enforcer (kube-router, enforcer.sh).
set -euo pipefail
packages=(containerd runc containernetworking-plugins buildah mmdebstrap debian-archive-keyring iptables ipset iproute2 openssl curl util-linux procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "cluster/install-deps: all present (${packages[*]})"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "cluster/install-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
echo "cluster/install-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
