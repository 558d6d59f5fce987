# shellcheck shell=sh disable=SC2034
# Sourced by every script of the Redis component (components/redis.ts) and by the
# RedisBackup Job; it sets variables for them (hence SC2034). The pod gives POD_NAME and
# HEADLESS (the headless Service's FQDN); topology.sh, which the component generates beside
# this file (components/redisWorkload.ts topologyScript), gives the StatefulSet's shape:
# STATEFULSET, REPLICAS, REDIS_PORT, and with Sentinel SENTINEL_PORT, SENTINEL_MASTER,
# SENTINEL_QUORUM, SENTINEL_DOWN_AFTER_MS, SENTINEL_FAILOVER_TIMEOUT_MS, PRESTOP_WAIT_SECONDS.
# The directories default to the pod's mounts; the tests run the scripts elsewhere.
CONF_DIR="${REDIS_CONFIG_DIR:-/etc/redis/conf}"
AUTH_DIR="${REDIS_AUTH_DIR:-/etc/redis/auth}"
RUN_DIR="${REDIS_RUN_DIR:-/run/redis}"
DATA_DIR="${REDIS_DATA_DIR:-/data}"
# shellcheck source=/dev/null
. "$CONF_DIR/topology.sh"

# The pod's stable DNS name, and pod 0's: the primary of a fresh StatefulSet.
self="$POD_NAME.$HEADLESS"
first="$STATEFULSET-0.$HEADLESS"

redis_password() { cat "$AUTH_DIR/password"; }
sentinel_password() { cat "$AUTH_DIR/sentinel-password"; }

# One argument of redis.conf or sentinel.conf, whatever it holds: in double quotes, with
# backslash and double quote escaped, as Redis's config tokenizer (sdssplitargs) reads it.
conf_quote() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"
}

# redis-cli takes the password from REDISCLI_AUTH, never from its arguments.
local_redis() { REDISCLI_AUTH="$(redis_password)" redis-cli -p "$REDIS_PORT" "$@"; }
local_sentinel() { REDISCLI_AUTH="$(sentinel_password)" redis-cli -p "$SENTINEL_PORT" "$@"; }
# Another pod's Redis or Sentinel, by host name or address, given up after SECONDS; one that does not
# answer prints nothing (redis-cli's complaints are dropped) and fails.
peer_redis() { # peer_redis SECONDS HOST ARGS...
  peer_s=$1 peer_h=$2
  shift 2
  REDISCLI_AUTH="$(redis_password)" timeout "$peer_s" redis-cli -h "$peer_h" -p "$REDIS_PORT" "$@" 2>/dev/null
}
peer_sentinel() { # peer_sentinel SECONDS HOST ARGS...
  peer_s=$1 peer_h=$2
  shift 2
  REDISCLI_AUTH="$(sentinel_password)" timeout "$peer_s" redis-cli -h "$peer_h" -p "$SENTINEL_PORT" "$@" 2>/dev/null
}
# The first line of the primary the Sentinel at HOST names (its host), within SECONDS; nothing when
# it does not answer. A line with a space is an error, not a host: callers check.
named_by() { # named_by SECONDS HOST
  peer_sentinel "$1" "$2" --raw sentinel get-master-addr-by-name "$SENTINEL_MASTER" | head -n 1
}

# The host of the current primary. Without Sentinel it is always pod 0. With Sentinel:
#  1. the primary a pod's Sentinel names (each pod's asked in turn);
#  2. else the pod whose Redis says it is a primary (the Sentinels may all be restarting);
#  3. else, when this pod's data volume is there and empty, pod 0: a fresh StatefulSet, whose pods
#     start in parallel (the others replicate it, and their Sentinels wait for it);
#  4. else no peer answers a pod that has data, or whose data it cannot see (the Sentinel
#     container): peers it cannot reach yet, such as a NetworkPolicy enforcer that has not seen
#     the new pod or DNS that has not caught up. It asks again, for up to PRIMARY_WAIT_SECONDS
#     (default 120), before it falls back to pod 0 (every pod restarted at once). So a pod that
#     restarts with data never starts as a second primary beside the one it replicated.
primary() {
  if [ -z "${SENTINEL_MASTER:-}" ]; then
    echo "$first"
    return
  fi
  deadline=$(($(date +%s) + ${PRIMARY_WAIT_SECONDS:-120}))
  while :; do
    host="$(sentinel_primary)" || host="$(redis_primary)" || host=""
    if [ -n "$host" ]; then
      echo "$host"
      return
    fi
    if fresh_volume || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$first"
      return
    fi
    echo "no Sentinel and no Redis of the StatefulSet answers yet; asking again" >&2
    sleep 1
  done
}

# The host of the current primary as a Sentinel or a Redis of the StatefulSet names it, asked again
# for up to PRIMARY_WAIT_SECONDS (default 120); fails, saying so, when none does. For what is not a
# pod of the StatefulSet (the backup Job): no fallback to pod 0, whose copy may be a replica's.
named_primary() {
  if [ -z "${SENTINEL_MASTER:-}" ]; then
    echo "$first"
    return
  fi
  deadline=$(($(date +%s) + ${PRIMARY_WAIT_SECONDS:-120}))
  until host="$(sentinel_primary)" || host="$(redis_primary)"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "no Sentinel and no Redis of the StatefulSet named a primary within ${PRIMARY_WAIT_SECONDS:-120} s" >&2
      return 1
    fi
    echo "no Sentinel and no Redis of the StatefulSet answers yet; asking again" >&2
    sleep 1
  done
  echo "$host"
}

# The primary the first pod's Sentinel that knows one names; fails when none does.
sentinel_primary() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    host="$(named_by 3 "$STATEFULSET-$i.$HEADLESS")" || host=""
    case "$host" in "" | *ERR* | *NOAUTH* | *" "*) ;; *) echo "$host"; return 0 ;; esac
    i=$((i + 1))
  done
  return 1
}

# The pod whose Redis is a primary, one with replicas first; fails when none is. (The redis
# container asks before its own Redis runs; the Sentinel container may find its pod's.)
redis_primary() {
  found=""
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    host="$STATEFULSET-$i.$HEADLESS"
    info="$(peer_redis 3 "$host" info replication | tr -d '\r')" || info=""
    case "$info" in
      *role:master*connected_slaves:0*) [ -n "$found" ] || found="$host" ;;
      *role:master*) echo "$host"; return 0 ;;
    esac
    i=$((i + 1))
  done
  [ -n "$found" ] && echo "$found"
}

# Whether this container sees the pod's data volume and it holds nothing yet (a new volume).
fresh_volume() {
  [ -d "$DATA_DIR" ] && [ ! -e "$DATA_DIR/dump.rdb" ] && [ -z "$(ls -A "$DATA_DIR/appendonlydir" 2>/dev/null)" ]
}
