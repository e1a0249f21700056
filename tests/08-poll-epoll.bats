# Lesson 08: poll and epoll echo servers, with lesson 02's client.
load helpers
load 05-select
load 08-poll-epoll

setup_file() { random_mib "$BATS_FILE_TMPDIR/random.bin"; }

# ---- the three servers: lesson 02's protocol, byte for byte ---------------
@test "lesson08 server-poll: 1 MiB of random bytes round-trips exactly" {
  start_server lesson08/server-poll
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}
@test "lesson08 server: 1 MiB of random bytes round-trips exactly" {
  skip_unless_built lesson08/server
  start_server lesson08/server
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}
@test "lesson08 server-et: 1 MiB of random bytes round-trips exactly" {
  skip_unless_built lesson08/server-et
  start_server lesson08/server-et
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

# bats test_tags=slow
@test "lesson08 server-poll: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  fault_roundtrip lesson08/server-poll "$BATS_FILE_TMPDIR/random.bin"
}
# bats test_tags=slow
@test "lesson08 server: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  skip_unless_built lesson08/server
  fault_roundtrip lesson08/server "$BATS_FILE_TMPDIR/random.bin"
}
# bats test_tags=slow
@test "lesson08 server-et: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  skip_unless_built lesson08/server-et
  fault_roundtrip lesson08/server-et "$BATS_FILE_TMPDIR/random.bin"
}
@test "lesson08 server: 64 kB round-trip under injected faults" {
  skip_unless_built lesson08/server
  head -c 65536 "$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/small.bin"
  fault_roundtrip lesson08/server "$BATS_TEST_TMPDIR/small.bin"
}
@test "lesson08 server-et: 64 kB round-trip under injected faults" {
  skip_unless_built lesson08/server-et
  head -c 65536 "$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/small.bin"
  fault_roundtrip lesson08/server-et "$BATS_TEST_TMPDIR/small.bin"
}

# ---- back-pressure ---------------------------------------------------------
@test "lesson08 server-poll: back-pressure: a client that never reads is slowed, not dropped; the others are served" {
  back_pressure lesson08/server-poll
}
@test "lesson08 server: back-pressure: a client that never reads is slowed, not dropped; the others are served" {
  skip_unless_built lesson08/server
  back_pressure lesson08/server
}
@test "lesson08 server-et: back-pressure: a client that never reads is slowed, not dropped; the others are served" {
  skip_unless_built lesson08/server-et
  back_pressure lesson08/server-et
}
@test "lesson08 server: a half-closed client gets every byte echoed, then end of file (EPOLLRDHUP)" {
  skip_unless_built lesson08/server
  start_server lesson08/server
  run timeout -s KILL "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:300000 shut recv:300000 drain
  [[ $status -eq 0 && ${lines[-2]} == "received 300000" && ${lines[-1]} == "eof after 0" ]]
}
@test "lesson08 server-et: a half-closed client gets every byte echoed, then end of file" {
  skip_unless_built lesson08/server-et
  start_server lesson08/server-et
  run timeout -s KILL "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:300000 shut recv:300000 drain
  [[ $status -eq 0 && ${lines[-2]} == "received 300000" && ${lines[-1]} == "eof after 0" ]]
}

# ---- edge-triggered: draining ----------------------------------------------
@test "lesson08 server-et: a burst larger than one read is drained and echoed whole" {
  skip_unless_built lesson08/server-et
  burst_unread lesson08/server-et
  echo "server left $SERVER_UNREAD bytes unread, $ECHO_WAITING bytes of echo wait"
  [[ $SERVER_UNREAD -eq 0 && $ECHO_WAITING -eq 100000 ]]
  head -c 100000 <&5 >"$BATS_TEST_TMPDIR/echoed.bin"
  cmp "$BATS_TEST_TMPDIR/burst.bin" "$BATS_TEST_TMPDIR/echoed.bin"
  exec 5>&-
}
@test "lesson08 server-et -n: the classic bug: one read per edge leaves the rest unread, asleep" {
  skip_unless_built lesson08/server-et
  burst_unread lesson08/server-et -n 0
  echo "server left $SERVER_UNREAD bytes unread, $ECHO_WAITING bytes of echo wait"
  # One read per edge: 4096 bytes per segment that arrived (one or two;
  # under qemu-user, slower, the burst arrives as a few more edges).
  local most=8192
  [[ -z ${SOCKLAB_EMULATED:-} ]] || most=65536
  [[ $SERVER_UNREAD -gt 0 && $((ECHO_WAITING % 4096)) -eq 0 && $ECHO_WAITING -le $most ]]
  # Only a new edge (one more byte) gets one more read.
  printf x >&5
  wait_until "one more read" _echo_waiting $((ECHO_WAITING + 4096))
  exec 5>&-
}
_echo_waiting() { [[ $(recv_q dport "$SERVER_PORT") == "$1" ]]; }

# ---- edge-triggered: the starvation trap, and the budget ----------------------
@test "lesson08 server-et: with a read budget, a client that streams does not starve another" {
  skip_unless_built lesson08/server-et
  stream_and_ask
  [[ $status -eq 0 && $output == "hello" ]]
}
# bats test_tags=slow
@test "lesson08 server-et -b 0: the trap: while one client streams, another is not served" {
  skip_unless_built lesson08/server-et
  stream_and_ask -b 0
  echo "second client: status $status, output '$output'"
  [[ $status -ne 0 && -z $output ]]
}

# ---- idle timeouts ------------------------------------------------------------
@test "lesson08 server -t: a silent client is closed after the timeout, a talking one is not" {
  skip_unless_built lesson08/server
  idle_closes lesson08/server
}
@test "lesson08 server-et -t: a silent client is closed after the timeout, a talking one is not" {
  skip_unless_built lesson08/server-et
  idle_closes lesson08/server-et
}
@test "lesson08 server: a bad timeout exits 2 naming it" {
  skip_unless_built lesson08/server
  run --separate-stderr "$BIN/lesson08/server" -t 0 0
  [[ $status -eq 2 && $stderr == *"invalid timeout '0'"* ]]
  run --separate-stderr "$BIN/lesson08/server" -t 1x 0
  [[ $status -eq 2 && $stderr == *"invalid timeout '1x'"* ]]
}

# ---- ten thousand clients -----------------------------------------------------
# bats test_tags=slow
@test "lesson08 server: 10000 clients at once, with the soft descriptor limit at 1024" {
  skip_unless_built lesson08/server
  local hard
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((hard >= 10100)) || skip "hard descriptor limit $hard: 10000 clients do not fit"
  # The server starts with the usual soft limit and must raise it itself.
  ulimit -Sn 1024
  start_server lesson08/server
  ulimit -Sn "$hard"
  ! _log_has 'descriptor limit' 1 || return 1
  start_background "$BATS_TEST_TMPDIR/hold.out" "$TOOLS/conc-hold" 127.0.0.1 "$SERVER_PORT" 10000 60
  DEADLINE=90 wait_until "10000 clients served and held" grep -qs '^holding$' "$BATS_TEST_TMPDIR/hold.out" || {
    cat "$BATS_TEST_TMPDIR/hold.out" >&2; return 1; }
  grep '^served 10000 of 10000$' "$BATS_TEST_TMPDIR/hold.out"
  [[ $(log_count ' connected$') -eq 10000 ]]
  (($(ls "/proc/$SERVER_PID/fd" | wc -l) > 10000))
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"one more"
  [[ $output == "one more" ]]
}
@test "lesson08 server: a hard descriptor limit below 10000 is said in the log" {
  skip_unless_built lesson08/server
  # (env runs prlimit, which runs the watchdog and the server.)
  SERVER_ENV=(prlimit --nofile=512:512)
  start_server lesson08/server
  wait_for_log '^server: descriptor limit 512 \(hard limit 512\): fewer than 10000 clients fit$'
}

# ---- out of descriptors ---------------------------------------------------------
@test "lesson08 server-poll: out of descriptors (nofile=5): no spin, SIGTERM stops it" {
  out_of_descriptors lesson08/server-poll 5
}
@test "lesson08 server: out of descriptors (nofile=5): no spin, SIGTERM stops it" {
  skip_unless_built lesson08/server
  out_of_descriptors lesson08/server 5
}
@test "lesson08 server-et: out of descriptors (nofile=5): no spin, SIGTERM stops it" {
  skip_unless_built lesson08/server-et
  out_of_descriptors lesson08/server-et 5
}
# bats test_tags=slow
@test "lesson08 server-poll: 1100 clients, more than FD_SETSIZE, are all served" {
  local hard
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] || ((hard >= 2048)) || skip "hard descriptor limit $hard"
  # server-poll sizes its array by the limit it starts with.
  ulimit -Sn 2048
  start_server lesson08/server-poll
  ulimit -Sn "$hard"
  hold_conns 1100
  [[ $SERVED -eq 1100 && $REFUSED -eq 0 ]]
}

# ---- the conventions ---------------------------------------------------------------
@test "lesson08 server-poll: usage and help" { check_usage lesson08/server-poll; }
@test "lesson08 server: usage and help" { skip_unless_built lesson08/server; check_usage lesson08/server; }
@test "lesson08 server-et: usage and help" { skip_unless_built lesson08/server-et; check_usage lesson08/server-et; }
@test "lesson08 server-poll: bad ports exit 2 naming the value" { check_server_bad_ports lesson08/server-poll; }
@test "lesson08 server: bad ports exit 2 naming the value" { skip_unless_built lesson08/server; check_server_bad_ports lesson08/server; }
@test "lesson08 server-et: bad ports exit 2 naming the value" { skip_unless_built lesson08/server-et; check_server_bad_ports lesson08/server-et; }
@test "lesson08 server: a port in use exits 1 naming the address" { skip_unless_built lesson08/server; check_port_in_use lesson08/server; }
@test "lesson08 server-poll: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson08/server-poll; }
@test "lesson08 server: SIGINT stops it with status 0 within a second" { skip_unless_built lesson08/server; check_stop_signal INT lesson08/server; }
@test "lesson08 server-et: SIGTERM stops it with status 0 within a second" { skip_unless_built lesson08/server-et; check_stop_signal TERM lesson08/server-et; }

# ---- stop under load -------------------------------------------------------------
@test "lesson08 server-poll: SIGTERM stops it within a second while loadgen keeps it busy" {
  skip_unless_built lesson08/loadgen
  stops_under_loadgen lesson08/server-poll
}
@test "lesson08 server: SIGTERM stops it within a second while loadgen keeps it busy" {
  skip_unless_built lesson08/server
  stops_under_loadgen lesson08/server
}
@test "lesson08 server-et: SIGTERM stops it within a second while loadgen keeps it busy" {
  skip_unless_built lesson08/server-et
  stops_under_loadgen lesson08/server-et
}

# ---- loadgen ---------------------------------------------------------------------
@test "lesson08 loadgen: closed loop against the epoll server: counts, percentiles, both CPU times" {
  skip_unless_built lesson08/loadgen
  start_server lesson08/server
  run_client lesson08/loadgen -c 4 -d 0.5 -w 0.2 -p "$SERVER_PID" 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ ${lines[0]} =~ ^"4 connections, 64-byte messages, closed loop, 0."[0-9]" s counted after 0.2 s warm-up"$ ]]
  [[ ${lines[1]} =~ ^[1-9][0-9]*" msgs/s, latency p50 "[0-9.]+" us, p99 "[0-9.]+" us, p99.9 "[0-9.]+" us"$ ]]
  [[ ${lines[2]} =~ ^"CPU per message: loadgen "[0-9.]+" us, server "[0-9.]+" us"$ ]]
  wait_for_log ' disconnected$' 4
}
@test "lesson08 loadgen: connections mode against the fork server: COUNT connections, each logged, the children's CPU counted" {
  skip_unless_built lesson08/loadgen
  start_server lesson03/server
  run_client lesson08/loadgen -n 300 -c 3 -d 20 -w 0 -p "$SERVER_PID" 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ ${lines[0]} =~ ^"300 connections, 64-byte messages, 3 at a time, "[0-9.]+" s counted after 0.0 s warm-up"$ ]]
  [[ ${lines[1]} =~ ^[1-9][0-9]*" conns/s, latency p50 "[0-9.]+" us, p99 "[0-9.]+" us, p99.9 "[0-9.]+" us"$ ]]
  [[ ${lines[2]} =~ ^"CPU per connection: loadgen "[0-9.]+" us, server "[0-9.]+" us"$ ]]
  # 300 children ran and were reaped: their time is in the server's (in
  # clock ticks of 10 ms: 300 connections make several).
  [[ ${lines[2]} != *"server 0.00 us" ]]
  wait_for_log ' disconnected$' 300
  (($(grep -c ' connected$' "$SERVER_LOG") == 300))
}
@test "lesson08 loadgen: connections mode stops at the time limit, and a server that closes at once fails the run" {
  skip_unless_built lesson08/loadgen
  start_server lesson08/server
  local t0=$SECONDS
  run_client lesson08/loadgen -n 1000000 -c 2 -d 0.3 -w 0 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 && ${lines[1]} == *" conns/s, "* ]]
  ((SECONDS - t0 <= 3))
  start_server lesson01/server      # greets and hangs up: no echo
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/lesson08/loadgen" -n 5 -c 1 -w 0 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"byte 0 is 0x"* ]]
}
@test "lesson08 loadgen: open loop sends at the rate asked, whatever comes back" {
  skip_unless_built lesson08/loadgen
  start_server lesson08/server
  run_client lesson08/loadgen -c 2 -r 400 -d 1 -w 0.2 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 && ${lines[0]} == *"open loop"* ]]
  local rate=${lines[1]%% *}
  echo "rate: $rate msgs/s for 400 asked"
  ((rate >= 300 && rate <= 500))
}
@test "lesson08 loadgen: a server that changes a byte fails the run, naming it" {
  skip_unless_built lesson08/loadgen
  # Exercise 02-upper's solution is a server that changes bytes: built here
  # for this build (a make of its own, as tests/exercises.bats does), so that
  # an older build of it for another compiler or CPU is never run.
  local upper=build/$SOCKLAB_VARIANT/exercises/02-upper/solution
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SOCKLAB_ROOT" --no-print-directory \
    VARIANT="$SOCKLAB_VARIANT" "$upper/server" >"$BATS_TEST_TMPDIR/build.log" 2>&1 3>&- 4>&- ||
    { cat "$BATS_TEST_TMPDIR/build.log"; return 1; }
  BIN=$SOCKLAB_ROOT/$upper start_server server
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/lesson08/loadgen" -c 1 -d 1 -w 0 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 1 ]]
  [[ $stderr =~ "loadgen: connection 0: byte "[0-9]+" is 0x"[0-9a-f]{2}", 0x"[0-9a-f]{2}" was sent" ]]
}
@test "lesson08 loadgen: a connection the server closes fails the run" {
  skip_unless_built lesson08/loadgen
  start_server lesson08/server -t 0.2 0
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/lesson08/loadgen" -c 1 -r 1 -d 5 -w 0 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"connection 0 closed by the server after 64 bytes"* ]]
}
@test "lesson08 loadgen: usage, help, and bounds on every flag" {
  skip_unless_built lesson08/loadgen
  check_usage lesson08/loadgen
  local bad
  for bad in "-c 0" "-c 20001" "-s 0" "-d 0" "-d 601" "-r 0" "-w x" "-n 0" "-n 1000001"; do
    # shellcheck disable=SC2086  # the flag and its value are two words
    run --separate-stderr "$BIN/lesson08/loadgen" $bad 127.0.0.1 9
    [[ $status -eq 2 && $stderr == *invalid* ]] || { echo "$bad: status $status: $stderr"; return 1; }
  done
  run --separate-stderr "$BIN/lesson08/loadgen" -n 10 -r 100 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"do not go together"* ]]
}
@test "lesson08 loadgen: bad ports exit 2 naming the value" {
  skip_unless_built lesson08/loadgen
  check_client_bad_ports lesson08/loadgen
}
