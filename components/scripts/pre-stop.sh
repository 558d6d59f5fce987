#!/bin/sh
# preStop of the redis container with Sentinel: a primary that is being stopped (a drain, a
# rollout) hands over first, without losing a write it acknowledged:
#  1. CLIENT PAUSE WRITE: it takes no new write (a client that sends one waits for the answer);
#  2. it waits until no client is blocked in WAIT and every replica has everything it wrote (each
#     replica's own offset, asked of it: a paused primary's view of them lags up to a second),
#     reaching the replicas by the addresses of their connections, not by name;
#  3. a Sentinel (another pod's, else its own: its own is stopped at the same moment) fails over to a
#     replica, and as soon as one reports itself primary this one becomes its replica, so nothing
#     can be written here any more;
#  4. CLIENT UNPAUSE at once: the writes that waited are refused (READONLY, which proves they did
#     not run) and go to the new primary. A client gives up on a write it waited for longer than
#     its read timeout (the API's: 2 s) and cannot tell whether it ran, so the pause ends here,
#     not after the Sentinels have all moved (a second more: two writes failed so in a drain);
#  5. it waits until no Sentinel names this pod any more, so that the next pod a drain takes does
#     not find the failover still in progress;
#  6. it waits until the new primary has a replica online besides this pod, so that once this pod
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

# The replicas that an INFO replication (on stdin) lists as connected, as host:port; its
# slaveN:ip=<announced host>,port=<port>,state=online,offset=...,lag=... lines.
online_replicas() {
  tr -d '\r' | sed -n 's/^slave[0-9]*:ip=\([^,]*\),port=\([0-9]*\),state=online,.*/\1:\2/p'
}

# The replicas of this primary whose link is up, as the IP addresses their connections come from:
# their host names may not resolve yet (a pod replaced moments ago: the cluster DNS caches "no such
# name" for 30 s, and the hand-over waited that long on a name in the rehearsal's drains).
linked_replica_ips() {
  for ip in $(local_redis client list type replica | tr -d '\r' | sed -n 's/.* addr=\([0-9.]*\):[0-9]* .*/\1/p'); do
    if peer_redis 2 "$ip" info replication | grep -q '^master_link_status:up'; then echo "$ip"; fi
  done
}

# The host name the Redis at IP announces itself by (what Sentinel and its replicas call it).
announced_name() {
  peer_redis 2 "$1" config get replica-announce-ip | tr -d '\r' | sed -n 2p
}

# Whether the Redis at HOST has a replica online other than this pod.
other_replica_online() {
  peer_redis 2 "$1" info replication | online_replicas | grep -qv "^$self:"
}

# Whether no Sentinel that answers names this pod as the primary.
sentinels_moved() {
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    named="$(named_by 2 "$STATEFULSET-$i.$HEADLESS")"
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
offset="$(local_redis info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')"
online="$(linked_replica_ips)"
[ -n "$online" ] || { say "no replica is online: no handover"; exit 0; }
say "waiting for $(echo "$online" | paste -sd' ') to reach offset $offset"
for ip in $online; do
  until [ "$(peer_redis 2 "$ip" info replication | tr -d '\r' | sed -n 's/^slave_repl_offset://p')" -ge "$offset" ] 2>/dev/null; do
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
ask_sentinel() { # ask_sentinel [HOST]: the Sentinel at HOST (this pod's without one) fails over
  peer_sentinel 1 "${1:-127.0.0.1}" sentinel failover "$SENTINEL_MASTER" | grep -q OK
}
# The Sentinels beside the replicas (same pods, same addresses), then every other pod's by name.
for ip in $online; do
  if [ -z "$asked" ] && ask_sentinel "$ip"; then asked=$ip; fi
done
i=0
while [ "$i" -lt "$REPLICAS" ] && [ -z "$asked" ]; do
  s="$STATEFULSET-$i.$HEADLESS"
  if [ "$s" != "$self" ] && ask_sentinel "$s"; then
    asked=$s
  fi
  i=$((i + 1))
done
if [ -z "$asked" ] && ask_sentinel; then
  asked=$self
fi
[ -n "$asked" ] || { say "no Sentinel took the failover"; exit 0; }
say "the Sentinel of $asked fails over"
while in_time; do
  for ip in $online; do
    if peer_redis 2 "$ip" role | head -n 1 | grep -qx master; then
      # By its name, as Sentinel and the other replicas know it (Redis resolves it again until it can).
      name="$(announced_name "$ip")"
      local_redis replicaof "${name:-$ip}" "$REDIS_PORT" >/dev/null
      # 4. A replica now: the writes that waited are refused and sent again to the new primary.
      local_redis client unpause >/dev/null 2>&1
      say "handed over to ${name:-$ip} ($ip); writes unpaused"
      # 5. No Sentinel that answers names this pod any more.
      while in_time && ! sentinels_moved; do sleep 0.1; done
      say "no Sentinel names this pod any more"
      # 6. Another replica of the new primary online, or the deadline.
      while in_time && ! other_replica_online "$ip"; do sleep 0.1; done
      if other_replica_online "$ip"; then
        say "${name:-$ip} has another replica online"
      else
        say "${name:-$ip} has no other replica online yet; stopping anyway"
      fi
      exit 0
    fi
  done
  sleep 0.1
done
