# Exercise 03-cap: what the grader checks (make grade EX=03-cap).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back.
load ../../tests/exercise

BUSY='server busy, try again later'
DEFAULT_MAX=32

HELD=()     # descriptors of the connections this test holds open

# hold N: opens N more connections, one after another, each of which must
# be served: a line sent on it comes back. They stay open until the test
# ends, or until `release I` closes the Ith.
hold() {
  local i fd reply before=${#HELD[@]}
  for ((i = before + 1; i <= before + $1; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || return 1
    HELD+=("$fd")
    printf 'client %s\n' "$i" >&"$fd"
    reply=
    read -r -t "$DEADLINE" reply <&"$fd" || true
    expect "the reply to client $i, with $((i - 1)) other(s) connected" "client $i" "$reply" ||
      return 1
  done
}

release() { local fd=${HELD[$1 - 1]}; exec {fd}>&-; }

# busy_reply: the first line a new client reads, sending nothing (a client
# that writes to a connection the server has closed gets EPIPE). Sets REPLY.
busy_reply() {
  run_peer readline
  REPLY=$(peer_lines)
  ((status != 137)) || REPLY="(nothing in $DEADLINE s: it is being served)"
}

# _served: a new client is served (the line it sends comes back).
_served() {
  run_peer line:again readline
  [[ $(peer_lines) == again ]]
}

children() { pgrep -c -P "$SERVER_PID" || true; }
_no_children() { (($(children) == 0)); }

@test "with -n 3, three clients are served at once, and a fourth is told the server is busy" {
  start_server server -n 3 0
  hold 3 || return 1
  busy_reply
  expect "the reply to a fourth client" "$BUSY" "$REPLY"
}

@test "the busy client gets that one line, and the connection is closed at once" {
  start_server server -n 1 0
  hold 1 || return 1
  run_peer readline drain
  expect_status "a second client that only reads" 0 || return 1
  expect "what the second client read until the server closed its connection" \
    "$(printf 'line %s\neof after 0' "$BUSY")" "$(grep -E '^(line|eof)' <<<"$output")"
}

@test "the clients being served carry on while others are turned away" {
  start_server server -n 2 0
  hold 2 || return 1
  busy_reply
  busy_reply
  expect "the reply to a third client" "$BUSY" "$REPLY" || return 1
  echo_on "${HELD[0]}" "still served" && echo_on "${HELD[1]}" "still served"
}

# echo_on FD TEXT: TEXT sent on the held connection FD comes back.
echo_on() {
  local reply=
  printf '%s\n' "$2" >&"$1"
  read -r -t "$DEADLINE" reply <&"$1" || true
  expect "the reply on a connection held open" "$2" "$reply"
}

@test "when a client leaves, its slot goes to the next client" {
  start_server server -n 1 0
  hold 1 || return 1
  busy_reply
  expect "the reply to a second client while the first is connected" "$BUSY" "$REPLY" ||
    return 1
  release 1
  wait_until "a new client to be served once the first has left" _served 2>/dev/null && return 0
  busy_reply
  _report "a new client, $DEADLINE s after the only client left" \
    "served: the line it sends comes back" "$REPLY"
  return 1
}

@test "after 100 clients, some of them turned away, no zombies are left and the count is still right" {
  start_server server -n 3 0
  # Six at a time against three slots: children end together, and one
  # SIGCHLD often stands for several of them.
  seq 100 | xargs -P 6 -I{} timeout -s KILL "$DEADLINE" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:x readline >/dev/null 2>&1 || true
  if ! wait_until "the children to be reaped" _no_children 2>/dev/null; then
    echo "the server's children, long after all 100 clients left (Z: a zombie nobody reaped)"
    ps -o pid=,stat=,args= --ppid "$SERVER_PID" | sed 's/^/    /'
    return 1
  fi
  hold 3 || return 1
  busy_reply
  expect "the reply to a fourth client" "$BUSY" "$REPLY"
}

@test "without -n, the server serves $DEFAULT_MAX clients at once and turns the next one away" {
  start_server server
  hold "$DEFAULT_MAX" || return 1
  busy_reply
  expect "the reply to client $((DEFAULT_MAX + 1))" "$BUSY" "$REPLY"
}

@test "-n takes a whole number from 1 to 10000; anything else is a usage error naming the value" {
  local v
  for v in 0 10001 99999999999999999999 abc 3x '' -1 +3 ' 3' 0x10; do
    # A value taken by mistake shows as a server that starts and listens
    # until the timeout stops it (status 124).
    run --separate-stderr timeout 2 "$BIN/server" -n "$v" 0
    if ((status == 124)); then
      _report "server -n '$v' 0" "a usage error, exit status 2" "took the value and started: $output"
      return 1
    fi
    expect_status "server -n '$v' 0" 2 || return 1
    [[ $stderr == *"'$v'"* ]] ||
      { _report "the message of server -n '$v' 0" "one naming the value: '$v'" "$stderr"; return 1; }
  done
  run --separate-stderr timeout 2 "$BIN/server" -n
  expect_status "server -n (without a value)" 2 || return 1
  start_server server -n 10000 0
  start_server server -n 1 0
}

@test "-h shows the usage with the option -n" {
  run --separate-stderr timeout 2 "$BIN/server" -h
  expect_status "server -h" 0 || return 1
  expect_match "what server -h prints" '^usage: server .*-n' "usage: server [-n MAX] PORT [ADDRESS]" "$output"
}

@test "the server logs each client, and stops cleanly on SIGTERM" {
  start_server server
  hold 1 || return 1
  release 1
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
  expect_clean_stop TERM
}
