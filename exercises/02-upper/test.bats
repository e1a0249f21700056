# Exercise 02-upper: what the grader checks (make grade EX=02-upper).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back.
load ../../tests/exercise

# through_echo_client IN OUT: the file IN through lesson 02's client (a
# known-good one), the server's replies in OUT.
through_echo_client() {
  timeout -s KILL "$DEADLINE" "$LESSON_BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" \
    <"$1" >"$2" 2>"$BATS_TEST_TMPDIR/client.err" || true
}

# reply_to TEXT: sends TEXT and a newline, sets REPLY to the line that comes back.
reply_to() {
  run_peer "line:$1" readline
  REPLY=$(peer_lines)
}

@test "a line comes back in upper case" {
  start_server server
  reply_to "hello"
  expect 'the reply to "hello"' "HELLO" "$REPLY"
}

@test "digits, punctuation and capitals come back as they were" {
  start_server server
  reply_to "Hello, World! 42 times_x (OK?)"
  expect "the reply" "HELLO, WORLD! 42 TIMES_X (OK?)" "$REPLY"
}

@test "bytes beyond ASCII (the UTF-8 of é and ü) come back unchanged" {
  start_server server
  reply_to "café über"
  expect "the reply" "CAFé üBER" "$REPLY"
}

@test "the server keeps answering, line after line, until the client leaves" {
  start_server server
  run_peer line:one readline line:two readline line:three readline
  expect "the three replies" $'ONE\nTWO\nTHREE' "$(peer_lines)"
}

@test "NUL bytes and a last line without a newline come back in full" {
  start_server server
  printf 'a\0b\0c' >"$BATS_TEST_TMPDIR/in"
  through_echo_client "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
  expect "the bytes sent back for a NUL b NUL c, in hexadecimal" \
    "41 00 42 00 43" "$(od -An -tx1 "$BATS_TEST_TMPDIR/out" | xargs)"
}

@test "1 MiB of text comes back whole, all in upper case" {
  start_server server
  head -c 786432 /dev/urandom | base64 >"$BATS_TEST_TMPDIR/text"
  tr a-z A-Z <"$BATS_TEST_TMPDIR/text" >"$BATS_TEST_TMPDIR/expected"
  through_echo_client "$BATS_TEST_TMPDIR/text" "$BATS_TEST_TMPDIR/got"
  expect_same_file "1 MiB of base64 text, in upper case" \
    "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/got"
}

@test "text that arrives one byte per read is converted all the same" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
  start_server server
  reply_to "one byte at a time"
  expect "the reply" "ONE BYTE AT A TIME" "$REPLY"
}

@test "after one client leaves, the next is served" {
  start_server server
  reply_to "first"
  reply_to "second"
  expect "the reply to the second client" "SECOND" "$REPLY"
}

@test "the server logs each client coming and going, and stops cleanly on SIGTERM" {
  start_server server
  reply_to "hi"
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
  expect_clean_stop TERM
}
