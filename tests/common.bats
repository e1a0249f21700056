# The helpers in common/: unit tests in C (tests/unit/common_test.c).
load helpers

UNIT=$SOCKLAB_ROOT/build/$SOCKLAB_VARIANT/tests/common_test

@test "common: port parsing, address printing, errno names, full I/O" {
  run timeout -s KILL "$DEADLINE" "$UNIT"
  echo "$output"
  [[ $status -eq 0 ]]
  [[ $output != *"not ok"* ]]
  no_sanitizer_report "$output" common_test
}

@test "common: full reads and writes survive 1-byte transfers and EINTR" {
  skip_without_fault_shim
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log run timeout -s KILL "$DEADLINE" "$UNIT"
  echo "$output"
  [[ $status -eq 0 ]]
  # The faults were really injected: thousands of calls, some interrupted.
  grep -qE 'read=[0-9]{4,} write=[0-9]{4,} eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log"
}

@test "common: write_all() gives up when write() takes nothing, instead of looping for ever" {
  skip_without_fault_shim
  start_server lesson02/server
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_WRITE0=1000000000 \
    run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"hello"
  echo "$output"
  [[ $status -eq 1 && $output == *"write 127.0.0.1:$SERVER_PORT: Input/output error (EIO)"* ]]
}

@test "common: tcp_connect() waits for a connect() a signal interrupted, instead of giving up on the address" {
  skip_without_fault_shim
  start_server lesson02/server
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_CONNECT_EINTR=1 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"hello"
  echo "$output"
  [[ $status -eq 0 && $output == hello ]]
  # The interruption really happened, and only one connection was made.
  grep -q 'eintr=1$' "$BATS_TEST_TMPDIR/faults.log"
  wait_for_log 'disconnected$'
  [[ $(grep -c ' connected$' "$SERVER_LOG") -eq 1 ]]
}
