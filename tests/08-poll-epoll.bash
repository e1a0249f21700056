# 08-poll-epoll.bash - helpers for lesson 08's tests (`load 08-poll-epoll`).
# shellcheck disable=SC2154  # SERVER_LOG and friends come from helpers.bash

# The three servers speak lesson 02's protocol; the epoll ones are Linux-only.
skip_unless_built() {
  [[ -x $BIN/$1 ]] || skip "$1 is not built here (epoll is Linux-only)"
}

# fault_roundtrip SERVER FILE: FILE through SERVER and lesson 02's client,
# both under the fault shim (short transfers, EINTR), comes back exactly.
fault_roundtrip() {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server "$1"
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    DEADLINE=60 echo_roundtrip "$2"
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  # Both sides met the faults: the test proves something.
  [[ $(grep -c 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log") -eq 2 ]]
}

# back_pressure SERVER: lesson 05's test. A client sends 256 MiB and never
# reads: the server stops reading it (its Recv-Q fills while its echo waits
# in Send-Q), keeps it, stays small, and serves another client meanwhile.
back_pressure() {
  start_server "$1"
  local rss_before rss_after greedy
  rss_before=$(rss_kib "$SERVER_PID")
  start_background "$BATS_TEST_TMPDIR/greedy.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:268435456 hold
  greedy=$BACKGROUND_PID
  wait_for_log ' connected$'
  wait_until "the server to stop reading from the greedy client" \
    stopped_reading "$SERVER_PORT"
  # Its receive window closes: the kernel takes no more of the greedy
  # client's bytes. A server that went on reading (and dropped the echo)
  # would see millions more arrive while the other client is served.
  wait_until "the greedy client's bytes to stop arriving" _received_stable
  local received=$RECEIVED
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
  # Once the server has logged the other client leaving, the greedy one's is
  # the only established connection left on its port.
  wait_for_log 'disconnected$'
  wait_until "the greedy client's bytes to settle again" _received_stable
  echo "bytes received from the greedy client: $received, then $RECEIVED"
  ((RECEIVED - received < 1048576))
  kill -0 "$greedy"
  ! grep -q '^sent' "$BATS_TEST_TMPDIR/greedy.out" || return 1
  stopped_reading "$SERVER_PORT"
  [[ $(log_count 'disconnected$') -eq 1 ]]
  rss_after=$(rss_kib "$SERVER_PID")
  echo "server resident: $rss_before KiB before, $rss_after KiB after"
  ((rss_after < rss_before + 1024))
}

# _received_stable: the bytes the server's side of the one established
# connection has received (ss -i) are the same 0.2 s apart; sets RECEIVED.
_received_stable() {
  local a b
  a=$(_received) && sleep 0.2 && b=$(_received)
  RECEIVED=$b
  [[ -n $a && $a == "$b" ]]
}
_received() {
  ss -Htni state established "( sport = :$SERVER_PORT )" |
    grep -o 'bytes_received:[0-9]*' | head -n 1 | cut -d: -f2
}

# recv_q SIDE PORT: the Recv-Q of the connection with source (sport) or
# destination (dport) port PORT.
recv_q() {
  ss -Htn state established "( $1 = :$2 )" | awk '{ print $1; exit }'
}

# burst_unread SERVER [ARGS...]: one client writes 100 kB in one go and
# reads nothing yet. Sets SERVER_UNREAD (bytes the server left in its
# receive queue) and ECHO_WAITING (echo bytes waiting for the client) once
# the server sleeps with both stable.
burst_unread() {
  start_server "$@"
  exec 5<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  head -c 100000 "$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/burst.bin"
  cat "$BATS_TEST_TMPDIR/burst.bin" >&5
  wait_until "the server to go to sleep after the burst" _settled
}

_settled() {
  local a b
  a=$(recv_q sport "$SERVER_PORT") b=$(recv_q dport "$SERVER_PORT")
  _sleeping "$SERVER_PID" || return 1
  # The server's input all read and echoed, or it sleeps with input left.
  [[ -n $a && -n $b ]] && ((a + b > 0 && (a == 0 && b == 100000 || a > 0)))
  [[ $(recv_q sport "$SERVER_PORT") == "$a" && $(recv_q dport "$SERVER_PORT") == "$b" ]] || return 1
  SERVER_UNREAD=$a ECHO_WAITING=$b
}

# idle_closes SERVER: with -t 1, a client that keeps talking stays while a
# silent one is closed, a second or so after its last activity.
idle_closes() {
  start_server "$1" -t 1 0
  connect_fd 5
  connect_fd 6
  local silent talker n=0
  talker=$(client_addr 1) silent=$(client_addr 2)
  # The first client talks every 0.1 s until the second is closed.
  until _log_has "^$silent idle for" 1; do
    echo "line $n" >&5
    expect_line 5 "line $n"
    ((++n < 100)) || { echo "no idle close after 10 s" >&2; return 1; }
    sleep 0.1
  done
  wait_for_log "^$silent disconnected$"
  ! _log_has "^$talker idle" 1 || return 1
  # The silent one sees end of file.
  local rest
  IFS= read -r -t "$DEADLINE" rest <&6 && return 1
  # Now the talker is silent: it goes too, after a second of silence.
  wait_for_log "^$talker idle for 1[0-9]{3} ms: closing$"
  wait_for_log "^$talker disconnected$"
  grep -E "^$silent idle for 1[0-9]{3} ms: closing$" "$SERVER_LOG"
  exec 5>&- 6>&-
}

# stops_under_loadgen SERVER: loadgen keeps 50 connections busy (closed
# loop, 256 KiB messages: each takes the server 64 reads), so that its wait
# nearly never has to sleep; SIGTERM must stop it, status 0, within 1 s.
# (epoll_pwait and pselect leave a stop signal blocked when they return
# ready descriptors: a loop that only notices a delivered signal misses it.)
stops_under_loadgen() {
  start_server "$1"
  start_background "$BATS_TEST_TMPDIR/loadgen.out" \
    "$BIN/lesson08/loadgen" -c 50 -s 262144 -d 30 -w 0 127.0.0.1 "$SERVER_PORT"
  wait_for_log ' connected$' 50
  local ticks
  ticks=$(_ticks "$SERVER_PID")
  wait_until "the server to use 20 ms of CPU" _busy_since "$ticks" 2
  local started=$EPOCHREALTIME watchdog=${_servers[-1]}
  kill -TERM "$SERVER_PID"
  local end=$((${EPOCHREALTIME//[.,]/} + 1000000))
  while ! _gone "$watchdog" && ((${EPOCHREALTIME//[.,]/} < end)); do sleep 0.01; done
  _gone "$watchdog" || { echo "still running a second after SIGTERM" >&2; return 1; }
  SERVER_STATUS=0
  wait "$watchdog" || SERVER_STATUS=$?
  echo "stopped after $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }') s"
  [[ $SERVER_STATUS -eq 0 ]]
}
_busy_since() { (($(_ticks "$SERVER_PID") - $1 >= $2)); }

# stream_and_ask SERVER-ARGS...: server-et reads one byte per read() (the
# fault shim), so that draining a client that streams without pause never
# reaches EAGAIN; once that client keeps the server busy, a second client
# sends one line. Sets status and output (lesson 02's client, 3 s at most).
stream_and_ask() {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
  start_server lesson08/server-et "$@" 0
  start_background "$BATS_TEST_TMPDIR/streamer.out" bash -c \
    'yes "streaming at the server" | "$1" 127.0.0.1 "$2" >/dev/null' \
    streamer "$BIN/lesson05/chat-client" "$SERVER_PORT"
  wait_for_log ' connected$'
  local ticks
  ticks=$(_ticks "$SERVER_PID")
  wait_until "the server to use 30 ms of CPU" _busy_since "$ticks" 3
  run timeout -s KILL 3 "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" <<<"hello"
}
