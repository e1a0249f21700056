# Exercise 10-peercred: what the grader checks (make grade EX=10-peercred).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back. The client is lesson
# 10's uclient, known good. A client of another user needs root, to run it
# as the user nobody (setpriv, from util-linux); as a normal user those
# checks skip and say so.
load ../../tests/exercise
load ../../tests/10-addresses

teardown() {
  local failed=0
  socklab_teardown || failed=1
  unix_teardown
  return "$failed"
}

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

need_root() {
  ((EUID == 0)) || skip "a client of another user needs root (to switch to the user nobody)"
  command -v setpriv >/dev/null || skip "setpriv (package util-linux) is not installed"
}

# start_it: the server under test on a socket anybody may connect to
# (-m 0666), so that only the server's own check can refuse a client.
start_it() {
  unix_dir
  start_server userver -m 0666 "$UNIX_DIR/echo.sock"
}

# client_as WHO INPUT: lesson 10's uclient, as root or as nobody, sending
# INPUT. It reads back as many bytes as it sent, so an input as long as
# the expected refusal line gets that line back in full.
client_as() {
  local who=()
  [[ $1 == nobody ]] && who=("${NOBODY[@]}")
  cp "$LESSON_BIN/lesson10/uclient" "$UNIX_DIR/uclient"
  run --separate-stderr "${who[@]}" timeout -s KILL "$DEADLINE" \
    "$UNIX_DIR/uclient" "$UNIX_DIR/echo.sock" <<<"$2"
}

REFUSAL="refused: this server serves uid $EUID only"

@test "a client of the server's own user is echoed, and logged as connected" {
  start_it
  client_as me "hello"
  expect "what the client got back" "hello" "$output"
  wait_for_log "^uid $EUID pid [0-9]+ connected$"
}

@test "a client of another user is not served: it gets the refusal line instead of its echo" {
  need_root
  start_it
  # A line as long as the refusal, so that the client prints all of it.
  client_as nobody "$(printf '%*s' ${#REFUSAL} '' | tr ' ' x)"
  expect "what the client of uid 65534 got back" "$REFUSAL" "$output"
}

@test "the refusal is logged with the client's uid and pid, and no 'connected' line" {
  need_root
  start_it
  client_as nobody "let me in"
  wait_for_log '^uid 65534 pid [0-9]+ refused$'
  expect "log lines for uid 65534 saying connected" "" \
    "$(grep '^uid 65534 .*connected$' "$SERVER_LOG")"
}

@test "after refusing a stranger the server goes on serving its own user" {
  need_root
  start_it
  client_as nobody "let me in"
  client_as me "still served"
  expect "what the server's own user got back" "still served" "$output"
}

@test "a server run by another user refuses root: it compares with its own uid, not 0" {
  need_root
  unix_dir
  chown 65534 "$UNIX_DIR"
  start_background "$BATS_TEST_TMPDIR/nobody-server.log" \
    "${NOBODY[@]}" "$BIN/userver" -m 0666 "$UNIX_DIR/echo.sock"
  wait_until "the server run by nobody to listen" \
    grep -qs '^listening on ' "$BATS_TEST_TMPDIR/nobody-server.log"
  local line="refused: this server serves uid 65534 only"
  client_as me "$(printf '%*s' ${#line} '' | tr ' ' x)"
  expect "what root's client got back from a server run by nobody" "$line" "$output"
}

@test "the server stops cleanly on SIGTERM and removes its socket file" {
  start_it
  client_as me "hi"
  expect_clean_stop TERM
  expect "whether the socket file is still there" "gone" \
    "$([[ -e $UNIX_DIR/echo.sock ]] && echo there || echo gone)"
}
