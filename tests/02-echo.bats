# Lesson 02: the iterative echo server and its client.
load helpers

setup_file() { random_mib "$BATS_FILE_TMPDIR/random.bin"; }

@test "lesson02: typed lines come back, and the client exits 0 at end of input" {
  start_server lesson02/server
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<$'hello\nworld'
  [[ $status -eq 0 ]]
  [[ $output == $'hello\nworld' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

@test "lesson02: works over IPv6 ::1" {
  check_listens_on lesson02/server ::1 '[::1]'
  run_client lesson02/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+ connected$'
}

@test "lesson02: 1 MiB of random bytes round-trips exactly" {
  start_server lesson02/server
  echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
}

@test "lesson02: NUL bytes and a last line without a newline come back" {
  start_server lesson02/server
  printf 'a\0b\0\0c' >"$BATS_TEST_TMPDIR/nul.bin"
  echo_roundtrip "$BATS_TEST_TMPDIR/nul.bin"
}

@test "lesson02: empty input: the client exits 0 at once and does not spin" {
  start_server lesson02/server
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" </dev/null
  [[ $status -eq 0 && -z $output ]]
  wait_for_log 'disconnected$'
}

@test "lesson02: a foreign client (bash /dev/tcp) gets its bytes back" {
  start_server lesson02/server
  exec 5<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  printf 'not our client\n' >&5
  read -r line <&5
  exec 5<&-
  [[ $line == "not our client" ]]
}

@test "lesson02: a client reset mid-stream does not stop the server" {
  start_server lesson02/server
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:100000 recv:1000 reset
  [[ $status -eq 0 && ${lines[-1]} == reset ]]
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"next"
  [[ $status -eq 0 && $output == next ]]
  wait_for_log 'disconnected$' 2
}

@test "lesson02: a client that sends 1 MiB without reading, then leaves, does not stop the server" {
  start_server lesson02/server
  # Once the buffers on both sides are full the server blocks in write()
  # (or, with loopback's large buffers, everything fits). Either way, when
  # the client leaves with unread data the server's next call fails, and it
  # must go on to the next client.
  start_background "$BATS_TEST_TMPDIR/greedy.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:1048576 hold
  wait_until "the greedy client to send or stall" _greedy_done "$SERVER_PORT"
  kill_background "$BACKGROUND_PID"
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"still here"
  [[ $status -eq 0 && $output == "still here" ]]
}

# All sent, or stalled with a large unsent queue (Send-Q) in the server.
_greedy_done() {
  grep -qs '^holding$' "$BATS_TEST_TMPDIR/greedy.out" || send_queue_full "$1"
}

@test "lesson02: a second client is not served until the first leaves" {
  start_server lesson02/server
  # The first client is served, then holds its connection open.
  start_background "$BATS_TEST_TMPDIR/first.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:first readline hold
  local first=$BACKGROUND_PID
  wait_until "the first client's echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/first.out"
  # The second connects (the kernel completes the handshake) and sends...
  start_background "$BATS_TEST_TMPDIR/second.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:second readline
  wait_until "the second client to connect and send" grep -qs '^sent' "$BATS_TEST_TMPDIR/second.out"
  # ...but the server, busy with the first, has not even accepted it.
  [[ $(grep -c 'connected$' "$SERVER_LOG") -eq 1 ]]
  ! grep -qs '^line second$' "$BATS_TEST_TMPDIR/second.out" || return 1
  kill_background "$first" TERM       # the first client leaves
  wait_until "the second client's echo" grep -qs '^line second$' "$BATS_TEST_TMPDIR/second.out"
  # The log shows the order: first in, first out, then second in.
  run grep -E 'connected$' "$SERVER_LOG"
  [[ ${lines[0]} == *" connected" && ${lines[1]} == *" disconnected" && ${lines[2]} == *" connected" ]]
}

@test "lesson02: the client reports a server that closes mid-stream and exits 1" {
  # Lesson 01's server says hello and hangs up: not the echo it waited for.
  start_server lesson01/server
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"this is longer than the greeting"
  # The greeting arrives, then end of file, or an RST if our bytes reached
  # a socket already closed: either way a message and status 1, no loop.
  [[ $status -eq 1 ]]
  [[ $output == *"closed the connection"* || $output == *"Connection reset by peer (ECONNRESET)"* ]]
}

# bats test_tags=slow
@test "lesson02: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson02/server
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    DEADLINE=60 echo_roundtrip "$BATS_FILE_TMPDIR/random.bin"
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  # The faults really happened, in the server and in the client.
  [[ $(grep -c 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log") -eq 2 ]]
}

@test "lesson02 server: usage and help" { check_usage lesson02/server; }
@test "lesson02 client: usage and help" { check_usage lesson02/client; }
@test "lesson02 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson02/server; }
@test "lesson02 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson02/client; }
@test "lesson02 server: a port in use exits 1 naming the address" { check_port_in_use lesson02/server; }
@test "lesson02 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson02/server; }
@test "lesson02 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson02/server; }
@test "lesson02 client: a closed port exits 1 naming the address" { check_client_refused lesson02/client; }

@test "lesson02 server: SIGTERM stops it while a client is connected" {
  start_server lesson02/server
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log 'connected$'
  wait_until "the server to wait in read()" _sleeping "$SERVER_PID"
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "lesson02 server: SIGTERM stops it while it is blocked writing to a client that does not read" {
  start_server lesson02/server
  # 8 MiB is more than the socket buffers of both sides hold: the server's
  # write() blocks, part-way through an echo.
  start_background "$BATS_TEST_TMPDIR/greedy.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:8388608 hold
  wait_until "the server's writes to stall" send_queue_full "$SERVER_PORT"
  wait_until "the server to sleep in write()" _sleeping "$SERVER_PID"
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
}

# The server holds a connection when it is stopped: it closes first, so the
# connection waits in TIME_WAIT on the server's port.
hold_one() {
  start_background "$BATS_TEST_TMPDIR/held.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:hi readline hold
  wait_until "an echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/held.out"
}

@test "lesson02 server: restarts on the same port right after serving" {
  check_restart_same_port lesson02/server hold_one
}

# A client keeps SIGINT's default action: killed by it, status 128 + 2.
@test "lesson02 client: Ctrl-C (SIGINT) kills it by the signal, status 130, as a shell loop needs" {
  start_server lesson02/server
  local fifo=$BATS_TEST_TMPDIR/in.fifo pid status=0
  mkfifo "$fifo"
  _bare "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" <>"$fifo" >/dev/null 2>&1 &
  pid=$!
  wait_for_log 'connected$'
  wait_until "the client to wait for input" _sleeping "$pid"
  kill -INT "$pid"
  wait "$pid" || status=$?
  [[ $status -eq 130 ]] || { echo "status $status"; return 1; }
}
