#!/usr/bin/env bash
# vanish.sh - lesson 06's keepalive demonstration: a peer that vanishes
# without a word, and who notices.
#
#   usage: sudo lessons/06-sockopts/vanish.sh [IDLE,INTERVAL,COUNT]   (default 1,1,3)
#
# A network cable cannot be pulled out of loopback, so this builds a tiny
# network of its own: two network namespaces (two separate network stacks
# on one machine), "near" at 10.66.0.1 and "far" at 10.66.0.2, joined by a
# virtual Ethernet pair. The lesson 06 server runs in "far" with --silent;
# two clients in "near" each send a line and wait for a reply that never
# comes: one with --keepalive, one without. Then far's end of the cable goes
# down. The keepalive client learns within IDLE + INTERVAL * COUNT seconds
# that nobody is there (ETIMEDOUT); the other would wait forever.
#
# Needs root (ip netns) and iproute2. Everything it creates lives in the two
# namespaces and is removed on exit. Programs come from $SOCKLAB_BIN/lesson06
# (default: the repository root's lesson06, built by `make lesson06`).
# Exit status: 0 when the demonstration went as described, 1 otherwise,
# 2 for a usage error, 3 when namespaces cannot be created here.
set -u

keep=${1:-1,1,3}
if (($# > 1)) || [[ ! $keep =~ ^[1-9][0-9]{0,3},[1-9][0-9]{0,3},[1-9][0-9]{0,2}$ ]]; then
  echo "usage: vanish.sh [IDLE,INTERVAL,COUNT]   e.g. 1,1,3 (seconds, seconds, probes)" >&2
  exit 2
fi
IFS=, read -r idle intvl count <<<"$keep"
limit=$((idle + intvl * count))            # when the kernel gives up

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${SOCKLAB_BIN:-$root}
[[ $bin == /* ]] || bin=$root/$bin
for prog in server client; do
  [[ -x $bin/lesson06/$prog ]] || { echo "vanish.sh: $bin/lesson06/$prog missing: run make lesson06" >&2; exit 1; }
done

near=sockopts-near-$$ far=sockopts-far-$$
work=$(mktemp -d) || exit 1
pids=()
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null; done
  # A sanitizer build reports at exit: let the caller see it.
  grep -sE 'Sanitizer|runtime error' "$work/server" >&2
  ip netns del "$near" 2>/dev/null
  ip netns del "$far" 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$near" 2>"$work/err" || ! ip netns add "$far" 2>>"$work/err"; then
  echo "vanish.sh: cannot create network namespaces (run it as root): $(head -n 1 "$work/err")" >&2
  exit 3
fi
# The veth pair is created with each end already in its namespace.
if ! { ip link add veth-near netns "$near" type veth peer name veth-far netns "$far" &&
  ip -n "$near" addr add 10.66.0.1/24 dev veth-near &&
  ip -n "$far" addr add 10.66.0.2/24 dev veth-far &&
  ip -n "$near" link set veth-near up &&
  ip -n "$far" link set veth-far up; }; then
  echo "vanish.sh: cannot set up the veth pair" >&2
  exit 3
fi

echo "near 10.66.0.1 <-> far 10.66.0.2: two network namespaces joined by a veth pair"

ip netns exec "$far" "$bin/lesson06/server" --silent 0 10.66.0.2 >"$work/server" 2>&1 &
pids+=("$!")
for ((i = 0; i < 250; i++)); do
  grep -qs '^listening on ' "$work/server" && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.02
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server")
[[ -n $port ]] || { echo "vanish.sh: the server did not start:" >&2; cat "$work/server" >&2; exit 1; }
echo "far: server --silent, listening on 10.66.0.2:$port"

# "hello" is sent and acknowledged by far's kernel; no reply ever comes, so
# each client sits in read() on an idle connection: keepalive's case.
ip netns exec "$near" "$bin/lesson06/client" --keepalive "$keep" 10.66.0.2 "$port" \
  <<<hello >"$work/with" 2>&1 &
pids+=("$!") with=$!
ip netns exec "$near" "$bin/lesson06/client" 10.66.0.2 "$port" <<<hello >"$work/without" 2>&1 &
pids+=("$!") without=$!
# Both connected, and their lines acknowledged (nothing left in Send-Q). The
# server, iterative, accepts only the first; the kernel keeps the second.
for ((i = 0; i < 250; i++)); do
  (($(ip netns exec "$near" ss -Htn state established '( dport = :'"$port"' )' |
      awk '$2 == 0' | wc -l) >= 2)) && break
  sleep 0.02
done
echo "near: client --keepalive $keep, and a client without keepalive: both wait for a reply"

ip -n "$far" link set veth-far down
start=$EPOCHREALTIME
echo "far: cable pulled (ip link set veth-far down): no more packets either way"

# The keepalive client must give up within its limit (plus a margin for
# a busy machine); the other one must still be waiting.
status=0
deadline=$((limit + 5))
while kill -0 "$with" 2>/dev/null; do
  if (($(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }') >= deadline)); then
    echo "vanish.sh: the keepalive client was still waiting after $deadline s" >&2
    exit 1
  fi
  sleep 0.05
done
wait "$with"
rc=$?
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
sed 's/^/near: /' "$work/with"
echo "near: the keepalive client exited with status $rc after $took s (expected: about $idle + $intvl x $count = $limit s)"
if ((rc != 1)) || ! grep -q 'Connection timed out (ETIMEDOUT)' "$work/with"; then
  status=1
fi
if kill -0 "$without" 2>/dev/null; then
  echo "near: the client without keepalive is still waiting, and would wait forever"
else
  echo "vanish.sh: the client without keepalive has exited:" >&2
  cat "$work/without" >&2
  status=1
fi
exit "$status"
