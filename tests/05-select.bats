# Lesson 05: the select() echo server, with lesson 02's client.
load helpers
load 05-select

setup_file() { random_mib "$BATS_FILE_TMPDIR/random.bin"; }

@test "lesson05: typed lines come back, and the client exits 0 at end of input" {
  start_server lesson05/server
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<$'hello\nworld'
  [[ $status -eq 0 && $output == $'hello\nworld' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

@test "lesson05: works over IPv6 ::1" {
  check_listens_on lesson05/server ::1 '[::1]'
  run_client lesson05/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+ connected$'
}

@test "lesson05: 1 MiB of random bytes round-trips exactly" {
  start_server lesson05/server
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin" lesson05/client
}

# bats test_tags=slow
@test "lesson05: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson05/server
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    DEADLINE=60 echo_roundtrip "$BATS_FILE_TMPDIR/random.bin" lesson05/client
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  [[ $(grep -c 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log") -eq 2 ]]
}

@test "lesson05: clients are served at the same time (a held connection blocks nobody)" {
  start_server lesson05/server
  # Lesson 02 would serve the second client only after the first left.
  start_background "$BATS_TEST_TMPDIR/first.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:first readline hold
  wait_until "the first client's echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/first.out"
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<"second"
  [[ $status -eq 0 && $output == second ]]
  connect_fd 5
  connect_fd 6
  printf 'to five\n' >&5
  printf 'to six\n' >&6
  expect_line 6 "to six"
  expect_line 5 "to five"
  exec 5>&- 6>&-
  [[ $(log_count ' connected$') -eq 4 ]]
}

@test "lesson05: a half-closed client gets every byte echoed, then end of file" {
  start_server lesson05/server
  # 300 kB sent before the half-close: more than one turn of the loop and
  # more than the socket buffers, so the server must flush after the EOF.
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:300000 shut recv:300000 drain
  [[ $status -eq 0 ]]
  [[ ${lines[-2]} == "received 300000" && ${lines[-1]} == "eof after 0" ]]
  wait_for_log 'disconnected$'
}

@test "lesson05: clients that reset, half-close and never read do not disturb the others" {
  start_server lesson05/server
  start_background "$BATS_TEST_TMPDIR/idle.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:idle readline hold
  wait_until "the idle client's echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/idle.out"
  start_background "$BATS_TEST_TMPDIR/greedy.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:1048576 hold
  local greedy=$BACKGROUND_PID
  wait_for_log ' connected$' 2
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:100000 recv:1000 reset
  [[ $status -eq 0 && ${lines[-1]} == reset ]]
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:half shut readline drain
  [[ $status -eq 0 && ${lines[-2]} == "line half" && ${lines[-1]} == "eof after 0" ]]
  # While the greedy one still holds its connection, unread echo and all:
  kill -0 "$greedy"
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin" lesson05/client
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:again readline
  [[ $status -eq 0 && ${lines[-1]} == "line again" ]]
  kill -0 "$SERVER_PID"
}

@test "lesson05: back-pressure: a client that sends and never reads is slowed, not dropped; memory stays bounded; the others are served" {
  start_server lesson05/server
  local rss_before
  rss_before=$(rss_kib "$SERVER_PID")
  # 256 MiB: far more than all the buffers between the two ends can hold.
  start_background "$BATS_TEST_TMPDIR/greedy.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:268435456 hold
  local greedy=$BACKGROUND_PID
  wait_for_log ' connected$'
  # The server has stopped reading from it (its receive queue fills) while
  # its echo waits (the send queue is full): TCP slows the sender down.
  wait_until "the server to stop reading from the greedy client" \
    stopped_reading "$SERVER_PORT"
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin" lesson05/client
  # Still connected, still stuck in its send, never dropped:
  kill -0 "$greedy"
  ! grep -q '^sent' "$BATS_TEST_TMPDIR/greedy.out" || return 1
  stopped_reading "$SERVER_PORT"
  [[ $(log_count 'dropping|disconnected$') -eq 1 ]]     # the round trip's client
  local rss_after
  rss_after=$(rss_kib "$SERVER_PID")
  echo "server resident: $rss_before KiB before, $rss_after KiB after"
  ((rss_after < rss_before + 1024))
}

@test "lesson05: back-pressure: once the client reads again, its echo flows again, byte for byte" {
  start_server lesson05/server
  local big=$BATS_TEST_TMPDIR/big.bin out=$BATS_TEST_TMPDIR/back.bin
  head -c 16777216 /dev/urandom >"$big"
  # One connection: a writer sends 16 MiB and nobody reads, until the
  # test creates the file "go"; then the echo is read back.
  start_background "$BATS_TEST_TMPDIR/late.out" bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    cat "$2" >&3 &
    until [[ -e $4 ]]; do sleep 0.02; done
    head -c 16777216 <&3 >"$3"
    wait' late "$SERVER_PORT" "$big" "$out" "$BATS_TEST_TMPDIR/go"
  wait_for_log ' connected$'
  wait_until "the server to stop reading from the client" stopped_reading "$SERVER_PORT"
  [[ ! -s $out ]]
  touch "$BATS_TEST_TMPDIR/go"
  wait_until "all 16 MiB of echo" _file_size_is "$out" 16777216
  cmp "$big" "$out"
  [[ $(log_count 'dropping') -eq 0 ]]
}

_file_size_is() { [[ $(stat -c %s "$1" 2>/dev/null) == "$2" ]]; }

@test "lesson05: small socket buffers: a half-closed client still gets its echo, all of it" {
  # 10 kB through 4 KiB buffers: when the server reads the end of file,
  # the last of the echo is still on its way, and must go out before it
  # closes.
  with_small_buffers lesson05/server "$TOOLS/peer" 127.0.0.1 PORT send:10000 shut recv:10000 drain
  [[ $status -eq 0 ]]
  [[ ${lines[-3]} == "received 10000" && ${lines[-2]} == "eof after 0" ]]
  [[ ${lines[-1]} == "server status 0" ]]
}

# bats test_tags=slow
@test "lesson05: 1100 clients: those below FD_SETSIZE are served, the rest refused cleanly, no abort" {
  start_server lesson05/server
  # Enough descriptors that FD_SETSIZE (1024), not the limit, is what runs out.
  prlimit --pid "$SERVER_PID" --nofile=4096:4096
  hold_conns 1100
  [[ $RESET -eq 0 && $SILENT -eq 0 ]]
  [[ $SERVED -gt 900 && $REFUSED -gt 0 && $((SERVED + REFUSED)) -eq 1100 ]]
  [[ $(log_count ' connected$') -eq $SERVED ]]
  [[ $(log_count '^server: refusing 127\.0\.0\.1:[0-9]+: descriptor [0-9]+ >= FD_SETSIZE \(1024\)$') -eq $REFUSED ]]
  [[ $(log_count 'EMFILE') -eq 0 ]]
  # The tool has closed them all: every served client leaves, and the
  # server takes new ones again.
  wait_for_log 'disconnected$' "$SERVED"
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<"after the crowd"
  [[ $status -eq 0 && $output == "after the crowd" ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "lesson05: out of descriptors: extra clients refused cleanly, no accept spin, the others served" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson05/server
  prlimit --pid "$SERVER_PID" --nofile=16:16
  hold_conns 24
  [[ $RESET -eq 0 && $SILENT -eq 0 ]]
  [[ $SERVED -gt 0 && $SERVED -lt 16 && $((SERVED + REFUSED)) -eq 24 ]]
  [[ $(log_count ' connected$') -eq $SERVED ]]
  # Refusals are logged, never more than once each.
  local logged
  logged=$(log_count '^server: accept: refusing a client')
  [[ $logged -gt 0 && $logged -le $REFUSED ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  # A spinning server makes millions of accept calls; this one, a few per client.
  local accepts
  # (The watchdog, timeout, logs a line of its own, with no accept calls.)
  accepts=$(sed -n 's/.* accept=\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/faults.log" | sort -n | tail -n 1)
  echo "accept calls: $accepts"
  [[ $accepts -gt 0 && $accepts -lt 200 ]]
}

@test "lesson05: no descriptor to spare (nofile=4): no spin, a quiet log, SIGTERM stops it" {
  out_of_descriptors lesson05/server 4
}

@test "lesson05: one descriptor to spare (nofile=5): clients refused, no spin, SIGTERM stops it" {
  out_of_descriptors lesson05/server 5
  [[ $(log_count '^server: accept: refusing a client') -ge 1 ]]
}

@test "lesson05: a log that nobody reads: the server goes on serving, drops lines with a count, and stops on SIGTERM" {
  SERVER_STDOUT=stalled start_server lesson05/server
  open_and_close 200
  wait_until "the server to take every connection" _queue_empty "$SERVER_PORT"
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<"served all the same"
  [[ $status -eq 0 && $output == "served all the same" ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  wait_for_log '^server: [1-9][0-9]* log lines dropped: stdout was not read$'
}

# _all_accounted N: the log's lines and the counts of dropped ones, those
# that came with a line and the one the server gave on stderr as it
# stopped, add up to N.
_all_accounted() {
  local counted written
  counted=$(sed -n 's/^server: \([0-9]*\) log lines dropped.*/\1/p' "$SERVER_LOG" | awk '{ s += $1 } END { print s + 0 }')
  written=$(grep -cv 'log lines dropped' "$SERVER_LOG")
  echo "dropped $counted, written $written"
  ((counted + written == $1))
}

@test "lesson05: a log reader that stalls, then reads again: the lines it missed are counted in the log" {
  SERVER_STDOUT=stalled start_server lesson05/server
  local reader
  reader=$(pgrep -P "$BACKGROUND_PID")
  open_and_close 200
  wait_until "the server to take every connection" _queue_empty "$SERVER_PORT"
  kill -CONT "$reader"
  # The pipe held one line, the first arrival's: once it is copied, the
  # pipe is empty, and the next line goes in with the count.
  wait_for_log ' connected$'
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<"read again"
  [[ $status -eq 0 ]]
  # The count comes with the first line written after the gap.
  wait_for_log '^server: [1-9][0-9]* log lines dropped: stdout was not read$'
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  # The reader copies what was left in the pipe once the server has gone.
  wait_until "the log reader to copy the last lines" _gone "$reader"
  # Every line is written or counted: 1 + 2 x 200 + 2 in all. A reader
  # still busy with one line when the next comes makes the server drop
  # that one too; it is counted as the server stops.
  _all_accounted $((1 + 2 * 200 + 2)) || { echo "--- server log:"; cat "$SERVER_LOG"; return 1; }
}

@test "lesson05 server: SIGTERM stops it at once while clients are busy" {
  start_server lesson05/server
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  # A client in lock step with a gigabyte to send keeps the loop busy.
  start_background "$BATS_TEST_TMPDIR/busy.out" bash -c \
    'head -c 1073741824 /dev/zero | "$1" 127.0.0.1 "$2" >/dev/null' \
    busy "$BIN/lesson05/client" "$SERVER_PORT"
  wait_for_log ' connected$' 2
  local started=$EPOCHREALTIME
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }'
  [[ $(log_count 'disconnected$') -eq 2 ]]
}

@test "lesson05 server: usage and help" { check_usage lesson05/server; }
@test "lesson05 client: usage and help" { check_usage lesson05/client; }
@test "lesson05 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson05/server; }
@test "lesson05 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson05/client; }
@test "lesson05 server: a port in use exits 1 naming the address" { check_port_in_use lesson05/server; }
@test "lesson05 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson05/server; }
@test "lesson05 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson05/server; }
@test "lesson05 client: a closed port exits 1 naming the address" { check_client_refused lesson05/client; }

hold_one() {
  start_background "$BATS_TEST_TMPDIR/held.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:hi readline hold
  wait_until "an echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/held.out"
}

@test "lesson05 server: restarts on the same port right after serving" {
  check_restart_same_port lesson05/server hold_one
}

