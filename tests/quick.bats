# quick.bats - small versions of tests tagged slow, so that `make test`,
# which leaves the slow ones to `make check`, still covers what they cover.
#
# The slow ones push 1 MiB through the fault-injection library, one byte per
# call: tens of seconds. 32 KiB still takes every path of a short transfer
# and of EINTR, in the server and in the client, thousands of times, in a
# fraction of a second. One test per program, so a failure names it.
#
# The 1100-client tests reach descriptors past FD_SETSIZE (1024) by opening
# 1100 connections. Here the server starts with descriptors 10 to 1023
# already taken (open on /dev/null, as if a thousand clients were
# connected): the 7th or so client gets descriptor 1024, in a few dozen
# connections.
load helpers
load 05-select

setup_file() {
  head -c 32768 /dev/urandom >"$BATS_FILE_TMPDIR/random.bin"
}

# faulty_roundtrip SERVER CLIENT: 32 KiB of random bytes sent by CLIENT
# through SERVER come back exactly, with every read and write of the server
# moving one byte and of the client at most three, and some of their socket
# calls failing with EINTR; the server then stops cleanly.
faulty_roundtrip() {
  local log=$BATS_TEST_TMPDIR/faults.log
  # shellcheck disable=SC2034  # read by start_server
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
              SOCKLAB_FAULT_LOG="$log")
  start_server "$1"
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 SOCKLAB_FAULT_LOG=$log \
    DEADLINE=30 echo_roundtrip "$BATS_FILE_TMPDIR/random.bin" "$2"
  wait_for_log 'disconnected$'
  stop_server
  [[ $SERVER_STATUS -eq 0 ]] || { echo "$1: exit status $SERVER_STATUS"; return 1; }
  # The faults really happened, in the server (lesson 03: its child) and
  # in the client.
  (($(grep -c 'eintr=[1-9]' "$log") >= 2)) || { cat "$log"; return 1; }
}

@test "lesson02: 32 KiB round-trips under injected faults (1-byte transfers, EINTR)" {
  faulty_roundtrip lesson02/server lesson02/client
}

@test "lesson03: 32 KiB round-trips under injected faults (1-byte transfers, EINTR)" {
  faulty_roundtrip lesson03/server lesson02/client
}

@test "lesson04: 32 KiB round-trips under injected faults (1-byte transfers, EINTR)" {
  faulty_roundtrip lesson04/server lesson02/client
}

@test "lesson05: 32 KiB round-trips under injected faults (1-byte transfers, EINTR)" {
  faulty_roundtrip lesson05/server lesson05/client
}

@test "chat client: 32 KiB through the echo server under injected faults (short transfers, EINTR)" {
  faulty_roundtrip lesson05/server lesson05/chat-client
}

# crowded PROGRAM: a wrapper, as a path relative to $BIN for start_server,
# that runs PROGRAM with room for 4096 descriptors and 10 to 1023 taken.
crowded() {
  local wrapper=$BATS_TEST_TMPDIR/crowded.${1//\//.}
  # The limit is raised before bash starts: bash sizes a table by it.
  printf '#!/bin/sh\nulimit -n 4096 || exit 1\nexec bash -c %q %q "$@"\n' \
    'for ((fd = 10; fd < 1024; fd++)); do eval "exec $fd</dev/null"; done; exec "$0" "$@"' \
    "$BIN/$1" >"$wrapper"
  chmod +x "$wrapper"
  realpath --relative-to="$BIN" "$wrapper"
}

@test "lesson05: clients past FD_SETSIZE are refused cleanly and the others served (a crowded server)" {
  start_server "$(crowded lesson05/server)"
  hold_conns 30
  [[ $RESET -eq 0 && $SILENT -eq 0 ]]
  [[ $SERVED -gt 0 && $REFUSED -gt 0 && $((SERVED + REFUSED)) -eq 30 ]]
  [[ $(log_count ' connected$') -eq $SERVED ]]
  [[ $(log_count '^server: refusing 127\.0\.0\.1:[0-9]+: descriptor [0-9]+ >= FD_SETSIZE \(1024\)$') -eq $REFUSED ]]
  [[ $(log_count 'EMFILE') -eq 0 ]]
  wait_for_log 'disconnected$' "$SERVED"
  run_client lesson05/client 127.0.0.1 "$SERVER_PORT" <<<"after the crowd"
  [[ $status -eq 0 && $output == "after the crowd" ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "chat: clients past FD_SETSIZE are refused, no abort, the rest still chat (a crowded server)" {
  start_server "$(crowded lesson05/chat-server)"
  (
    for ((i = 0; i < 30; i++)); do
      exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    done
    wait_until "the server to deal with 30 clients" _log_has ' connected$|refusing' 30
  )
  local refused
  refused=$(log_count '^chat-server: refusing 127\.0\.0\.1:[0-9]+: descriptor [0-9]+ >= FD_SETSIZE \(1024\)$')
  echo "refused: $refused"
  [[ $refused -gt 0 && $refused -lt 30 ]]
  wait_for_log 'disconnected$' $((30 - refused))
  connect_fd 5
  connect_fd 6
  printf 'quiet now\n' >&6
  expect_line 5 "* $(client_addr $((30 - refused + 2))) joined"
  expect_line 5 "$(client_addr $((30 - refused + 2))): quiet now"
  exec 5>&- 6>&-
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
}
