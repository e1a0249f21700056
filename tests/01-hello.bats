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

# serve_bytes FILE: a one-shot server (perl, not ours) that sends FILE's
# bytes to its first client and closes; sets SERVER_PORT.
serve_bytes() {
  local out=$BATS_TEST_TMPDIR/bytes.${#_background[@]}.port
  start_background "$out" perl -MIO::Socket::INET -e '
    my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                  LocalPort => 0, ReuseAddr => 1) or die "listen: $!\n";
    open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
    my $data = do { local $/; <$f> };
    $| = 1; print $l->sockport, "\n";
    my $c = $l->accept or die "accept: $!\n";
    print $c $data; close $c;' "$1"
  wait_until "the byte server to listen" grep -qs '^[0-9]' "$out"
  SERVER_PORT=$(head -n 1 "$out")
}

@test "lesson01 client: prints the bytes as received, a NUL and the newline included" {
  printf 'abc\0def\n' >"$BATS_TEST_TMPDIR/sent"
  serve_bytes "$BATS_TEST_TMPDIR/sent"
  timeout "$DEADLINE" "$BIN/lesson01/client" 127.0.0.1 "$SERVER_PORT" >"$BATS_TEST_TMPDIR/got"
  printf 'Message from server: abc\0def\n' >"$BATS_TEST_TMPDIR/want"
  cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "lesson01 client: a message of 255 or 256 bytes is printed whole, 257 bytes is too long" {
  local n
  for n in 255 256; do
    head -c "$n" /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/sent"
    serve_bytes "$BATS_TEST_TMPDIR/sent"
    run_client lesson01/client 127.0.0.1 "$SERVER_PORT"
    [[ $status -eq 0 && $output == "Message from server: $(cat "$BATS_TEST_TMPDIR/sent")" ]] ||
      { echo "$n bytes: status $status: $output"; return 1; }
  done
  head -c 257 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/sent"
  serve_bytes "$BATS_TEST_TMPDIR/sent"
  run_client lesson01/client 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 1 && $output == "client: read 127.0.0.1:$SERVER_PORT: message longer than 256 bytes" ]]
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

@test "lesson01 client: Ctrl-C (SIGINT) kills it by the signal, status 130, as a shell loop needs" {
  # Lesson 02's server never closes first: the greeting client waits.
  start_server lesson02/server
  local pid status=0
  _bare "$BIN/lesson01/client" 127.0.0.1 "$SERVER_PORT" </dev/null >/dev/null 2>&1 &
  pid=$!
  wait_for_log 'connected$'
  wait_until "the client to wait in read()" _sleeping "$pid"
  kill -INT "$pid"
  wait "$pid" || status=$?
  [[ $status -eq 130 ]] || { echo "status $status"; return 1; }
}
