#!/bin/sh
# Liveness of the sentinel container: it answers, and its view of the primary is not stale.
#
# Stale: Redis Sentinel 7.0 takes a newer configuration's epoch before it resolves the new
# primary's host name, and when that fails it keeps the old primary under the new epoch and never
# asks again. A host fails to resolve while its pod is being replaced: the cluster DNS caches the
# answer "no such name" for its TTL (30 s in CoreDNS's default Corefile, ACK's included). Such a
# Sentinel then watches a pod that is no primary: it fails nothing over, and when the old primary
# comes back it turns the new one into its replica, which drops the writes the new one acknowledged.
# So: when the pod this Sentinel names is not a primary, and another Sentinel names one that is,
# this one is stale; the kubelet restarts it, and its start asks the other Sentinels.
#
# Unanswered: a Sentinel resolves names synchronously and may not answer for a while when DNS
# does not; only ALIVE_UNANSWERED_SECONDS of no answer in a row fail the probe.
set -u
# shellcheck source=common.sh
. "${REDIS_CONFIG_DIR:-/etc/redis/conf}/common.sh"
since_file="$RUN_DIR/unanswered-since"
now="$(date +%s)"
if ! local_sentinel ping 2>/dev/null | grep -qx PONG; then
  [ -f "$since_file" ] || echo "$now" > "$since_file"
  since="$(cat "$since_file")"
  if [ $((now - since)) -ge "${ALIVE_UNANSWERED_SECONDS:-50}" ]; then
    echo "not alive: no answer to PING for $((now - since))s"
    exit 1
  fi
  exit 0
fi
rm -f "$since_file"

# The role the Redis at HOST reports (master, slave), or nothing when it does not answer.
role_of() { peer_redis 2 "$1" role | head -n 1; }

mine="$(local_sentinel --raw sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | head -n 1)"
case "$mine" in "" | *" "*) exit 0 ;; esac
[ "$(role_of "$mine")" = master ] && exit 0
i=0
while [ "$i" -lt "$REPLICAS" ]; do
  peer="$STATEFULSET-$i.$HEADLESS"
  if [ "$peer" != "$self" ]; then
    theirs="$(named_by 2 "$peer")"
    case "$theirs" in "" | *" "*) theirs="" ;; esac
    if [ -n "$theirs" ] && [ "$theirs" != "$mine" ] && [ "$(role_of "$theirs")" = master ]; then
      echo "not alive: stale: this Sentinel names $mine, which is not a primary; the Sentinel of $peer names $theirs, which is"
      exit 1
    fi
  fi
  i=$((i + 1))
done
exit 0
