# bats file_tags=tsan
# Exercise 04-count: what the grader checks (make grade EX=04-count; add
# VARIANT=tsan to run the server under ThreadSanitizer, which then fails
# any check during which two threads raced). Each test's name is a
# sentence about the server under test; when one fails, it says what it
# expected and what came back.
load ../../tests/exercise

# greeting: the first line a new client reads. It sends nothing and shuts
# its side first: an echo server that sends no greeting then closes at
# once, instead of keeping the client waiting.
greeting() {
  run_peer shut readline
  peer_lines
}

# number_of LINE: N for "you are client #N", nothing otherwise.
number_of() { sed -n 's/^you are client #\([0-9]\{1,\}\)$/\1/p' <<<"$1"; }

@test "a client first reads its number, then its lines come back" {
  start_server server
  run_peer line:hello line:world shut readline readline readline
  expect "what the first client reads" \
    $'you are client #1\nhello\nworld' "$(peer_lines)"
}

@test "clients one after another are numbered 1, 2, 3" {
  start_server server
  local got
  got=$(greeting; greeting; greeting)
  expect "the first lines of three clients, one after another" \
    $'you are client #1\nyou are client #2\nyou are client #3' "$got"
}

# at_once N: N clients connect, all before any is served, so the server
# starts their threads in a burst and they take their numbers at about the
# same time. Each sends a line, reads its number, then the echo. NUMBERS
# holds the numbers they got, in the order they connected.
at_once() {
  local n=$1 i fd reply fds=()
  NUMBERS=()
  for ((i = 0; i < n; i++)); do
    if ! { exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"; } 2>/dev/null; then
      _not_judged "connecting client $((i + 1))" ||
        echo "connecting client $((i + 1)): the server refused the connection"
      return 1
    fi
    fds+=("$fd")
  done
  for i in "${!fds[@]}"; do
    printf 'client %s\n' "$i" >&"${fds[i]}"
  done
  for i in "${!fds[@]}"; do
    reply=
    read -r -t "$DEADLINE" reply <&"${fds[i]}" 2>/dev/null || true
    NUMBERS+=("$(number_of "$reply")")
    [[ -n ${NUMBERS[i]} ]] ||
      { expect "the first line of a client" "you are client #N (N from 1 to $n)" "$reply"; return 1; }
    reply=
    read -r -t "$DEADLINE" reply <&"${fds[i]}" 2>/dev/null || true
    expect "the second line of client #${NUMBERS[i]}" "client $i" "$reply" || return 1
  done
  for fd in "${fds[@]}"; do exec {fd}>&-; done
}

@test "40 clients connected at once get the numbers 1 to 40, each one once" {
  start_server server
  at_once 40 || return 1
  expect "the numbers the 40 clients got, in order" "$(seq -s ' ' 40)" \
    "$(printf '%s\n' "${NUMBERS[@]}" | sort -n | xargs)"
}

@test "ThreadSanitizer sees no race when clients come at once (VARIANT=tsan)" {
  [[ $SOCKLAB_VARIANT == tsan ]] ||
    skip "a race shows only now and then; to have ThreadSanitizer look: make grade EX=$EXERCISE VARIANT=tsan"
  # Any race reported during a check fails it; this one gives the
  # threads every chance to meet. teardown reads the server's log.
  start_server server
  at_once 20 && at_once 20
}

@test "after 200 clients, four at a time, the next one is client #201" {
  start_server server
  seq 200 | xargs -P 4 -I{} timeout -s KILL "$DEADLINE" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" shut readline >/dev/null 2>&1 || true
  expect "the first line of the next client" "you are client #201" "$(greeting)"
}

@test "a client that leaves at once still takes a number" {
  start_server server
  run_peer
  wait_for_log 'disconnected$'
  expect "the first line of the next client" "you are client #2" "$(greeting)"
}

@test "the server logs each client, and stops cleanly on SIGTERM" {
  start_server server
  run_peer line:hi shut readline readline
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
  expect_clean_stop TERM
}
