#!/bin/sh
# preStop of the redis container with Sentinel: a primary that is being stopped (a drain, a
# rollout) hands over first, without losing a write it acknowledged:
#  1. CLIENT PAUSE WRITE: it takes no new write (a client that sends one waits for the answer);
#  2. it waits until no client is blocked in WAIT and every replica has everything it wrote (each
#     replica's own offset, asked of it: a paused primary's view of them lags up to a second);
#  3. a Sentinel (another pod's, else its own: its own is stopped at the same moment) fails over to a
#     replica, and as soon as one reports itself primary this one becomes its replica, so nothing
#     can be written here any more;
#  4. CLIENT UNPAUSE: the writes that waited are refused (READONLY) and go to the new primary;
#  5. it waits until the new primary has a replica online besides this pod, so that once this pod
#     is gone a write there can still be confirmed (WAIT) by a replica: a replica that only came
#     back moments before (the previous drain) may still be syncing when Sentinel points it there.
# A bare SENTINEL FAILOVER lost acknowledged writes: the old primary took writes, and confirmed
# them through the other replica, until Sentinel reconfigured it. All of it within
# PRESTOP_WAIT_SECONDS; then the pod stops whatever happened, and the Sentinels fail over as after
# a crash. Writes pause for about a second instead of down-after-milliseconds plus the election.
set -u
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
# What the hook does goes to the container's log (the kubelet keeps a hook's own output only when it fails).
if [ -w /proc/1/fd/1 ]; then exec >>/proc/1/fd/1 2>&1; fi
say() { echo "pre-stop: $(date +%T.%3N 2>/dev/null || date +%T) $*"; }
local_redis info replication | grep -q role:master || exit 0
say "primary: pausing writes to hand over"
deadline=$(($(date +%s) + PRESTOP_WAIT_SECONDS))
in_time() { [ "$(date +%s)" -lt "$deadline" ]; }
peer_redis() { # peer_redis HOST PORT ARGS...: redis-cli against another pod's Redis
  host=$1 port=$2
  shift 2
  REDISCLI_AUTH="$(redis_password)" timeout 2 redis-cli -h "$host" -p "$port" "$@" 2>/dev/null
}

# The replicas that an INFO replication (on stdin) lists as connected, as host:port; its
# slaveN:ip=<announced host>,port=<port>,state=online,offset=...,lag=... lines.
online_replicas() {
  tr -d '\r' | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online,.*/\1:\2/p'
}

# Whether the Redis at HOST PORT has a replica online other than this pod.
other_replica_online() {
  peer_redis "$1" "$2" info replication | online_replicas | grep -qv "^$self:"
}

# Whether no Sentinel that answers names this pod as the primary.
sentinels_moved() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    named="$(REDISCLI_AUTH="$(sentinel_password)" timeout 2 redis-cli -h "$STATEFULSET-$i.$HEADLESS" -p "$SENTINEL_PORT" --raw sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | head -n 1)"
    [ "$named" != "$self" ] || return 1
    i=$((i + 1))
  done
}

local_redis client pause "$((PRESTOP_WAIT_SECONDS * 1000))" write >/dev/null || { say "CLIENT PAUSE failed"; exit 0; }
trap 'local_redis client unpause >/dev/null 2>&1' EXIT

# 2. Nothing in flight: no WAIT blocked, every replica as far as the primary's offset.
while local_redis client list | grep 'cmd=wait' | grep -q 'flags=[A-Za-z]*b'; do
  in_time || exit 0
  sleep 0.05
done
info="$(local_redis info replication | tr -d '\r')"
offset="$(echo "$info" | sed -n 's/^master_repl_offset://p')"
online="$(echo "$info" | online_replicas)"
[ -n "$online" ] || { say "no replica is online: no handover"; exit 0; }
say "waiting for $online to reach offset $offset"
for r in $online; do
  until [ "$(peer_redis "${r%:*}" "${r#*:}" info replication | tr -d '\r' | sed -n 's/^slave_repl_offset://p')" -ge "$offset" ] 2>/dev/null; do
    in_time || exit 0
    sleep 0.05
  done
done

# 3. A Sentinel fails over; this one replicates the replica that became primary. The other pods'
# Sentinels first: this pod's own is being stopped at the same moment (it may still take the
# connection and never answer). Writes are paused meanwhile, and so is the Sentinels' PUBLISH of
# their hello on this primary, which holds up their PINGs behind it: every second counts against
# down-after-milliseconds, after which they fail over on their own.
asked=""
i=0
while [ "$i" -lt "$REPLICAS" ] && [ -z "$asked" ]; do
  s="$STATEFULSET-$i.$HEADLESS"
  if [ "$s" != "$self" ] && REDISCLI_AUTH="$(sentinel_password)" timeout 1 redis-cli -h "$s" -p "$SENTINEL_PORT" sentinel failover "$SENTINEL_MASTER" 2>/dev/null | grep -q OK; then
    asked=$s
  fi
  i=$((i + 1))
done
if [ -z "$asked" ] && REDISCLI_AUTH="$(sentinel_password)" timeout 1 redis-cli -p "$SENTINEL_PORT" sentinel failover "$SENTINEL_MASTER" 2>/dev/null | grep -q OK; then
  asked=$self
fi
[ -n "$asked" ] || { say "no Sentinel took the failover"; exit 0; }
say "the Sentinel of $asked fails over"
while in_time; do
  for r in $online; do
    if peer_redis "${r%:*}" "${r#*:}" role | head -n 1 | grep -qx master; then
      local_redis replicaof "${r%:*}" "${r#*:}" >/dev/null
      say "handed over to ${r%:*}"
      # Return once no Sentinel that answers names this pod any more, so the next pod a drain
      # takes does not find the failover still in progress.
      while in_time && ! sentinels_moved; do sleep 0.1; done
      say "no Sentinel names this pod any more"
      local_redis client unpause >/dev/null 2>&1
      # 5. Another replica of the new primary online, or the deadline.
      while in_time && ! other_replica_online "${r%:*}" "${r#*:}"; do sleep 0.1; done
      if other_replica_online "${r%:*}" "${r#*:}"; then
        say "${r%:*} has another replica online"
      else
        say "${r%:*} has no other replica online yet; stopping anyway"
      fi
      exit 0
    fi
  done
  sleep 0.1
done
