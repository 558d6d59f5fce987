#!/bin/sh
# Start of the redis container: writes the runtime config into the run emptyDir, as the
# primary or a replica of the primary, then execs redis-server. Pods start in parallel: a
# replica whose primary is not up yet keeps retrying it, and is not ready until it has synced.
set -eu
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
conf="$RUN_DIR/redis.conf"
primary_host="$(primary)"
auth="$(conf_quote "$(redis_password)")"
{
  echo "include $CONF_DIR/redis.conf"
  echo "dir $DATA_DIR"
  # printf is a shell builtin: the password never appears in a process's arguments.
  printf 'requirepass %s\n' "$auth"
  printf 'masterauth %s\n' "$auth"
  # Replicas and Sentinels know each pod by its stable DNS name, not its IP, which changes on restart.
  echo "replica-announce-ip $self"
  if [ "$primary_host" != "$self" ]; then echo "replicaof $primary_host $REDIS_PORT"; fi
} > "$conf"
if [ "$primary_host" = "$self" ]; then echo "starting as primary"; else echo "starting as replica of $primary_host"; fi
exec redis-server "$conf"
