# 05-select.bash - helpers for lesson 05's tests (`load 05-select`).
# shellcheck disable=SC2154  # SERVER_LOG and friends come from helpers.bash

# client_addr N: the address of the Nth client in the server's log.
client_addr() {
  sed -n 's/ connected$//p' "$SERVER_LOG" | sed -n "${1}p"
}

# connect_fd FD: opens descriptor FD on the server (bash's /dev/tcp) and
# waits until the server has logged the new client.
connect_fd() {
  local n
  n=$(grep -c ' connected$' "$SERVER_LOG" || true)
  eval "exec $1<>/dev/tcp/127.0.0.1/$SERVER_PORT"
  wait_for_log ' connected$' $((n + 1))
}

# expect_line FD TEXT: the next line read from descriptor FD is TEXT.
expect_line() {
  local line
  if ! IFS= read -r -t "$DEADLINE" line <&"$1"; then
    echo "descriptor $1: no line within ${DEADLINE}s (expected '$2')" >&2
    return 1
  fi
  [[ $line == "$2" ]] || { echo "descriptor $1: got '$line', expected '$2'" >&2; return 1; }
}

# hold_conns N: opens N connections at once with tests/tools/sel-conns,
# waits until the server has taken every one of them from the listen queue
# (served or refused), then has the tool ping each one and
# sets SERVED REFUSED RESET SILENT.
hold_conns() {
  local n=$1 out=$BATS_TEST_TMPDIR/conns.out report
  start_background "$out" "$TOOLS/sel-conns" 127.0.0.1 "$SERVER_PORT" "$n"
  local watchdog=$BACKGROUND_PID
  wait_until "sel-conns to open $n connections" grep -qs '^waiting$' "$out" || {
    cat "$out" >&2
    return 1
  }
  # Refusals are logged at most once a second, so the log cannot be counted:
  # every connection has been taken (served or refused) once the queue is empty.
  wait_until "an empty listen queue" _queue_empty "$SERVER_PORT"
  kill -USR1 "$(pgrep -P "$watchdog")"
  wait_until "the report of sel-conns" grep -qs '^served ' "$out"
  report=$(grep '^served ' "$out")
  echo "sel-conns: $report"
  # shellcheck disable=SC2034  # read by the calling test
  read -r _ SERVED _ REFUSED _ RESET _ SILENT <<<"$report"
}

# With -l, ss's second column is the number of connections waiting for accept().
_queue_empty() {
  ss -Hltn "( sport = :$1 )" | awk '$2 != 0 { busy = 1 } END { exit busy }'
}

# log_count REGEX: how many lines of the server's log match.
log_count() { grep -cE -- "$1" "$SERVER_LOG" || true; }

# with_small_buffers SERVER COMMAND...: starts lesson SERVER (e.g.
# lesson05/server), then runs COMMAND with every argument PORT replaced by
# the server's port, both in a network namespace of their own whose TCP
# buffers are 4 KiB: there a few kilobytes fill the kernel's buffers, which
# on the host's loopback take megabytes. Sets status and output (COMMAND's,
# then "server status N") and SMALL_LOG (the server's log). Needs root.
with_small_buffers() {
  unshare -n true 2>/dev/null || skip "unshare -n needs root"
  SMALL_LOG=$BATS_TEST_TMPDIR/small.log
  run timeout -s KILL "$DEADLINE" unshare -n bash -c "$_small_script" small \
    "$BIN/$1" "$SMALL_LOG" "${@:2}"
  no_sanitizer_report "$(cat "$SMALL_LOG")" "$1"
}

# shellcheck disable=SC2016  # expanded by the inner bash
_small_script='
set -e
ip link set lo up
sysctl -qw net.ipv4.tcp_rmem="4096 4096 4096" net.ipv4.tcp_wmem="4096 4096 4096"
server=$1 log=$2
shift 2
"$server" 0 >"$log" 2>&1 3>&- 4>&- &
pid=$!
until grep -qs "^listening on" "$log"; do
  kill -0 "$pid" || exit 1
  sleep 0.02
done
port=$(sed -n "s/^listening on .*://p" "$log")
args=()
for a; do args+=("${a//PORT/$port}"); done
set +e
"${args[@]}"
rc=$?
kill -TERM "$pid"
wait "$pid"
echo "server status $?"
exit "$rc"
'

# rss_kib PID: the resident memory of a process, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# stopped_reading PORT: the server on PORT has bytes from a client that it
# has not read (Recv-Q), while more than 100000 bytes of its echo to that
# client wait unsent (Send-Q): back-pressure. (How many bytes the receive
# queue holds when full depends on the kernel's accounting: 15 to 115 kB
# here.) With a state filter, ss leaves out the state column.
stopped_reading() {
  ss -Htn state established "( sport = :$1 )" |
    awk '$1 > 0 && $2 > 100000 { found = 1 } END { exit !found }'
}

# open_and_close N: N clients connect to $SERVER_PORT and leave at once.
open_and_close() {
  local i fd
  for ((i = 0; i < $1; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    exec {fd}>&-
  done
}

# out_of_descriptors SERVER LIMIT: SERVER runs with at most LIMIT
# descriptors, 4 (standard streams and the listener: not even a spare)
# or a little more, while three clients wait to be accepted. For a second
# it must not spin (CPU time, accept calls) nor flood its log, and then
# stop on SIGTERM with status 0 within a second. A rate needs an interval:
# the second is measured, not slept.
out_of_descriptors() {
  local prog=$1 limit=$2 name=${1##*/}
  # shellcheck disable=SC2034  # read by start_server
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server "$prog"
  prlimit --pid "$SERVER_PID" --nofile="$limit:$limit"
  exec 5<>"/dev/tcp/127.0.0.1/$SERVER_PORT" 6<>"/dev/tcp/127.0.0.1/$SERVER_PORT" \
    7<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  wait_for_log "^$name: accept"
  local ticks lines started=$EPOCHREALTIME
  ticks=$(_ticks "$SERVER_PID") lines=$(log_count .)
  wait_until "a second to pass" _since "$started" 1
  ticks=$(($(_ticks "$SERVER_PID") - ticks)) lines=$(($(log_count .) - lines))
  echo "in one second out of descriptors: $ticks ticks of CPU, $lines log lines"
  # A spinning server burns the whole second (100 ticks) and logs thousands.
  ((ticks <= 10 && lines <= 15))
  started=$EPOCHREALTIME
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }'
  exec 5>&- 6>&- 7>&-
  local accepts
  accepts=$(sed -n 's/.* accept=\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/faults.log" | sort -n | tail -n 1)
  echo "accept calls: $accepts"
  ((accepts > 0 && accepts < 100))
}

_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
_since() { awk -v a="$1" -v b="$EPOCHREALTIME" -v s="$2" 'BEGIN { exit !(b - a >= s) }'; }

# connect_fd_unlogged FD: opens descriptor FD on the server, as connect_fd,
# for a server whose log cannot be watched (SERVER_STDOUT=stalled): it
# waits until the server has accepted the connection instead.
connect_fd_unlogged() {
  eval "exec $1<>/dev/tcp/127.0.0.1/$SERVER_PORT"
  wait_until "the server to accept" _queue_empty "$SERVER_PORT"
}

# peer_of FD: the address the server sees for the shell's descriptor FD,
# as the chat server prints it (127.0.0.1:PORT).
peer_of() {
  local inode
  inode=$(stat -L -c %i "/proc/$$/fd/$1")
  ss -Htne state established "( dport = :$SERVER_PORT )" |
    awk -v ino="ino:$inode" '$0 ~ ino" " { print $3 }'
}
