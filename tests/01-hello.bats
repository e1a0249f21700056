# Lesson 01: the hello server and client.
load helpers

@test "lesson01: the client prints the server's greeting" {
  start_server lesson01/server
  run_client lesson01/client 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ $output == "Message from server: Hello World!" ]]
}

@test "lesson01: the server logs each connection and disconnection" {
  start_server lesson01/server
  run_client lesson01/client 127.0.0.1 "$SERVER_PORT"
  run_client lesson01/client 127.0.0.1 "$SERVER_PORT"
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$' 2
  [[ $(grep -cE '^127\.0\.0\.1:[0-9]+ connected$' "$SERVER_LOG") -eq 2 ]]
}

@test "lesson01: works over IPv6 ::1" {
  check_listens_on lesson01/server ::1 '[::1]'
  run_client lesson01/client ::1 "$SERVER_PORT"
  [[ $status -eq 0 && $output == "Message from server: Hello World!" ]]
  wait_for_log '^\[::1\]:[0-9]+ disconnected$'
}

@test "lesson01: a name is resolved (localhost)" {
  start_server lesson01/server 0 localhost
  [[ $SERVER_ADDR == "127.0.0.1:$SERVER_PORT" || $SERVER_ADDR == "[::1]:$SERVER_PORT" ]]
  run_client lesson01/client localhost "$SERVER_PORT"
  [[ $status -eq 0 && $output == "Message from server: Hello World!" ]]
}

@test "lesson01: the same greeting to a foreign client (bash /dev/tcp)" {
  start_server lesson01/server
  exec 5<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  read -r line <&5
  exec 5<&-
  [[ $line == "Hello World!" ]]
}

@test "lesson01 server: usage and help" { check_usage lesson01/server; }
@test "lesson01 client: usage and help" { check_usage lesson01/client; }
@test "lesson01 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson01/server; }
@test "lesson01 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson01/client; }
@test "lesson01 server: a port in use exits 1 naming the address" { check_port_in_use lesson01/server; }
@test "lesson01 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson01/server; }
@test "lesson01 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson01/server; }
@test "lesson01 client: a closed port exits 1 naming the address" { check_client_refused lesson01/client; }

@test "lesson01 client: an unknown host exits 1 with the resolver's reason" {
  run --separate-stderr timeout 10 "$BIN/lesson01/client" no-such-host.invalid 9000
  [[ $status -eq 1 && $stderr == "client: getaddrinfo no-such-host.invalid: "* ]]
}

greet_once() { run_client lesson01/client 127.0.0.1 "$SERVER_PORT"; }

@test "lesson01 server: restarts on the same port right after serving" {
  check_restart_same_port lesson01/server greet_once
}

