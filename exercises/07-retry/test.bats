# Exercise 07-retry: what the grader checks (make grade EX=07-retry).
# Each test's name is a sentence about the client under test; when one
# fails, it says what it expected and what came back. The peers are known
# good: lesson 07's echo server, and lesson 07's relay between the client
# and that server, which loses or duplicates datagrams with a fixed seed, so
# that every run loses the same ones.
# shellcheck disable=SC2154  # stderr is set by bats' run --separate-stderr
load ../../tests/exercise

# echo_server: lesson 07's UDP echo server; sets ECHO_PORT.
echo_server() {
  with_lessons start_server lesson07/server 0 127.0.0.1
  ECHO_PORT=$SERVER_PORT
}

# relay FLAGS...: lesson 07's relay in front of the echo server; sets
# RELAY_PORT and RELAY_LOG (one line per datagram it drops or doubles).
relay() {
  with_lessons start_server lesson07/relay "$@" 0 127.0.0.1 "$ECHO_PORT"
  RELAY_PORT=$SERVER_PORT
  RELAY_LOG=$SERVER_LOG
}

# ask PORT SECONDS: the client under test, standard input the caller's,
# stopped after SECONDS; sets status (124 when stopped), output, stderr
# and ELAPSED, the seconds it ran.
ask() {
  local start=$EPOCHREALTIME
  run --separate-stderr timeout -k 1 "$2" "$BIN/client" 127.0.0.1 "$1"
  ELAPSED=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  no_sanitizer_report "$output$stderr" client
}

# expect_answered WHAT EXPECTED: the last ask printed EXPECTED and exited 0.
expect_answered() {
  if ((status == 124)); then
    printf '%s\n  expected: every line back, then exit status 0\n' "$1"
    printf '  got:      the client waited %s s for a reply that was lost, and was stopped\n' "$ELAPSED"
    printf '            (UDP does not send a lost datagram again: the client must)\n'
    if [[ -n ${RELAY_LOG-} ]]; then
      printf '  what the relay dropped:\n'
      grep 'dropped$' "$RELAY_LOG" | sed 's/^/    /'
    fi
    printf '  what the client printed before:\n'
    shown "$output" | sed 's/^/    /'
    return 1
  fi
  expect_status "$1" 0 && expect "$1: what it printed" "$2" "$output"
}

# expect_gave_up WHAT LOW HIGH: the last ask exited 1 between LOW and HIGH
# seconds, printed nothing on standard output and said why on standard error.
expect_gave_up() {
  if ((status == 124)); then
    printf '%s\n  expected: exit status 1 after its 5 tries (0.2 + 0.4 + 0.8 + 1 + 1 s)\n' "$1"
    printf '  got:      still waiting after %s s: stopped\n' "$ELAPSED"
    return 1
  fi
  expect_status "$1" 1 &&
    expect "$1: what it printed on standard output" "" "$output" &&
    expect_match "$1: what it said on standard error" '.' "a line that says why" "$stderr" || return 1
  awk -v t="$ELAPSED" -v lo="$2" -v hi="$3" 'BEGIN { exit !(t >= lo && t <= hi) }' && return 0
  printf '%s: how long it tried\n  expected: between %s and %s s\n  got:      %s s\n' "$1" "$2" "$3" "$ELAPSED"
  return 1
}

@test "every line comes back, in order, from the echo server" {
  echo_server
  ask "$ECHO_PORT" 5 <<<$'hello\n\nworld'
  expect_answered "the client, talking to the echo server" $'hello\n\nworld'
}

@test "no input: the client exits 0 at once" {
  echo_server
  ask "$ECHO_PORT" 5 </dev/null
  expect_answered "the client, with nothing on standard input" ""
}

@test "through a network that loses 30% of the datagrams, every line comes back, in order" {
  echo_server
  # Seed 4 loses 6 of the first 31 datagrams, once two in a row: a client
  # as asked needs about 2 s for these ten lines.
  relay --loss 30 --seed 4
  ask "$RELAY_PORT" 8 < <(seq -f 'line %g' 1 10)
  expect_answered "the client, through relay --loss 30 --seed 4" "$(seq -f 'line %g' 1 10)"
}

@test "through a network that sends every datagram twice, each line is printed once" {
  echo_server
  relay --dup 100
  ask "$RELAY_PORT" 5 <<<$'one\ntwo\nthree'
  expect_answered "the client, through relay --dup 100 (each reply arrives four times)" \
    $'one\ntwo\nthree'
}

@test "with nobody listening, the client gives up within 4 s, with status 1" {
  echo_server
  stop_server
  ask "$ECHO_PORT" 8 <<<"anyone there?"
  expect_gave_up "the client, sending to a port where nobody listens" 2.5 4.5
}

@test "a request whose answers are all lost is sent 5 times, then the client gives up" {
  echo_server
  relay --loss 100
  ask "$RELAY_PORT" 8 <<<$'lost\nnever sent'
  expect_gave_up "the client, through relay --loss 100" 2.5 4.5 || return 1
  expect_count "the number of times the client sent its request" 5 \
    "$(grep -c 'to the server.*dropped$' "$RELAY_LOG")" "and not the next line: it gave up"
}
