# Lesson 05: the select() chat server and chat client.
load helpers
load 05-select

setup_file() { random_mib "$BATS_FILE_TMPDIR/random.bin"; }

# chat_client_from_fifo OUT: starts the chat client in the background with
# its standard input on a FIFO, which the test then writes through
# descriptor 8 (closing 8 is the end of the client's input). Sets CHAT_PID
# (the watchdog: `wait` on it gives the client's exit status).
chat_client_from_fifo() {
  local fifo=$BATS_TEST_TMPDIR/chat.in
  mkfifo "$fifo"
  start_background "$1" bash -c 'exec "$1" 127.0.0.1 "$2" <"$3"' \
    chat "$BIN/lesson05/chat-client" "$SERVER_PORT" "$fifo"
  CHAT_PID=$BACKGROUND_PID
  # Opened after the client started, so that it does not inherit the
  # writing end (it would never see the end of its input).
  exec 8>"$fifo"
}

@test "chat: a line from A reaches B and C exactly once, and never A" {
  start_server lesson05/chat-server
  connect_fd 5                          # B
  connect_fd 6                          # C
  connect_fd 7                          # A
  local b c a
  b=$(client_addr 1) c=$(client_addr 2) a=$(client_addr 3)
  expect_line 5 "* $c joined"
  expect_line 5 "* $a joined"
  expect_line 6 "* $a joined"
  printf 'hello from A\n' >&7
  expect_line 5 "$a: hello from A"
  expect_line 6 "$a: hello from A"
  # B and C speak in turn. Had A's line come back to A, or twice to
  # anyone, it would come before these: the server keeps each client's
  # messages in order.
  printf 'from B\n' >&5
  expect_line 6 "$b: from B"
  printf 'from C\n' >&6
  expect_line 5 "$c: from C"
  expect_line 7 "$b: from B"
  expect_line 7 "$c: from C"
  # A leaves: both are told, once.
  exec 7>&-
  expect_line 5 "* $a left"
  expect_line 6 "* $a left"
  wait_for_log "^$a disconnected$"
  printf 'still here\n' >&5
  expect_line 6 "$b: still here"
  exec 5>&- 6>&-
}

@test "chat: a client that resets is announced as gone, and the others go on" {
  start_server lesson05/chat-server
  connect_fd 5
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:bye reset
  [[ $status -eq 0 ]]
  local gone
  gone=$(client_addr 2)
  expect_line 5 "* $gone joined"
  expect_line 5 "$gone: bye"
  expect_line 5 "* $gone left"
  wait_for_log "^$gone disconnected$"
  connect_fd 6
  printf 'anyone?\n' >&6
  expect_line 5 "* $(client_addr 3) joined"
  expect_line 5 "$(client_addr 3): anyone?"
  exec 5>&- 6>&-
}

@test "chat: lines split across 1-byte reads and EINTR arrive whole; long lines are cut; a last line needs no newline" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=5
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson05/chat-server
  connect_fd 5
  connect_fd 6
  local a long
  a=$(client_addr 2)
  expect_line 5 "* $a joined"
  printf 'one line, read one byte at a time\n' >&6
  expect_line 5 "$a: one line, read one byte at a time"
  # 3000 characters: the first 1023 are delivered, the rest is dropped.
  long=$(printf '%03000d' 0)
  printf '%s\nshort\nlast words' "$long" >&6
  exec 6>&-
  expect_line 5 "$a: ${long:0:1023}"
  expect_line 5 "$a: short"
  expect_line 5 "$a: last words"
  expect_line 5 "* $a left"
  exec 5>&-
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  grep -q 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log"
}

@test "chat: a reader that falls too far behind is dropped and announced; the others go on" {
  start_server lesson05/chat-server
  start_background "$BATS_TEST_TMPDIR/slow.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  local slow
  slow=$(client_addr 1)
  # 40 MB of lines: more than the kernel's buffers and the 64 KiB cap.
  yes "$(printf '%0999d' 0)" | head -n 40000 >"$BATS_TEST_TMPDIR/flood.txt"
  run_client lesson05/chat-client 127.0.0.1 "$SERVER_PORT" <"$BATS_TEST_TMPDIR/flood.txt"
  [[ $status -eq 0 ]]
  [[ $output == "* $slow left" ]]
  wait_for_log "^chat-server: dropping $slow: more than 65536 bytes of messages unread$"
  wait_for_log "^$slow disconnected$"
  connect_fd 5
  connect_fd 6
  expect_line 5 "* $(client_addr 4) joined"
  printf 'after the flood\n' >&6
  expect_line 5 "$(client_addr 4): after the flood"
  exec 5>&- 6>&-
}

@test "chat client: others' lines appear while its input is open; at end of input it leaves and exits 0" {
  start_server lesson05/chat-server
  chat_client_from_fifo "$BATS_TEST_TMPDIR/b.out"
  wait_for_log ' connected$'
  connect_fd 5
  local b a
  b=$(client_addr 1) a=$(client_addr 2)
  printf 'hi B\n' >&5
  wait_until "B to print A's line" grep -qx "$a: hi B" "$BATS_TEST_TMPDIR/b.out"
  printf 'hello A\n' >&8
  expect_line 5 "$b: hello A"
  exec 8>&-                             # B's end of input: it half-closes
  expect_line 5 "* $b left"
  local status=0
  wait "$CHAT_PID" || status=$?
  [[ $status -eq 0 ]]
  [[ $(cat "$BATS_TEST_TMPDIR/b.out") == "* $a joined"$'\n'"$a: hi B" ]]
  exec 5>&-
}

@test "chat client: a server that closes first is reported, exit 1, no spin" {
  start_server lesson05/chat-server
  chat_client_from_fifo "$BATS_TEST_TMPDIR/b.out"
  wait_for_log ' connected$'
  stop_server
  wait_until "the client to exit" _gone "$CHAT_PID"
  local status=0
  wait "$CHAT_PID" || status=$?
  exec 8>&-
  [[ $status -eq 1 ]]
  grep -qx "chat-client: 127.0.0.1:$SERVER_PORT closed the connection" "$BATS_TEST_TMPDIR/b.out"
}

@test "chat client: 1 MiB through the echo server round-trips exactly" {
  start_server lesson05/server
  timeout -s KILL "$DEADLINE" "$BIN/lesson05/chat-client" 127.0.0.1 "$SERVER_PORT" \
    <"$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/echoed.bin"
  cmp "$BATS_FILE_TMPDIR/random.bin" "$BATS_TEST_TMPDIR/echoed.bin"
  wait_for_log 'disconnected$'
}

# bats test_tags=slow
@test "chat client: 1 MiB through the echo server under injected faults (short transfers, EINTR)" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson05/server
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    timeout -s KILL 60 "$BIN/lesson05/chat-client" 127.0.0.1 "$SERVER_PORT" \
    <"$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/echoed.bin"
  cmp "$BATS_FILE_TMPDIR/random.bin" "$BATS_TEST_TMPDIR/echoed.bin"
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  [[ $(grep -c 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log") -eq 2 ]]
}

# bats test_tags=slow
@test "chat: 1100 clients: those beyond FD_SETSIZE are refused, no abort, the rest still chat" {
  start_server lesson05/chat-server
  prlimit --pid "$SERVER_PID" --nofile=4096:4096
  (
    ulimit -n 4096
    for ((i = 0; i < 1100; i++)); do
      exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    done
    wait_until "the server to deal with 1100 clients" _log_has ' connected$|refusing' 1100
  )
  local refused
  refused=$(log_count '^chat-server: refusing 127\.0\.0\.1:[0-9]+: descriptor [0-9]+ >= FD_SETSIZE \(1024\)$')
  echo "refused: $refused"
  [[ $refused -gt 0 ]]
  # The subshell has gone, and its connections with it.
  wait_for_log 'disconnected$' $((1100 - refused))
  connect_fd 5
  connect_fd 6
  printf 'quiet now\n' >&6
  expect_line 5 "* $(client_addr $((1100 - refused + 2))) joined"
  expect_line 5 "$(client_addr $((1100 - refused + 2))): quiet now"
  exec 5>&- 6>&-
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "chat-server: usage and help" { check_usage lesson05/chat-server; }
@test "chat-client: usage and help" { check_usage lesson05/chat-client; }
@test "chat-server: bad ports exit 2 naming the value" { check_server_bad_ports lesson05/chat-server; }
@test "chat-client: bad ports exit 2 naming the value" { check_client_bad_ports lesson05/chat-client; }
@test "chat-server: a port in use exits 1 naming the address" { check_port_in_use lesson05/chat-server; }
@test "chat-server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson05/chat-server; }
@test "chat-server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson05/chat-server; }
@test "chat-client: a closed port exits 1 naming the address" { check_client_refused lesson05/chat-client; }

@test "chat-server: works over IPv6 ::1" {
  check_listens_on lesson05/chat-server ::1 '[::1]'
  run "$TOOLS/peer" ::1 "$SERVER_PORT" line:hi
  [[ $status -eq 0 ]]
  wait_for_log '^\[::1\]:[0-9]+ connected$'
  wait_for_log '^\[::1\]:[0-9]+ disconnected$'
}

@test "chat-server: the error messages name the program" {
  start_server lesson05/chat-server
  run --separate-stderr timeout 5 "$BIN/lesson05/chat-server" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == "chat-server: bind 127.0.0.1:$SERVER_PORT: "* ]]
}

hold_one() {
  start_background "$BATS_TEST_TMPDIR/held.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_until "the connection" grep -qs '^holding$' "$BATS_TEST_TMPDIR/held.out"
}

@test "chat-server: restarts on the same port right after serving" {
  check_restart_same_port lesson05/chat-server hold_one
}

@test "chat-server: no descriptor to spare (nofile=4): no spin, a quiet log, SIGTERM stops it" {
  out_of_descriptors lesson05/chat-server 4
}

@test "chat-server: a log that nobody reads: the chat goes on, lines are dropped with a count, SIGTERM stops it" {
  SERVER_STDOUT=stalled start_server lesson05/chat-server
  open_and_close 200
  wait_until "the server to take every connection" _queue_empty "$SERVER_PORT"
  connect_fd_unlogged 5
  connect_fd_unlogged 6
  printf 'still chatting\n' >&6
  expect_line 5 "* $(peer_of 6) joined"
  expect_line 5 "$(peer_of 6): still chatting"
  exec 5>&- 6>&-
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  wait_for_log '^chat-server: [1-9][0-9]* log lines dropped: stdout was not read$'
}
