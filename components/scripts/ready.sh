#!/bin/sh
# Readiness of the redis container: a primary is ready when it answers; a replica only once
# its link to the primary is up (it has synced), so a rollout or a drain never takes the next
# pod while this one is still empty.
set -eu
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
info="$(local_redis info replication)"
case "$info" in
  *role:master*) exit 0 ;;
  *master_link_status:up*) exit 0 ;;
esac
echo "not ready: $(echo "$info" | grep -E '^(role|master_link_status):' | tr -d '\r' | tr '\n' ' ')"
exit 1
