#!/usr/bin/env bash
# In-cluster failover check of a stack whose Redis runs in Sentinel mode (redisMode sentinel):
# writes users through the API non-stop, deletes the Redis primary's pod, and measures how long
# the API went without an acknowledged write and how many acknowledged writes are missing after
# the failover. Then checks that another pod is primary, that the deleted pod came back as a
# replica, and that every Sentinel agrees. Prints one line per figure; exits 1 on a failed check.
#
#   scripts/redis-failover-check.sh NAMESPACE [drain|crash] [-- KUBECTL_ARGS...]
#
#   drain  (default) kubectl delete pod: the preStop hook hands over first (a planned move)
#   crash  the primary stops answering (CLIENT PAUSE ALL), the Sentinels detect it and fail over,
#          then its pod is deleted with a 1 s grace period: no handover
#
# Env: BOUND_S (default 30) the longest acceptable write outage; RUN_AFTER_S (default 10) how
# long to keep writing after the first write the new primary acknowledged; PORT (default 18080)
# the local port kubectl port-forward uses for the API Service (127.0.0.1 only).
# Example: scripts/redis-failover-check.sh sample-app-dev crash -- --context sample-app-local
set -euo pipefail

ns=${1:?usage: redis-failover-check.sh NAMESPACE [drain|crash] [-- KUBECTL_ARGS...]}
shift
mode=drain
if [ $# -gt 0 ] && [ "$1" != "--" ]; then mode=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
kargs=("$@")
bound=${BOUND_S:-30}
after=${RUN_AFTER_S:-10}
port=${PORT:-18080}
case "$mode" in drain|crash) ;; *) echo "mode must be drain or crash, got $mode" >&2; exit 2 ;; esac

k() { kubectl "${kargs[@]}" -n "$ns" "$@"; }
now_ms() { date +%s%3N; }
# The host the Sentinel in pod $1 names as primary (its pod name is the first label).
primary_of() {
  retry k exec "$1" -c sentinel -- sh -c '. /etc/redis/conf/common.sh; local_sentinel --raw sentinel get-master-addr-by-name mymaster' | head -n 1
}
# retry COMMAND...: a pod that was just replaced (a forced delete) may refuse exec for a moment.
retry() {
  local i
  for i in $(seq 15); do
    "$@" 2>/dev/null && return 0
    [ "$i" -lt 15 ] && sleep 1
  done
  "$@"
}

work="$(mktemp -d)"
pids=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

before="$(primary_of redis-0)"
old="${before%%.*}"
echo "primary before: $old ($before)"

k port-forward --address 127.0.0.1 svc/user-api "$port:8080" >"$work/port-forward.log" 2>&1 &
pids+=("$!")
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done

# writer N: creates users until $work/stop exists; one line per request: sent_ms answered_ms status id.
writer() {
  local i=0 sent out
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1)); sent=$(now_ms)
    out=$(curl -sS -m 5 -o "$work/body-$1" -w '%{http_code}' -H 'Content-Type: application/json' \
      -d "{\"name\":\"failover $1-$i\",\"email\":\"failover-$1-$i-$sent@example.com\"}" \
      "http://127.0.0.1:$port/api/users" 2>/dev/null) || out=000
    id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$work/body-$1" 2>/dev/null || true)
    echo "$sent $(now_ms) $out ${id:--}" >>"$work/writes-$1"
    [ "$out" = 201 ] || sleep 0.05
  done
}
for n in 1 2 3 4; do writer "$n" & pids+=("$!"); done

sleep 3
olduid=$(k get pod "$old" -o jsonpath='{.metadata.uid}')
killed=$(now_ms)
if [ "$mode" = crash ]; then
  # A crash as the Sentinels see one: the primary stops answering anyone (CLIENT PAUSE ALL: no
  # hand-over, no write taken), and once they have failed it over its pod goes within a second (no
  # force: the StatefulSet starts the new pod only when the old one is gone). A forced delete let the
  # new pod start on the same volume while the old process still answered, before the Sentinels saw
  # anything down: no failover at all, two Redis processes on one volume.
  k exec "$old" -c redis -- sh -c '. /etc/redis/conf/common.sh; local_redis client pause 120000 all' >/dev/null
  for _ in $(seq 120); do
    named="$(primary_of "$(k get pods -l app.kubernetes.io/name=redis -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | grep -vx "$old" | head -n 1)")"
    [ -n "$named" ] && [ "${named%%.*}" != "$old" ] && break
    sleep 0.5
  done
  k delete pod "$old" --grace-period=1 --wait=false >/dev/null 2>&1
else
  k delete pod "$old" --wait=false >/dev/null
fi
echo "deleted pod $old ($mode) at $killed"

# Wait for the first write sent after the deletion that was acknowledged, then keep writing a while.
recovered=""
deadline=$(( killed + 1000 * (bound + 60) ))
while [ -z "$recovered" ] && [ "$(now_ms)" -lt "$deadline" ]; do
  sleep 0.5
  recovered=$(cat "$work"/writes-* 2>/dev/null | awk -v t="$killed" '$1 > t && $3 == 201 && (m == "" || $2 < m) { m = $2 } END { print m }' || true)
done
[ -n "$recovered" ] && sleep "$after"
touch "$work/stop"
for pid in "${pids[@]:1}"; do wait "$pid" || true; done

cat "$work"/writes-* >"$work/all"
acked=$(awk '$3 == 201' "$work/all" | wc -l)
failed=$(awk '$3 != 201' "$work/all" | wc -l)
status=0
lost=0
unread=0
while read -r id; do
  # 404 is a lost write; a 503 or no answer only says the API could not read just then: ask again.
  for _ in $(seq 20); do
    code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/users/$id" || echo 000)
    case "$code" in 200 | 404) break ;; esac
    sleep 0.5
  done
  case "$code" in
    200) ;;
    404) lost=$((lost + 1)); echo "lost: $id (GET 404)" ;;
    *) unread=$((unread + 1)); echo "unverified: $id (GET $code after 20 tries)" ;;
  esac
done < <(awk '$3 == 201 { print $4 }' "$work/all")
[ "$unread" -eq 0 ] || { echo "FAIL $unread acknowledged writes could not be read back"; status=1; }

if [ -z "$recovered" ]; then
  echo "FAIL no write sent after the deletion was acknowledged within $((bound + 60)) s"
  status=1
else
  # The first write sent after the deletion may still reach the old primary while it drains, so the
  # outage is the longest stretch without an acknowledged write from the deletion on.
  outage=$(awk -v t="$killed" '$3 == 201 && $2 > t { print $2 }' "$work/all" | sort -n |
    awk -v t="$killed" 'BEGIN { prev = t; max = 0 } { if ($1 - prev > max) max = $1 - prev; prev = $1 } END { print max }')
  first=$(( recovered - killed ))
  echo "first acknowledged write sent after the deletion: +$((first / 1000)).$(printf '%03d' $((first % 1000))) s; longest stretch without an acknowledged write: $((outage / 1000)).$(printf '%03d' $((outage % 1000))) s (bound ${bound} s); $acked writes acknowledged, $failed failed, $lost acknowledged writes lost"
  [ "$outage" -le $((bound * 1000)) ] || { echo "FAIL the outage exceeds the bound"; status=1; }
fi
[ "$lost" -eq 0 ] || { echo "FAIL acknowledged writes were lost"; status=1; }

# The deleted pod comes back (StatefulSet: a new pod, same name) as a replica of the new primary;
# every Sentinel agrees.
for _ in $(seq 180); do
  uid=$(k get pod "$old" -o jsonpath='{.metadata.uid}' 2>/dev/null || true)
  ready=$(k get pod "$old" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  if [ -n "$uid" ] && [ "$uid" != "$olduid" ] && [ "$ready" = True ]; then break; fi
  sleep 1
done
[ "$ready" = True ] || { echo "FAIL the new $old is not Ready after 180 s"; exit 1; }
pods=$(k get pods -l app.kubernetes.io/name=redis -o jsonpath='{.items[*].metadata.name}')
# A Sentinel that restarted with the pod learns the new primary from the others' hello messages
# (a higher configuration epoch): give them up to 60 s to agree.
agreed=""
for _ in $(seq 30); do
  distinct=$(for p in $pods; do primary_of "$p"; done | sort -u | wc -l)
  if [ "$distinct" -eq 1 ]; then agreed=yes; break; fi
  sleep 2
done
after_primary=""
for p in $pods; do
  named=$(primary_of "$p")
  echo "sentinel in $p names ${named%%.*}"
  [ -z "$after_primary" ] && after_primary="$named"
done
[ -n "$agreed" ] || { echo "FAIL the Sentinels disagree after 60 s"; status=1; }
[ "${after_primary%%.*}" != "$old" ] || { echo "FAIL $old is still the primary"; status=1; }
# A pod that comes back while the Sentinels have not yet told it about the new primary may start
# as a primary of its own; the Sentinels then reconfigure it as a replica (+convert-to-slave).
for _ in $(seq 60); do
  role=$(retry k exec "$old" -c redis -- sh -c '. /etc/redis/conf/common.sh; local_redis info replication' | tr -d '\r' | grep -E '^(role|master_link_status):' | tr '\n' ' ')
  case "$role" in *role:slave*master_link_status:up*) break ;; esac
  sleep 1
done
echo "$old now: $role"
case "$role" in *role:slave*master_link_status:up*) ;; *) echo "FAIL $old did not rejoin as a synced replica"; status=1 ;; esac
exit "$status"
