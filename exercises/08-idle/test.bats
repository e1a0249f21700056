# Exercise 08-idle: what the grader checks (make grade EX=08-idle).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back.
load ../../tests/exercise

# connect FD: opens descriptor FD on the server and waits for its log line.
connect() {
  local n
  n=$(grep -c ' connected$' "$SERVER_LOG" || true)
  eval "exec $1<>/dev/tcp/127.0.0.1/$SERVER_PORT"
  wait_for_log ' connected$' $((n + 1))
}

# nth_client N: the address of the Nth client in the log.
nth_client() { sed -n 's/ connected$//p' "$SERVER_LOG" | sed -n "${1}p"; }

# eof_on FD: what reading FD gives until end of file (nothing, if closed).
eof_on() { timeout -s KILL "$DEADLINE" cat <&"$1"; }

@test "-t 1: a client that says nothing is closed about a second after it connected" {
  start_server server -t 1 0
  connect 5
  local who
  who=$(nth_client 1)
  wait_for_log "^$who idle for [0-9]+ ms: closing$" || {
    echo "the log line for an idle client"
    echo "  expected: \"$who idle for 1000 ms: closing\" (or a few ms more)"
    echo "  got:      $(shown "$(tail -n 1 "$SERVER_LOG")")"
    return 1
  }
  wait_for_log "^$who disconnected$"
  local ms
  ms=$(sed -n "s/^$who idle for \([0-9]*\) ms: closing$/\1/p" "$SERVER_LOG")
  expect_match "how long the client was idle when it was closed (ms)" \
    '^1[0-9][0-9][0-9]$' "1000 to 1999" "$ms"
  expect "what the client reads before end of file" "" "$(eof_on 5)"
  exec 5>&-
}

@test "-t 1: a client that talks every 0.1 s stays, while a silent one is closed" {
  start_server server -t 1 0
  connect 5
  connect 6
  local talker silent line n=0
  talker=$(nth_client 1) silent=$(nth_client 2)
  until grep -q "^$silent idle for" "$SERVER_LOG"; do
    echo "ping $n" >&5
    IFS= read -r -t "$DEADLINE" line <&5 || line="(nothing)"
    expect "the echo of a line" "ping $n" "$line" || return 1
    ((++n < 50)) || { echo "the silent client was not closed within 5 s"; return 1; }
    sleep 0.1
  done
  expect "idle log lines about the client that talks" "" "$(grep "^$talker idle" "$SERVER_LOG")"
  exec 5>&- 6>&-
}

@test "-t 1: clients are closed in the order they went silent" {
  start_server server -t 1 0
  connect 5
  connect 6
  local first second
  first=$(nth_client 1) second=$(nth_client 2)
  # The first speaks, so it becomes the more recently active one.
  echo hi >&5
  local line
  IFS= read -r -t "$DEADLINE" line <&5
  wait_for_log ' idle for .*closing$' 2
  expect "the order of the idle clients closed" "$second $first" \
    "$(sed -n 's/ idle for .*//p' "$SERVER_LOG" | xargs)"
  exec 5>&- 6>&-
}

@test "with -t 5, 1 MiB comes back byte for byte" {
  start_server server -t 5 0
  head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/in"
  timeout -s KILL "$DEADLINE" "$LESSON_BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" \
    <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>/dev/null || true
  expect_same_file "1 MiB of random bytes, echoed" "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "without -t the server starts as before, and a bad timeout exits 2 naming it" {
  start_server server
  expect_clean_stop TERM
  run --separate-stderr "$BIN/server" -t 0 0
  expect "the exit status for -t 0" "2" "$status"
  expect_match "the error message" "invalid timeout '0'" "server: invalid timeout '0': ..." "$stderr"
}

@test "the server stops cleanly on SIGTERM while it holds an idle client" {
  start_server server -t 30 0
  connect 5
  expect_clean_stop TERM
  exec 5>&-
}
