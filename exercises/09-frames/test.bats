# Exercise 09-frames: what the grader checks (make grade EX=09-frames).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back.
# shellcheck disable=SC2034  # SERVER_ENV is read by start_server
load ../../tests/exercise

# exchange HEX...: sends the bytes (given in hexadecimal, spaces allowed),
# half-closes, and sets REPLY to the bytes that came back, in hexadecimal.
exchange() {
  local hex="$*" bytes=
  hex=${hex// /}
  if [[ -n $hex ]]; then
    # shellcheck disable=SC2046  # one word per byte
    printf -v bytes '\\x%s' $(fold -w2 <<<"$hex")
  fi
  printf '%b' "$bytes" >"$BATS_TEST_TMPDIR/sent"
  timeout -s KILL "$DEADLINE" "$TOOLS/upload-peer" 127.0.0.1 "$SERVER_PORT" reply \
    <"$BATS_TEST_TMPDIR/sent" >"$BATS_TEST_TMPDIR/got" 2>/dev/null || true
  REPLY=$(od -An -tx1 -v "$BATS_TEST_TMPDIR/got" | xargs)
}

@test "one message comes back in upper case, with its length in front" {
  start_server server
  exchange 00000005 68656c6c6f
  expect 'the reply to "hello" (bytes in hexadecimal)' "00 00 00 05 48 45 4c 4c 4f" "$REPLY"
}

@test "two messages sent in one write are two replies" {
  start_server server
  # The second is 97 bytes long: 00 00 00 61, and 61 is the letter a.
  exchange 00000002 6869 00000061 "$(printf '62%.0s' {1..97})"
  expect 'the replies to "hi" and 97 b'"'"'s' \
    "00 00 00 02 48 49 00 00 00 61 $(printf '42 %.0s' {1..97} | xargs)" "$REPLY"
}

@test "an empty message (length 0) is a message, and the next one still comes back" {
  start_server server
  exchange 00000000 00000001 7a
  expect 'the replies to "" and "z"' "00 00 00 00 00 00 00 01 5a" "$REPLY"
}

@test "messages that arrive one byte per read are put back together" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3)
  start_server server
  exchange 00000005 68656c6c6f 00000002 6f6b
  expect 'the replies to "hello" and "ok", through 1-byte reads' \
    "00 00 00 05 48 45 4c 4c 4f 00 00 00 02 4f 4b" "$REPLY"
}

@test "a message of exactly 1000 bytes comes back whole" {
  start_server server
  exchange 000003e8 "$(printf '61%.0s' {1..1000})"
  expect "the reply's first 8 bytes" "00 00 03 e8 41 41 41 41" "$(cut -c1-23 <<<"$REPLY")"
  expect "the reply's length in bytes" 1004 "$(wc -w <<<"$REPLY" | tr -d ' ')"
}

@test "a length over 1000 (ff ff ff ff: 4 GiB) is refused and logged, and nothing comes back" {
  start_server server
  exchange ffffffff 616263
  expect "the reply" "" "$REPLY"
  wait_for_log ': refused length 4294967295$'
}

@test "a length of 1001 is refused" {
  start_server server
  exchange 000003e9 61
  wait_for_log ': refused length 1001$'
}

@test "a message cut short by end of file is logged as truncated" {
  start_server server
  exchange 0000000a 616263
  wait_for_log ': truncated message$'
  exchange 0000
  wait_for_log ': truncated message$' 2
}

@test "after a bad client the next one is served" {
  start_server server
  exchange ffffffff
  exchange 00000002 6f6b
  expect 'the reply to "ok"' "00 00 00 02 4f 4b" "$REPLY"
}

@test "the server logs each client and stops cleanly on SIGTERM" {
  start_server server
  exchange 00000001 61
  wait_for_log '^127\.0\.0\.1:[0-9]+: 1 messages$'
  expect_clean_stop TERM
}
