# Exercise 01-greet: what the grader checks (make grade EX=01-greet).
# Each test's name is a sentence about the programs under test; when one
# fails, it says what it expected and what came back. The client is tried
# against lesson 01's server, so a mistake in your server cannot fail it.
load ../../tests/exercise

# client_addr [N]: the address of the Nth client (default 1) the current
# server logged as connected, e.g. 127.0.0.1:51234.
client_addr() {
  wait_for_log ' connected$' "${1:-1}" >&2 || return 1
  sed -n 's/ connected$//p' "$SERVER_LOG" | sed -n "${1:-1}p"
}

# greeting: the line the current server sends a new client.
greeting() {
  run_peer readline
  peer_lines
}

@test "the server greets a client with the client's own address and port" {
  start_server server
  local got
  got=$(greeting)
  expect "the greeting" "Hello $(client_addr)!" "$got"
}

@test "the server shows an IPv6 client's address in brackets" {
  start_server server 0 ::1
  local got
  run timeout -s KILL "$DEADLINE" "$TOOLS/peer" ::1 "$SERVER_PORT" readline
  got=$(peer_lines)
  expect "the greeting over IPv6" "Hello $(client_addr)!" "$got"
}

@test "each client is greeted with its own port" {
  start_server server
  local first second
  first=$(greeting)
  second=$(greeting)
  expect "the greeting of the first client" "Hello $(client_addr 1)!" "$first" &&
    expect "the greeting of the second client" "Hello $(client_addr 2)!" "$second"
}

@test "the client prints where it connected to and from, then the message" {
  with_lessons start_server lesson01/server
  run_client client 127.0.0.1 "$SERVER_PORT"
  expect_status "the client" 0 || return 1
  expect "the client's output" \
    "Connected to 127.0.0.1:$SERVER_PORT from $(client_addr)"$'\n'"Message from server: Hello World!" \
    "$output"
}

@test "the client shows IPv6 addresses in brackets" {
  with_lessons start_server lesson01/server 0 ::1
  run_client client ::1 "$SERVER_PORT"
  expect_status "the client" 0 || return 1
  expect "the client's first line" \
    "Connected to [::1]:$SERVER_PORT from $(client_addr)" "${lines[0]-}"
}

@test "the client names the address it reached, not the name it was given" {
  with_lessons start_server lesson01/server
  run_client client localhost "$SERVER_PORT"
  expect_status "the client" 0 || return 1
  # localhost may be tried as ::1 first (refused, with a message): the
  # address that answered is 127.0.0.1.
  local line
  line=$(grep '^Connected to ' <<<"$output" || true)
  expect "the client's \"Connected to\" line" \
    "Connected to 127.0.0.1:$SERVER_PORT from $(client_addr)" "$line"
}

@test "your client and server agree: the greeting names the client's port" {
  start_server server
  run_client client 127.0.0.1 "$SERVER_PORT"
  expect_status "the client" 0 || return 1
  # The port is the kernel's choice: the same in both lines is what counts.
  local me
  me=$(sed -n 's/^Connected to .* from //p' <<<"$output")
  [[ $me =~ ^127\.0\.0\.1:[0-9]+$ ]] || me=127.0.0.1:PORT
  expect "the client's output" \
    "Connected to 127.0.0.1:$SERVER_PORT from $me"$'\n'"Message from server: Hello $me!" \
    "$output"
}

@test "the server logs each client, and stops cleanly on SIGTERM" {
  start_server server
  greeting >/dev/null
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
  expect_clean_stop TERM
}
