# Every server of the course stops on SIGTERM (and SIGINT) with status 0
# within a second, even while it is busy and even when nobody reads its log.
# The lessons' own files test a stop while a server sleeps; these tests send
# the signal when that is hardest:
#
#   streaming   clients stream at it, so that its descriptors are always ready
#               (a loop that only notices a signal while it sleeps never does)
#   stalled     its standard output is a pipe that nobody reads, filled by the
#               log lines of 200 connections (a stalled `| less`)
#
# One @test per server and case, so that a failure names the server: a new
# server adds one line to each table below. make test runs the streaming
# SIGTERM row of every server, and the stalled row of one server per way
# of logging (fork, select loop, epoll loop, a pool); make check runs
# them all.
load helpers
load 07-udp

# Clients per streaming test, and how long they stream at most (seconds).
STREAMERS=3
STREAM_SECONDS=6
# Connections whose log lines (about 55 bytes each, 11 kB in all) overflow
# the one-page pipe.
STALL_CONNECTIONS=200

# ---- case a: clients streaming at it ------------------------------------
@test "stop: lesson01/server, clients streaming, SIGTERM"  { stops_while_streaming lesson01/server TERM; }
@test "stop: lesson02/server, clients streaming, SIGTERM"  { stops_while_streaming lesson02/server TERM; }
@test "stop: lesson03/server, clients streaming, SIGTERM"  { stops_while_streaming lesson03/server TERM; }
@test "stop: lesson04/server, clients streaming, SIGTERM"  { stops_while_streaming lesson04/server TERM; }
@test "stop: lesson05/server, clients streaming, SIGTERM"  { stops_while_streaming lesson05/server TERM; }
@test "stop: lesson05/chat-server, clients streaming, SIGTERM" { stops_while_streaming lesson05/chat-server TERM; }
@test "stop: lesson06/server, clients streaming, SIGTERM"  { stops_while_streaming lesson06/server TERM; }
@test "stop: lesson08/server-poll, clients streaming, SIGTERM" { stops_while_streaming lesson08/server-poll TERM; }
@test "stop: lesson08/server, clients streaming, SIGTERM" { stops_while_streaming lesson08/server TERM; }
@test "stop: lesson08/server-et, clients streaming, SIGTERM" { stops_while_streaming lesson08/server-et TERM; }
@test "stop: lesson09/reads, clients streaming, SIGTERM"   { stops_while_streaming lesson09/reads TERM; }
@test "stop: lesson09/line-server, clients streaming, SIGTERM" { stops_while_streaming lesson09/line-server TERM; }
@test "stop: lesson09/msg-server, clients streaming, SIGTERM" { stops_while_streaming lesson09/msg-server TERM; }
@test "stop: lesson09/receive, clients streaming, SIGTERM" { stops_while_streaming lesson09/receive TERM; }
@test "stop: lesson10/dualstack, clients streaming, SIGTERM" { stops_while_streaming lesson10/dualstack TERM; }
@test "stop: lesson10/handoff, clients streaming, SIGTERM"   { stops_while_streaming lesson10/handoff TERM; }
@test "stop: lesson11/prefork, clients streaming, SIGTERM" { stops_while_streaming lesson11/prefork TERM; }
@test "stop: lesson11/reuseport, clients streaming, SIGTERM" { stops_while_streaming lesson11/reuseport TERM; }
@test "stop: lesson11/prethread, clients streaming, SIGTERM" { stops_while_streaming lesson11/prethread TERM; }

# ---- case a with SIGINT (Ctrl-C), in make check: the same handler as SIGTERM
# bats test_tags=slow
@test "stop: lesson01/server, clients streaming, SIGINT"   { stops_while_streaming lesson01/server INT; }
# bats test_tags=slow
@test "stop: lesson02/server, clients streaming, SIGINT"   { stops_while_streaming lesson02/server INT; }
# bats test_tags=slow
@test "stop: lesson03/server, clients streaming, SIGINT"   { stops_while_streaming lesson03/server INT; }
# bats test_tags=slow
@test "stop: lesson04/server, clients streaming, SIGINT"   { stops_while_streaming lesson04/server INT; }
# bats test_tags=slow
@test "stop: lesson05/server, clients streaming, SIGINT"   { stops_while_streaming lesson05/server INT; }
# bats test_tags=slow
@test "stop: lesson05/chat-server, clients streaming, SIGINT" { stops_while_streaming lesson05/chat-server INT; }
# bats test_tags=slow
@test "stop: lesson06/server, clients streaming, SIGINT"   { stops_while_streaming lesson06/server INT; }
# bats test_tags=slow
@test "stop: lesson08/server-poll, clients streaming, SIGINT" { stops_while_streaming lesson08/server-poll INT; }
# bats test_tags=slow
@test "stop: lesson08/server, clients streaming, SIGINT" { stops_while_streaming lesson08/server INT; }
# bats test_tags=slow
@test "stop: lesson08/server-et, clients streaming, SIGINT" { stops_while_streaming lesson08/server-et INT; }
# bats test_tags=slow
@test "stop: lesson09/reads, clients streaming, SIGINT"    { stops_while_streaming lesson09/reads INT; }
# bats test_tags=slow
@test "stop: lesson09/line-server, clients streaming, SIGINT" { stops_while_streaming lesson09/line-server INT; }
# bats test_tags=slow
@test "stop: lesson09/msg-server, clients streaming, SIGINT" { stops_while_streaming lesson09/msg-server INT; }
# bats test_tags=slow
@test "stop: lesson09/receive, clients streaming, SIGINT"  { stops_while_streaming lesson09/receive INT; }
# bats test_tags=slow
@test "stop: lesson10/dualstack, clients streaming, SIGINT"  { stops_while_streaming lesson10/dualstack INT; }
# bats test_tags=slow
@test "stop: lesson10/handoff, clients streaming, SIGINT"    { stops_while_streaming lesson10/handoff INT; }
# bats test_tags=slow
@test "stop: lesson11/prefork, clients streaming, SIGINT" { stops_while_streaming lesson11/prefork INT; }
# bats test_tags=slow
@test "stop: lesson11/reuseport, clients streaming, SIGINT" { stops_while_streaming lesson11/reuseport INT; }
# bats test_tags=slow
@test "stop: lesson11/prethread, clients streaming, SIGINT" { stops_while_streaming lesson11/prethread INT; }

# ---- case b: standard output a pipe that nobody reads --------------------
# bats test_tags=slow
@test "stop: lesson01/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson01/server; }
# bats test_tags=slow
@test "stop: lesson02/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson02/server; }
@test "stop: lesson03/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson03/server; }
# bats test_tags=slow
@test "stop: lesson04/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson04/server; }
@test "stop: lesson05/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson05/server; }
# bats test_tags=slow
@test "stop: lesson05/chat-server, stdout stalled, SIGTERM" { stops_with_stalled_log lesson05/chat-server; }
# bats test_tags=slow
@test "stop: lesson06/server, stdout stalled, SIGTERM"     { stops_with_stalled_log lesson06/server; }
# bats test_tags=slow
@test "stop: lesson08/server-poll, stdout stalled, SIGTERM" { stops_with_stalled_log lesson08/server-poll; }
@test "stop: lesson08/server, stdout stalled, SIGTERM" { stops_with_stalled_log lesson08/server; }
# bats test_tags=slow
@test "stop: lesson08/server-et, stdout stalled, SIGTERM" { stops_with_stalled_log lesson08/server-et; }
# bats test_tags=slow
@test "stop: lesson09/reads, stdout stalled, SIGTERM"      { stops_with_stalled_log lesson09/reads; }
# bats test_tags=slow
@test "stop: lesson09/line-server, stdout stalled, SIGTERM" { stops_with_stalled_log lesson09/line-server; }
# bats test_tags=slow
@test "stop: lesson09/msg-server, stdout stalled, SIGTERM" { stops_with_stalled_log lesson09/msg-server; }
# bats test_tags=slow
@test "stop: lesson09/receive, stdout stalled, SIGTERM"    { stops_with_stalled_log lesson09/receive; }
# bats test_tags=slow
@test "stop: lesson10/dualstack, stdout stalled, SIGTERM"    { stops_with_stalled_log lesson10/dualstack; }
# bats test_tags=slow
@test "stop: lesson10/handoff, stdout stalled, SIGTERM"      { stops_with_stalled_log lesson10/handoff; }
@test "stop: lesson11/prefork, stdout stalled, SIGTERM" { stops_with_stalled_log lesson11/prefork; }
# bats test_tags=slow
@test "stop: lesson11/reuseport, stdout stalled, SIGTERM" { stops_with_stalled_log lesson11/reuseport; }
# bats test_tags=slow
@test "stop: lesson11/prethread, stdout stalled, SIGTERM" { stops_with_stalled_log lesson11/prethread; }

# ---- datagram servers: datagrams streaming at it -------------------------
@test "stop: lesson07/server, datagrams streaming, SIGTERM" { unused_udp_port; check_udp_stop_under_load "$UNUSED_PORT" lesson07/server "$UNUSED_PORT"; }
@test "stop: lesson07/relay, datagrams streaming, SIGTERM"  { start_udp_server; unused_udp_port; check_udp_stop_under_load "$UNUSED_PORT" lesson07/relay "$UNUSED_PORT" 127.0.0.1 "$UDP_PORT"; }

# stops_while_streaming SERVER SIGNAL: STREAMERS clients send as fast as
# they can and read all that comes back (lesson 05's chat client reads and
# writes independently, so it speaks to every server); one that the server
# closes (lesson 01 closes after its greeting) connects again. Once the
# server is busy, SIGNAL; it must exit 0 within a second.
stops_while_streaming() {
  local prog=$1 sig=$2 i
  start_server "$prog"
  for ((i = 0; i < STREAMERS; i++)); do
    start_background "$BATS_TEST_TMPDIR/streamer.$i.out" bash -c "$_streamer" \
      streamer "$BIN/lesson05/chat-client" "$SERVER_PORT" "$STREAM_SECONDS"
  done
  # Iterative servers (02, 06) serve one client at a time: one is enough.
  wait_for_log ' connected$'
  local start_ticks
  start_ticks=$(_cpu_ticks)
  wait_until "$prog to work for 30 ms of CPU time, or to serve clients one after another" \
    _busy "$start_ticks"
  stop_within_a_second "$sig"
}

# shellcheck disable=SC2016  # expanded by the inner bash
_streamer='
end=$((SECONDS + $3))
while ((SECONDS < end)); do
  yes "streaming at the server" | "$1" 127.0.0.1 "$2" >/dev/null 2>&1
done'

# stops_with_stalled_log SERVER: the server's standard output is a pipe that
# nobody reads; STALL_CONNECTIONS clients connect and leave, so that its log
# lines overflow the pipe. Once the server has taken every connection, or is
# stuck writing its log, SIGTERM; it must exit 0 within a second.
stops_with_stalled_log() {
  local prog=$1 i fd
  SERVER_STDOUT=stalled start_server "$prog"
  for ((i = 0; i < STALL_CONNECTIONS; i++)); do
    # A server stuck on its log accepts no more: stop before the listen
    # queue (128 on musl) is full, or connect() would wait for ever.
    ((i % 8 != 7)) || ! _stalled_on_log || break
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    exec {fd}>&-
  done
  wait_until "$prog to take every connection or to stall on its log" \
    _done_or_stalled "$SERVER_PORT"
  stop_within_a_second TERM
}

# stop_within_a_second SIGNAL: signals the server; it must exit with
# status 0, and within a second.
# shellcheck disable=SC2154  # _servers: the servers helpers.bash started
stop_within_a_second() {
  local sig=$1 started=$EPOCHREALTIME watchdog=${_servers[-1]}
  kill -s "$sig" "$SERVER_PID"
  # Not stop_server: its deadline is ten seconds, and a server that missed
  # the signal would be waited for that long.
  local end=$((${EPOCHREALTIME//[.,]/} + 1000000))
  while ! _gone "$watchdog" && ((${EPOCHREALTIME//[.,]/} < end)); do sleep 0.01; done
  if ! _gone "$watchdog"; then
    echo "still running a second after SIG$sig" >&2
    _show_state
    return 1
  fi
  SERVER_STATUS=0
  wait "$watchdog" || SERVER_STATUS=$?
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS after SIG$sig" >&2; return 1; }
  echo "stopped after $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') s"
}

# What each thread of a server that did not stop is doing (for the report).
_show_state() {
  local task
  for task in /proc/"$SERVER_PID"/task/*; do
    echo "  thread ${task##*/}: $(awk '{print $3}' "$task/stat") in $(cat "$task/wchan")" >&2
  done
}

# _cpu_ticks: CPU time (clock ticks) used so far by the server, its threads
# and its children (lesson 03's).
_cpu_ticks() {
  local pid total=0 t
  for pid in "$SERVER_PID" $(pgrep -P "$SERVER_PID"); do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + t))
  done
  echo "$total"
}

# Busy: 3 ticks (30 ms) of CPU since START_TICKS, or clients served one
# after another (lesson 01 closes each after its greeting: a sanitizer build
# spends more time starting the clients than serving them).
_busy() {
  (($(_cpu_ticks) - $1 >= 3)) || _log_has ' connected$' $((2 * STREAMERS))
}

# Every connection taken from the listen queue, or some thread of the server
# (or of a child) asleep writing to the full pipe.
_done_or_stalled() {
  ss -Hltn "( sport = :$1 )" | awk '$2 != 0 { busy = 1 } END { exit busy }' && return 0
  _stalled_on_log
}

# _stalled_on_log: a thread of the server or of a child is asleep writing
# to the full pipe.
_stalled_on_log() {
  local pid task
  for pid in "$SERVER_PID" $(pgrep -P "$SERVER_PID"); do
    for task in /proc/"$pid"/task/*; do
      [[ $(cat "$task/wchan" 2>/dev/null) == *pipe_write ]] && return 0
    done
  done
  return 1
}
