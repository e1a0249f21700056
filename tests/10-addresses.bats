# Lesson 10: addresses (lookup, dual-stack, byte order) and Unix domain
# sockets (paths, stale files, credentials, permissions, passing descriptors).
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
# shellcheck disable=SC2016  # bash -c programs in single quotes
# shellcheck disable=SC2154  # stderr: set by bats' run --separate-stderr
load helpers
load 10-addresses

teardown() {
  local failed=0
  socklab_teardown || failed=1
  unix_teardown
  return "$failed"
}

# ---- lookup -------------------------------------------------------------------

@test "lesson10 lookup: a literal gives one result per socket type, -t only the stream one" {
  run_client lesson10/lookup -t 127.0.0.1 9000
  [[ $status -eq 0 ]]
  [[ $output =~ ^AF_INET\ +SOCK_STREAM\ +tcp\ 127\.0\.0\.1:9000\ +canonical\ name\ 127\.0\.0\.1$ ]]
  run_client lesson10/lookup 127.0.0.1 9000
  [[ $status -eq 0 && $(grep -c '127\.0\.0\.1:9000' <<<"$output") -ge 2 ]]
  grep -q 'SOCK_DGRAM  *udp 127\.0\.0\.1:9000' <<<"$output"
}

@test "lesson10 lookup -p: no host and AI_PASSIVE give the wildcards, without -p loopback" {
  run_client lesson10/lookup -p -t - 9000
  [[ $status -eq 0 ]]
  grep -qE '^AF_INET +SOCK_STREAM +tcp 0\.0\.0\.0:9000$' <<<"$output"
  grep -qE '^AF_INET6 +SOCK_STREAM +tcp \[::\]:9000$' <<<"$output"
  run_client lesson10/lookup -t - 9000
  [[ $status -eq 0 ]]
  grep -qE 'tcp 127\.0\.0\.1:9000$' <<<"$output"
  grep -qE 'tcp \[::1\]:9000$' <<<"$output"
}

@test "lesson10 lookup -n: a name is refused with gai_strerror's reason, a literal is fine" {
  run --separate-stderr timeout 5 "$BIN/lesson10/lookup" -n -t localhost 9000
  [[ $status -eq 1 && -z $output ]]
  [[ $stderr == "lookup: getaddrinfo localhost 9000: "* ]]
  run_client lesson10/lookup -n -t -6 ::1 9000
  [[ $status -eq 0 && $output =~ ^AF_INET6\ +SOCK_STREAM\ +tcp\ \[::1\]:9000 ]]
}

@test "lesson10 lookup -r: getnameinfo gives the name back, or says why not" {
  run_client lesson10/lookup -r -t 127.0.0.1
  [[ $status -eq 0 && $output == *"  name localhost" ]]
  # 192.0.2.0/24 is for documentation (RFC 5737): no name, and a status 1.
  run_client lesson10/lookup -r -t -n 192.0.2.1
  [[ $status -eq 1 && $output == *"  no name: "* ]]
}

@test "lesson10 lookup -4 and -6 keep one family" {
  run_client lesson10/lookup -4 -t - 9000
  [[ $status -eq 0 && $output != *AF_INET6* && $output == *"127.0.0.1:9000"* ]]
  run_client lesson10/lookup -6 -t - 9000
  [[ $status -eq 0 && $output == AF_INET6*"[::1]:9000" && $output != *"AF_INET "* ]]
}

@test "lesson10 lookup: usage errors exit 2, -h prints the usage" {
  check_usage lesson10/lookup
  run --separate-stderr timeout 5 "$BIN/lesson10/lookup" -x localhost
  [[ $status -eq 2 && $stderr == *"unknown option '-x'"* ]]
  run --separate-stderr timeout 5 "$BIN/lesson10/lookup" -
  [[ $status -eq 2 ]]
}

# ---- dual-stack -----------------------------------------------------------------

@test "lesson10 dualstack: [::] with IPV6_V6ONLY off serves IPv4 as [::ffff:127.0.0.1]" {
  start_server lesson10/dualstack
  [[ $SERVER_ADDR == "[::]:$SERVER_PORT" ]]
  run greeting 127.0.0.1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ \[::ffff:127\.0\.0\.1\]:[0-9]+$ ]]
  run greeting ::1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ \[::1\]:[0-9]+$ ]]
  wait_for_log '^\[::ffff:127\.0\.0\.1\]:[0-9]+ connected$'
  # One socket for both families: ss shows the port as *:PORT.
  [[ $(ss -Hltn "sport = :$SERVER_PORT" | awk '{print $4}') == "*:$SERVER_PORT" ]]
}

@test "lesson10 dualstack -6: IPV6_V6ONLY on refuses IPv4 clients and serves IPv6" {
  start_server lesson10/dualstack -6 0
  run greeting 127.0.0.1 "$SERVER_PORT"
  [[ $status -ne 0 && $output == *"Connection refused"* ]]
  run greeting ::1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ \[::1\]:[0-9]+$ ]]
  [[ $(ss -Hltn "sport = :$SERVER_PORT" | awk '{print $4}') == "[::]:$SERVER_PORT" ]]
}

@test "lesson10 dualstack -2: a socket per family on one port, one poll loop, no mapped addresses" {
  start_server lesson10/dualstack -2 0
  [[ $SERVER_ADDR == "0.0.0.0:$SERVER_PORT" ]]
  grep -qx "listening on \[::\]:$SERVER_PORT" "$SERVER_LOG"
  run greeting 127.0.0.1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ 127\.0\.0\.1:[0-9]+$ ]]
  run greeting ::1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ \[::1\]:[0-9]+$ ]]
  run greeting 127.0.0.1 "$SERVER_PORT"
  [[ $output =~ ^you\ are\ 127\.0\.0\.1: ]]
  [[ $(ss -Hltn "sport = :$SERVER_PORT" | wc -l) -eq 2 ]]
}

@test "lesson10 dualstack: bad ports, usage, and a port in use" {
  check_server_bad_ports lesson10/dualstack
  check_usage lesson10/dualstack
  run --separate-stderr timeout 5 "$BIN/lesson10/dualstack" -6 -2 0
  [[ $status -eq 2 ]]
  start_server lesson10/dualstack -2 0
  run --separate-stderr timeout 5 "$BIN/lesson10/dualstack" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"bind [::]:$SERVER_PORT: Address"*"in use (EADDRINUSE)"* ]]
}

@test "lesson10 dualstack: SIGTERM and SIGINT stop it with status 0" {
  check_stop_signal TERM lesson10/dualstack
  check_stop_signal INT lesson10/dualstack
}

@test "lesson10 dualstack -2: stops within a second while clients stream at it" {
  start_server lesson10/dualstack -2 0
  start_streamers 3 "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT"
  wait_for_log 'connected$' 20
  stop_within_a_second TERM
}

# ---- byte order --------------------------------------------------------------------

@test "lesson10 bytes: htons and htonl put the big end first, inet_pton gives network order" {
  run_client lesson10/bytes
  [[ $status -eq 0 ]]
  grep -qE '^htons\(9000\) +23 28$' <<<"$output"
  grep -qE '^htonl\(INADDR_LOOPBACK\) +7f 00 00 01$' <<<"$output"
  grep -qE '^::ffff:127\.0\.0\.1 +(00 ){10}ff ff 7f 00 00 01$' <<<"$output"
}

@test "lesson10 bytes: the old calls' pitfalls show" {
  run_client lesson10/bytes
  # 255.255.255.255 and an error are the same value.
  grep -qE '^inet_addr\("255\.255\.255\.255"\) +0xffffffff$' <<<"$output"
  grep -qE '^inet_addr\("bogus"\) +0xffffffff' <<<"$output"
  # inet_aton takes the shorthand inet_pton refuses.
  grep -qE '^inet_aton\("127\.1"\) +127\.0\.0\.1$' <<<"$output"
  grep -qE '^inet_pton\(AF_INET, "127\.1"\) +0$' <<<"$output"
  # One static buffer: two different addresses print the same.
  [[ $(grep '^inet_ntoa(a), inet_ntoa(b)' <<<"$output" | awk '{print $3 == $4}') == 1 ]]
}

@test "lesson10 bytes ADDRESS: each converts to its bytes and back, a bad one is status 1" {
  run_client lesson10/bytes 10.1.2.3 fe80::1 300.1.1.1
  [[ $status -eq 1 ]]
  grep -qE '^10\.1\.2\.3 +0a 01 02 03$' <<<"$output"
  grep -qE '^fe80::1 +fe 80( 00){13} 01$' <<<"$output"
  grep -q '^300.1.1.1: not an IPv4 address' <<<"$output"
}

# ---- Unix domain sockets: lesson 02's echo at a path ----------------------------------

@test "lesson10 userver: lesson 02's echo over a Unix stream socket, 1 MiB byte for byte" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  [[ $SERVER_ADDR == "$UNIX_DIR/echo.sock" && -S $UNIX_DIR/echo.sock ]]
  random_mib "$BATS_TEST_TMPDIR/in"
  timeout -s KILL "$DEADLINE" "$BIN/lesson10/uclient" "$UNIX_DIR/echo.sock" \
    <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
  cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
  run_client lesson10/uclient "$UNIX_DIR/echo.sock" <<<"hello"
  [[ $status -eq 0 && $output == hello ]]
}

@test "lesson10 userver: the log names each client's uid and pid (SO_PEERCRED)" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  # exec keeps the pid that bash wrote down.
  run bash -c 'echo $$ >"$2"; exec "$0" "$1" <<<hi' "$BIN/lesson10/uclient" \
    "$UNIX_DIR/echo.sock" "$BATS_TEST_TMPDIR/pid"
  [[ $status -eq 0 && $output == hi ]]
  wait_for_log "^uid $(id -u) pid $(cat "$BATS_TEST_TMPDIR/pid") connected$"
  wait_for_log "^uid $(id -u) pid $(cat "$BATS_TEST_TMPDIR/pid") disconnected$"
}

@test "lesson10 uprobe: a stream merges the writes, seqpacket and dgram keep each one" {
  unix_dir
  start_userver "$UNIX_DIR/stream.sock"
  run_client lesson10/uprobe "$UNIX_DIR/stream.sock" 1 1000 3
  [[ $status -eq 0 && ${lines[3]} == "read 1004 bytes in one read()" && ${#lines[@]} -eq 4 ]]
  start_userver -t seqpacket "$UNIX_DIR/seq.sock"
  run_client lesson10/uprobe -t seqpacket "$UNIX_DIR/seq.sock" 1 1000 3
  [[ $status -eq 0 && ${lines[3]} == "read 1 bytes in one read()" &&
     ${lines[4]} == "read 1000 bytes in one read()" && ${lines[5]} == "read 3 bytes in one read()" ]]
  start_userver -t dgram "$UNIX_DIR/dgram.sock"
  run_client lesson10/uprobe -t dgram "$UNIX_DIR/dgram.sock" 1 1000 0 3
  [[ $status -eq 0 && ${lines[4]} == "read 1 bytes in one read()" &&
     ${lines[6]} == "read 0 bytes in one read()" && ${lines[7]} == "read 3 bytes in one read()" ]]
}

@test "lesson10 uprobe: on seqpacket an empty message reads as 0, like end of file" {
  unix_dir
  start_userver -t seqpacket "$UNIX_DIR/seq.sock"
  run_client lesson10/uprobe -t seqpacket "$UNIX_DIR/seq.sock" 1 0 3
  # The server took the empty message for the end and closed.
  [[ $status -eq 1 ]]
  wait_for_log 'disconnected$'
}

# ---- The socket file ------------------------------------------------------------------

@test "lesson10 userver: a clean stop removes its path, with status 0 within a second" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  check_stop_signal_running TERM
  [[ ! -e $UNIX_DIR/echo.sock ]]
}

@test "lesson10 userver: a stale path (a server killed) is removed and the restart works" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  stop_server KILL
  [[ -S $UNIX_DIR/echo.sock ]]
  # Without the cure: bind() fails, EADDRINUSE.
  run --separate-stderr timeout 5 "$BIN/lesson10/uclient" "$UNIX_DIR/echo.sock" </dev/null
  [[ $status -eq 1 && $stderr == *"Connection refused (ECONNREFUSED)"* ]]
  start_userver "$UNIX_DIR/echo.sock"
  grep -qx "userver: removing stale socket $UNIX_DIR/echo.sock: nobody answers on it" "$SERVER_LOG"
  run_client lesson10/uclient "$UNIX_DIR/echo.sock" <<<"again"
  [[ $output == again ]]
}

@test "lesson10 userver: a path a live server answers on is not taken from it" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  local first=$SERVER_LOG
  run --separate-stderr timeout 5 "$BIN/lesson10/userver" "$UNIX_DIR/echo.sock"
  [[ $status -eq 1 && $stderr == *"bind $UNIX_DIR/echo.sock: Address"*"in use (EADDRINUSE)" ]]
  [[ $stderr != *stale* ]]
  run_client lesson10/uclient "$UNIX_DIR/echo.sock" <<<"still here"
  [[ $output == "still here" ]]
  SERVER_LOG=$first
  wait_for_log 'connected$' 2
}

@test "lesson10 userver: a file that is not a socket is never removed" {
  unix_dir
  echo "precious" >"$UNIX_DIR/data"
  run --separate-stderr timeout 5 "$BIN/lesson10/userver" "$UNIX_DIR/data"
  [[ $status -eq 1 && $stderr == *"(EADDRINUSE)" ]]
  [[ $(cat "$UNIX_DIR/data") == precious ]]
}

@test "lesson10 userver: a path too long for sun_path is ENAMETOOLONG, not cut short" {
  unix_dir
  local long
  long=$UNIX_DIR/$(printf 'x%.0s' {1..120})
  run --separate-stderr timeout 5 "$BIN/lesson10/userver" "$long"
  [[ $status -eq 1 && $stderr == *"(ENAMETOOLONG)" ]]
}

@test "lesson10 userver @NAME: the abstract namespace (Linux) leaves no file" {
  [[ $(uname -s) == Linux ]] || skip "the abstract namespace is Linux's"
  unix_dir
  local name="@socklab-test-$$-$RANDOM"
  start_userver "$name"
  [[ $SERVER_ADDR == "$name" ]]
  run_client lesson10/uclient "$name" <<<"abstract"
  [[ $output == abstract ]]
  # No file anywhere: ss lists the name, the server's directory stays empty.
  ss -Hxl | grep -qF "$name"
  [[ ! -e $name && ! -e $SOCKLAB_ROOT/$name ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  # The name is gone with the socket.
  run ss -Hxl
  [[ $output != *"$name"* ]]
}

@test "lesson10 userver: bad options exit 2, -h prints the usage" {
  check_usage lesson10/userver
  run --separate-stderr timeout 5 "$BIN/lesson10/userver" -t raw /tmp/x
  [[ $status -eq 2 && $stderr == *"invalid type 'raw'"* ]]
  run --separate-stderr timeout 5 "$BIN/lesson10/userver" -m 999 /tmp/x
  [[ $status -eq 2 && $stderr == *"invalid mode '999'"* ]]
  check_usage lesson10/uclient
}

# ---- Permissions -------------------------------------------------------------------------

# as_nobody COMMAND...: COMMAND as uid and gid 65534, with no other groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

need_root_and_setpriv() {
  ((EUID == 0)) || skip "switching to another user needs root"
  command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
}

@test "lesson10 userver -m 0600: another user's client is refused (EACCES), the owner is served" {
  need_root_and_setpriv
  unix_dir
  cp "$BIN/lesson10/uclient" "$UNIX_DIR/uclient"
  start_userver -m 0600 "$UNIX_DIR/echo.sock"
  [[ $(stat -c %a "$UNIX_DIR/echo.sock") == 600 ]]
  run --separate-stderr as_nobody timeout 5 "$UNIX_DIR/uclient" "$UNIX_DIR/echo.sock" <<<"let me in"
  [[ $status -eq 1 && $stderr == *"connect $UNIX_DIR/echo.sock: Permission denied (EACCES)" ]]
  run_client lesson10/uclient "$UNIX_DIR/echo.sock" <<<"owner"
  [[ $output == owner ]]
  run ! grep -q '^uid 65534 ' "$SERVER_LOG"
}

@test "lesson10 userver -m 0666: another user's client is served, and logged with its uid" {
  need_root_and_setpriv
  unix_dir
  cp "$BIN/lesson10/uclient" "$UNIX_DIR/uclient"
  start_userver -m 0666 "$UNIX_DIR/echo.sock"
  run --separate-stderr as_nobody timeout 5 "$UNIX_DIR/uclient" "$UNIX_DIR/echo.sock" <<<"hello"
  [[ $status -eq 0 && $output == hello ]]
  wait_for_log '^uid 65534 pid [0-9]+ connected$'
}

# ---- Stops ---------------------------------------------------------------------------

@test "lesson10 userver: stops within a second while clients stream at it, and removes its path" {
  unix_dir
  start_userver "$UNIX_DIR/echo.sock"
  start_streamers 3 "$BIN/lesson10/uclient" "$UNIX_DIR/echo.sock"
  wait_for_log 'connected$'
  stop_within_a_second TERM
  [[ ! -e $UNIX_DIR/echo.sock ]]
}

@test "lesson10 userver -t dgram: stops within a second while datagrams stream at it" {
  unix_dir
  start_userver -t dgram "$UNIX_DIR/dgram.sock"
  local i
  for i in 1 2; do
    start_background "$BATS_TEST_TMPDIR/sender.$i" bash -c \
      'while "$0" -t dgram "$1" 1000 1000 1000; do :; done' \
      "$BIN/lesson10/uprobe" "$UNIX_DIR/dgram.sock"
  done
  wait_until "datagrams to come back" grep -qs '^read 1000 bytes' "$BATS_TEST_TMPDIR/sender.1"
  stop_within_a_second TERM
  grep -qE '^served [1-9][0-9]* datagrams$' "$SERVER_LOG"
}

# ---- Passing descriptors --------------------------------------------------------------

@test "lesson10 handoff: the acceptor hands each connection to the workers in turn, they serve it" {
  start_server lesson10/handoff
  echo one >"$BATS_TEST_TMPDIR/one"
  echo two >"$BATS_TEST_TMPDIR/two"
  echo_roundtrip "$BATS_TEST_TMPDIR/one"
  echo_roundtrip "$BATS_TEST_TMPDIR/two"
  wait_for_log '^worker 1: serving 127\.0\.0\.1:[0-9]+$'
  wait_for_log '^worker 2: serving 127\.0\.0\.1:[0-9]+$'
  random_mib "$BATS_TEST_TMPDIR/mib"
  echo_roundtrip "$BATS_TEST_TMPDIR/mib"
  # Two workers by default, each a child of the acceptor.
  [[ $(workers_of "$SERVER_PID" | wc -l) -eq 2 ]]
}

@test "lesson10 handoff -x 2: unexpected descriptors are closed, the connection still served" {
  start_server lesson10/handoff -w 1 -x 2 0
  local worker before
  worker=$(workers_of "$SERVER_PID")
  before=$(fd_count "$worker")
  echo served >"$BATS_TEST_TMPDIR/in"
  echo_roundtrip "$BATS_TEST_TMPDIR/in"
  wait_for_log '^worker 1: 127\.0\.0\.1:[0-9]+: closing 2 unexpected descriptors$'
  wait_for_log '^worker 1: 127\.0\.0\.1:[0-9]+ disconnected$'
  [[ $(fd_count "$worker") -eq $before ]]
}

@test "lesson10 handoff -x 5: a truncated control message (MSG_CTRUNC) is dropped, nothing leaks" {
  [[ -z ${SOCKLAB_EMULATED:-} ]] ||
    skip "qemu-user rewrites control messages itself and does not truncate them as the kernel does"
  start_server lesson10/handoff -w 1 -x 5 0
  local worker before
  worker=$(workers_of "$SERVER_PID")
  before=$(fd_count "$worker")
  echo dropped >"$BATS_TEST_TMPDIR/in"
  run ! echo_roundtrip "$BATS_TEST_TMPDIR/in"
  wait_for_log '^worker 1: 127\.0\.0\.1:[0-9]+: control message truncated \(MSG_CTRUNC\): closing 4 descriptors$'
  [[ $(fd_count "$worker") -eq $before ]]
  run ! grep -q 'serving' "$SERVER_LOG"
}

# bats test_tags=slow
@test "lesson10 handoff: 1000 hand-overs leak no descriptor in the acceptor or the workers" {
  start_server lesson10/handoff
  local pids pid before=() i fd line
  # One connection first, so that accept_client()'s spare descriptor exists.
  echo warm-up >"$BATS_TEST_TMPDIR/in"
  echo_roundtrip "$BATS_TEST_TMPDIR/in"
  wait_for_log 'disconnected$'
  mapfile -t pids < <(echo "$SERVER_PID"; workers_of "$SERVER_PID")
  for pid in "${pids[@]}"; do before+=("$(fd_count "$pid")"); done
  for ((i = 0; i < 1000; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
    echo "hand-over $i" >&"$fd"
    IFS= read -r -t "$DEADLINE" line <&"$fd"
    exec {fd}>&-
    [[ $line == "hand-over $i" ]]
  done
  wait_for_log 'disconnected$' 1001
  for i in "${!pids[@]}"; do
    [[ $(fd_count "${pids[i]}") -eq ${before[i]} ]] ||
      { echo "pid ${pids[i]}: ${before[i]} descriptors before, $(fd_count "${pids[i]}") after"; return 1; }
  done
}

@test "lesson10 handoff: SIGTERM stops the acceptor and its workers within a second, status 0" {
  start_server lesson10/handoff
  local workers
  workers=$(workers_of "$SERVER_PID")
  start_streamers 3 "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT"
  wait_for_log '^worker [12]: serving' 2
  stop_within_a_second TERM
  local pid
  for pid in $workers; do run ! kill -0 "$pid"; done
}

@test "lesson10 handoff: usage errors exit 2, -h prints the usage" {
  check_server_bad_ports lesson10/handoff
  check_usage lesson10/handoff
  run --separate-stderr timeout 5 "$BIN/lesson10/handoff" -w 0 0
  [[ $status -eq 2 ]]
}

# ---- Measured -----------------------------------------------------------------------------

@test "lesson10 latency: times a Unix stream and a TCP loopback ping-pong" {
  run_client lesson10/latency -n 200
  [[ $status -eq 0 && ${#lines[@]} -eq 2 ]]
  [[ ${lines[0]} =~ ^unix\ stream\ +200\ rounds\ of\ 64\ bytes:\ median\ [0-9.]+\ us,\ fastest\ [0-9.]+\ us$ ]]
  [[ ${lines[1]} =~ ^tcp\ loopback\ +200\ rounds ]]
}

# ---- The chapter ------------------------------------------------------------------------

