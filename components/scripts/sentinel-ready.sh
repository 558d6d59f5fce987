#!/bin/sh
# Readiness of the sentinel container: it answers and monitors a primary at an address, so it
# has loaded its config and can tell clients where to write. It does not ask whether that
# primary is up: a Sentinel that sees the primary down is the one that must stay in service to
# fail it over (an unready pod also blocks the PDB and a rollout). Liveness (sentinel-alive.sh)
# restarts a Sentinel that stopped answering, or whose primary is stale.
set -eu
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
addr="$(local_sentinel --raw sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>&1 | head -n 1)" || addr=""
# A host name or address has no blank; an error (NOAUTH, WRONGPASS, LOADING, Could not connect) has.
case "$addr" in
  "" | *" "*) echo "not ready: no primary known for $SENTINEL_MASTER (${addr:-no answer})"; exit 1 ;;
esac
