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
