# quick.bats - small versions of tests tagged slow, so that `make test`,
# which leaves the slow ones to `make check`, still covers what they cover.
#
# The slow ones push 1 MiB through the fault-injection library, one byte per
# call: tens of seconds. 32 KiB still takes every path of a short transfer
# and of EINTR, in the server and in the client, thousands of times, in a
# fraction of a second. One test per program, so a failure names it.
load helpers

setup_file() {
  head -c 32768 /dev/urandom >"$BATS_FILE_TMPDIR/random.bin"
}

# faulty_roundtrip SERVER CLIENT: 32 KiB of random bytes sent by CLIENT
# through SERVER come back exactly, with every read and write of the server
# moving one byte and of the client at most three, and some of their socket
# calls failing with EINTR; the server then stops cleanly.
faulty_roundtrip() {
  local log=$BATS_TEST_TMPDIR/faults.log
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
