# Exercise 06-timeout: what the grader checks (make grade EX=06-timeout).
# Each test's name is a sentence about the client under test; when one
# fails, it says what it expected and what came back. The servers are known
# good: lesson 02's echo server, lesson 06's server --silent (reads, never
# answers), and a listener that answers no connection at all.
load ../../tests/exercise

USAGE='usage: client [-c SECONDS] [-r SECONDS] HOST PORT'

# hanging_listener ADDRESS: a listener whose queue of connections waiting
# for accept() is full (tests/tools/full-backlog.c). The kernel drops every
# new SYN, so a connect() to it gets no answer at all, as from a host that
# drops packets, and nothing leaves this machine. Sets SERVER_PORT.
hanging_listener() {
  local BIN=$TOOLS
  start_server full-backlog "$1"
}

# silent_server: lesson 06's server --silent, which accepts and reads but
# never answers. Sets SERVER_PORT.
silent_server() {
  with_lessons start_server lesson06/server --silent 0
}

# timed_client ARGS...: runs the client under test (standard input is the
# caller's), its messages apart in $stderr; sets ELAPSED, the seconds it ran.
timed_client() {
  local start=$EPOCHREALTIME
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/client" "$@"
  ELAPSED=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  no_sanitizer_report "$output$stderr" client
}

# expect_elapsed WHAT LOW HIGH: ELAPSED lies between LOW and HIGH seconds.
expect_elapsed() {
  awk -v t="$ELAPSED" -v lo="$2" -v hi="$3" 'BEGIN { exit !(t >= lo && t <= hi) }' && return 0
  printf '%s\n  expected: between %s and %s s\n  got:      %s s\n' "$1" "$2" "$3" "$ELAPSED"
  return 1
}

# expect_exit WHAT STATUS: expect_status for the last timed_client, with the
# client's messages when it fails.
expect_exit() {
  expect_status "$1" "$2" && return 0
  if [[ -n ${stderr-} ]]; then
    printf '  its messages:\n'
    shown "$stderr" | sed 's/^/    /'
  fi
  return 1
}

# expect_gave_up WHAT MESSAGE LOW HIGH: the client of the last timed_client
# exited with status 1 between LOW and HIGH seconds, printed nothing, and
# said MESSAGE.
expect_gave_up() {
  expect_exit "$1" 1 &&
    expect "what the client says" "$2" "$stderr" &&
    expect "what the client printed on standard output" "" "$output" &&
    expect_elapsed "how long it waited" "$3" "$4"
}

# expect_waiting WHAT SECONDS: the last run was ended by `timeout SECONDS`:
# the client was still waiting.
expect_waiting() {
  ((status == 124)) && return 0
  printf '%s\n  expected: still waiting after %s s\n' "$1" "$2"
  printf '  got:      exit status %s after less than %s s\n' "$status" "$2"
  if [[ -n ${stderr-} ]]; then
    printf '  its messages:\n'
    shown "$stderr" | sed 's/^/    /'
  fi
  return 1
}

# expect_usage_error WHAT NAMED: the last run exited with status 2, printed
# nothing on standard output, and its message holds NAMED, then the usage.
expect_usage_error() {
  local what=$1 named=$2
  [[ $status -eq 2 && -z $output && $stderr == *"$named"* && $stderr == *"$USAGE" ]] &&
    return 0
  printf '%s\n  expected: exit status 2, a message naming %s, then the usage:\n' "$what" "$named"
  printf '            %s\n' "$USAGE"
  printf '  got:      exit status %s\n' "$status"
  if [[ -n $stderr ]]; then
    printf '  its messages:\n'
    shown "$stderr" | sed 's/^/    /'
  fi
  if [[ -n $output ]]; then
    printf '  on standard output:\n'
    shown "$output" | sed 's/^/    /'
  fi
  return 1
}

@test "-c 1: a connection that is never answered is given up after a second" {
  hanging_listener 127.0.0.1
  timed_client -c 1 127.0.0.1 "$SERVER_PORT" </dev/null
  expect_gave_up "the client with -c 1, connecting to a server that never answers" \
    "client: connect 127.0.0.1:$SERVER_PORT: timed out after 1 s" 0.8 3
}

@test "-c 0.5: fractions of a second work, over IPv6 too" {
  hanging_listener ::1
  timed_client -c 0.5 ::1 "$SERVER_PORT" </dev/null
  expect_gave_up "the client with -c 0.5, connecting to [::1]:$SERVER_PORT, which never answers" \
    "client: connect [::1]:$SERVER_PORT: timed out after 0.5 s" 0.4 1.5
}

@test "without -c, the client goes on waiting for the connection (watched for 1.5 s)" {
  hanging_listener 127.0.0.1
  run --separate-stderr timeout 1.5 "$BIN/client" 127.0.0.1 "$SERVER_PORT" </dev/null
  expect_waiting "the client without flags, connecting to a server that never answers" 1.5 ||
    return 1
  # A receive time limit is not a connect time limit.
  run --separate-stderr timeout 1.5 "$BIN/client" -r 0.5 127.0.0.1 "$SERVER_PORT" </dev/null
  expect_waiting "the client with -r 0.5 (and no -c), connecting to a server that never answers" 1.5
}

@test "-c does not hide why a connection failed: a refused one says so at once" {
  with_lessons unused_port
  timed_client -c 2 127.0.0.1 "$UNUSED_PORT" </dev/null
  expect_gave_up "the client with -c 2, connecting to a port nobody listens on" \
    "client: connect 127.0.0.1:$UNUSED_PORT: Connection refused (ECONNREFUSED)" 0 1
}

@test "-r 1: a server that never answers is given up after a second" {
  silent_server
  timed_client -r 1 127.0.0.1 "$SERVER_PORT" <<<"anyone there?"
  expect_gave_up "the client with -r 1, talking to a server that never answers" \
    "client: read 127.0.0.1:$SERVER_PORT: timed out after 1 s" 0.8 3
}

@test "-r 0.5: fractions of a second work for replies too" {
  silent_server
  timed_client -c 2 -r 0.5 127.0.0.1 "$SERVER_PORT" <<<"hello?"
  expect_gave_up "the client with -c 2 -r 0.5, talking to a server that never answers" \
    "client: read 127.0.0.1:$SERVER_PORT: timed out after 0.5 s" 0.4 1.5
}

@test "without -r, the client goes on waiting for a reply (watched for 1.5 s)" {
  silent_server
  run --separate-stderr timeout 1.5 "$BIN/client" 127.0.0.1 "$SERVER_PORT" <<<"hello?"
  expect_waiting "the client without flags, talking to a server that never answers" 1.5 ||
    return 1
  # A connect time limit is not a receive time limit.
  run --separate-stderr timeout 1.5 "$BIN/client" -c 0.5 127.0.0.1 "$SERVER_PORT" <<<"hello?"
  expect_waiting "the client with -c 0.5 (and no -r), talking to a server that never answers" 1.5
}

@test "-r times the server, not the user: a pause in the input is no timeout" {
  with_lessons start_server lesson02/server
  # The pause is the point: the client waits for its input, not for the server.
  timed_client -r 0.5 127.0.0.1 "$SERVER_PORT" < <(echo one; sleep 1.2; echo two)
  expect_exit "the client with -r 0.5, whose input pauses for 1.2 s between two lines" 0 &&
    expect "what it printed" $'one\ntwo' "$output"
}

@test "with -c and -r, the client echoes as before: lines, 200 KB, a last line without a newline" {
  with_lessons start_server lesson02/server
  local in=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  { printf 'one\ntwo\n'; head -c 150000 /dev/urandom | base64; printf 'the end'; } >"$in"
  status=0
  timeout -s KILL "$DEADLINE" "$BIN/client" -r 2.5 -c 1.250 127.0.0.1 "$SERVER_PORT" \
    <"$in" >"$out" 2>"$err" || status=$?
  output=$(cat "$err")
  no_sanitizer_report "$output" client
  expect_status "the client with -r 2.5 -c 1.250, against lesson 02's echo server" 0 &&
    expect "its messages" "" "$output" &&
    expect_same_file "what came back" "$in" "$out"
}

@test "the longest and shortest limits allowed work, and IPv6 too" {
  with_lessons start_server lesson02/server 0 ::1
  timed_client -c 86400 -r 86400 ::1 "$SERVER_PORT" <<<"a day"
  expect_exit "the client with -c 86400 -r 86400, against [::1]:$SERVER_PORT" 0 &&
    expect "what it printed" "a day" "$output" || return 1
  timed_client -r 0.25 -c 0.25 ::1 "$SERVER_PORT" <<<"a quarter second"
  expect_exit "the client with -r 0.25 -c 0.25" 0 &&
    expect "what it printed" "a quarter second" "$output"
}

@test "bad times for -c and -r exit with status 2, naming the value" {
  with_lessons start_server lesson02/server
  local flag v
  for flag in -c -r; do
    for v in 2s abc 0 0.000 -1 "" " 2" 1e3 0x10 .5 1. 1.2345 86401 86400.5 \
      99999999999999999999; do
      run --separate-stderr timeout 5 "$BIN/client" "$flag" "$v" 127.0.0.1 "$SERVER_PORT" </dev/null
      expect_usage_error "the client given $flag '$v'" "'$v'" || return 1
    done
  done
}

@test "unknown flags, a missing value and bad ports exit with status 2 too; --help shows the new usage" {
  with_lessons start_server lesson02/server
  run --separate-stderr timeout 5 "$BIN/client" -x 1 127.0.0.1 "$SERVER_PORT" </dev/null
  expect_usage_error "the client given an unknown flag, -x" "-x" || return 1
  run --separate-stderr timeout 5 "$BIN/client" -r </dev/null
  expect_usage_error "the client given -r and nothing more" "-r" || return 1
  run --separate-stderr timeout 5 "$BIN/client" -c 1 -r 1 </dev/null
  expect_usage_error "the client given -c 1 -r 1 and no host or port" "" || return 1
  run --separate-stderr timeout 5 "$BIN/client" -c 1 127.0.0.1 70000 </dev/null
  expect_usage_error "the client given -c 1 127.0.0.1 70000" "'70000'" || return 1
  run --separate-stderr timeout 5 "$BIN/client" --help
  ((status == 0)) && [[ $output == "$USAGE" && -z $stderr ]] && return 0
  printf 'the client given --help\n  expected: exit status 0, and on standard output:\n'
  printf '            %s\n  got:      exit status %s, and:\n' "$USAGE" "$status"
  shown "$output$stderr" | sed 's/^/    /'
  return 1
}
