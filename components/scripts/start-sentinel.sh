#!/bin/sh
# Start of the sentinel container: its config (which Sentinel rewrites) goes into its own
# emptyDir, monitoring the primary the other Sentinels name, or pod 0 on a fresh StatefulSet.
set -eu
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
conf="$RUN_DIR/sentinel.conf"
# Sentinel refuses a config whose monitored host does not resolve, and a pod's DNS record
# exists only once the pod has an address: wait for it as long as it takes (pod 0 may wait for
# a node in its zone), asking again each time, since another Sentinel may name a primary meanwhile.
i=0
while :; do
  primary_host="$(primary)"
  if getent hosts "$primary_host" >/dev/null; then break; fi
  if [ $((i % 15)) -eq 0 ]; then echo "waiting for $primary_host to resolve" >&2; fi
  i=$((i + 1))
  sleep 2
done
{
  echo "port $SENTINEL_PORT"
  echo "dir $RUN_DIR"
  # Hostnames must resolve before `monitor` names one; announced hostnames survive pod restarts.
  echo "sentinel resolve-hostnames yes"
  echo "sentinel announce-hostnames yes"
  echo "sentinel announce-ip $self"
  echo "sentinel monitor $SENTINEL_MASTER $primary_host $REDIS_PORT $SENTINEL_QUORUM"
  echo "sentinel down-after-milliseconds $SENTINEL_MASTER $SENTINEL_DOWN_AFTER_MS"
  echo "sentinel failover-timeout $SENTINEL_MASTER $SENTINEL_FAILOVER_TIMEOUT_MS"
  echo "sentinel parallel-syncs $SENTINEL_MASTER 1"
  # printf is a shell builtin: the passwords never appear in a process's arguments.
  printf 'sentinel auth-pass %s %s\n' "$SENTINEL_MASTER" "$(conf_quote "$(redis_password)")"
  printf 'requirepass %s\n' "$(conf_quote "$(sentinel_password)")"
} > "$conf"
echo "monitoring $primary_host"
exec redis-server "$conf" --sentinel
