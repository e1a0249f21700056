# Lesson 06: socket options, each one shown doing something.
load helpers
load 06-sockopts

# ---- the inspector ---------------------------------------------------------

@test "lesson06 inspect: a table of every option on four kinds of socket" {
  run --separate-stderr "$BIN/lesson06/inspect"
  [[ $status -eq 0 && -z $stderr ]]
  no_sanitizer_report "$output" inspect
  [[ ${lines[0]} == "option "*"TCP "*"UDP "*"listening "*"connected" ]]
  local o
  for o in SO_TYPE SO_REUSEADDR SO_REUSEPORT SO_KEEPALIVE TCP_KEEPIDLE TCP_KEEPINTVL \
    TCP_KEEPCNT SO_LINGER SO_RCVBUF SO_SNDBUF SO_RCVTIMEO SO_SNDTIMEO TCP_NODELAY \
    SO_BROADCAST IP_TTL SO_ERROR; do
    [[ -n $(inspect_row "$output" "$o") ]] || { echo "no row for $o"; return 1; }
  done
  [[ $(inspect_row "$output" SO_TYPE) == "STREAM DGRAM STREAM STREAM" ]]
  [[ $(inspect_row "$output" SO_REUSEADDR) == "off off off off" ]]
  [[ $(inspect_row "$output" SO_LINGER) == "off off off off" ]]
  [[ $(inspect_row "$output" SO_RCVTIMEO) == "0 (never) 0 (never) 0 (never) 0 (never)" ]]
  [[ $(inspect_row "$output" SO_ERROR) == "0 0 0 0" ]]
  # TCP's own options do not exist on a UDP socket.
  [[ $(inspect_row "$output" TCP_NODELAY) == "off - off off" ]]
  # The keepalive timers are the kernel's defaults, whatever they are here.
  [[ $(inspect_row "$output" TCP_KEEPIDLE) == "$(</proc/sys/net/ipv4/tcp_keepalive_time) s - "* ]]
  [[ $(inspect_row "$output" IP_TTL) == "$(</proc/sys/net/ipv4/ip_default_ttl) "* ]]
}

@test "lesson06 inspect: Linux stores twice the buffer size asked for" {
  run --separate-stderr "$BIN/lesson06/inspect" --rcvbuf 65536 --sndbuf 32K
  [[ $status -eq 0 ]]
  [[ ${lines[0]} == "asked for SO_RCVBUF 65536 on each socket" ]]
  [[ ${lines[1]} == "asked for SO_SNDBUF 32768 on each socket" ]]
  [[ $(inspect_row "$output" SO_RCVBUF) == "131072 131072 131072 131072" ]]
  [[ $(inspect_row "$output" SO_SNDBUF) == "65536 65536 65536 65536" ]]
}

@test "lesson06 inspect: SO_SNDBUF 0 is raised to a minimum, and huge sizes are capped" {
  run "$BIN/lesson06/inspect" --sndbuf 0 --rcvbuf 0
  [[ $status -eq 0 ]]
  local v
  for v in $(inspect_row "$output" SO_SNDBUF); do ((v >= 4096)) || { echo "SO_SNDBUF $v"; return 1; }; done
  for v in $(inspect_row "$output" SO_RCVBUF); do ((v >= 2048)) || { echo "SO_RCVBUF $v"; return 1; }; done
  # Above net.core.rmem_max the request is cut to it (and then doubled).
  run "$BIN/lesson06/inspect" --rcvbuf 1000M
  [[ $status -eq 0 ]]
  local max=$(($(</proc/sys/net/core/rmem_max) * 2))
  [[ $(inspect_row "$output" SO_RCVBUF) == "$max $max $max $max" ]]
}

@test "lesson06 inspect: bad sizes and unknown arguments exit 2 naming the value" {
  local args
  for args in "--rcvbuf abc" "--rcvbuf -1" "--sndbuf 3000000000" "--sndbuf 4G" "--rcvbuf 1.5K" "--rcvbuf"; do
    run --separate-stderr "$BIN/lesson06/inspect" $args
    [[ $status -eq 2 ]] || { echo "$args: status $status"; return 1; }
    [[ $stderr == *"usage: inspect "* ]]
  done
  run --separate-stderr "$BIN/lesson06/inspect" --rcvbuf 12x
  [[ $stderr == *"invalid size '12x' for --rcvbuf"* ]]
  run --separate-stderr "$BIN/lesson06/inspect" --linger
  [[ $status -eq 2 && $stderr == *"unknown option '--linger'"* ]]
  run --separate-stderr "$BIN/lesson06/inspect" 9000
  [[ $status -eq 2 && $stderr == *"unexpected argument '9000'"* ]]
  run --separate-stderr "$BIN/lesson06/inspect" --help
  [[ $status -eq 0 && $output == "usage: inspect "* && -z $stderr ]]
}

# ---- the line echo server and client ---------------------------------------

@test "lesson06: each line comes back; a last line without a newline gets one" {
  start_server lesson06/server
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" < <(printf 'one\ntwo\nlast')
  [[ $status -eq 0 ]]
  [[ $output == $'one\ntwo\nlast' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

@test "lesson06: the server answers a line only once all of it has arrived" {
  start_server lesson06/server
  # Half a line gets nothing back; the rest of it gets the whole line.
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:5 shut drain
  [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]]
  run "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:5 line:rest readline
  [[ $status -eq 0 && ${lines[-1]} == "line abcderest" ]]
}

@test "lesson06: lines survive 1-byte transfers and EINTR in server and client" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3
              SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.log")
  start_server lesson06/server
  local input
  # Few lines: every 1-byte write of a reply waits out Nagle and a delayed ACK.
  input=$(seq 1 20)
  LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=2 SOCKLAB_FAULT_EINTR=5 \
    SOCKLAB_FAULT_LOG=$BATS_TEST_TMPDIR/faults.log \
    run_client lesson06/client 127.0.0.1 "$SERVER_PORT" <<<"$input"
  [[ $status -eq 0 && $output == "$input" ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  [[ $(grep -c 'eintr=[1-9]' "$BATS_TEST_TMPDIR/faults.log") -eq 2 ]]
}

# ---- 1. TIME_WAIT and SO_REUSEADDR ------------------------------------------

# serve_and_stop FLAGS...: a server that closes first (--send), one client
# served, then the server stopped: its port is left with a TIME-WAIT.
serve_and_stop() {
  start_server lesson06/server "$@" --send 1K 0
  run_client lesson06/sink 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  stop_server
  [[ $SERVER_STATUS -eq 0 ]]
  wait_until "a TIME-WAIT on port $SERVER_PORT" eval '(($(time_wait_on "$SERVER_PORT") >= 1))'
}

@test "lesson06 SO_REUSEADDR: without it a restart fails while TIME_WAIT holds the port; with it, it works" {
  serve_and_stop
  local port=$SERVER_PORT
  run --separate-stderr timeout 5 "$BIN/lesson06/server" --no-reuseaddr "$port"
  [[ $status -eq 1 ]]
  [[ $stderr == *"bind 127.0.0.1:$port: Address already in use (EADDRINUSE)"* ]]
  no_sanitizer_report "$stderr" server
  start_server lesson06/server "$port"
  [[ $SERVER_PORT -eq $port ]]
}

@test "lesson06 SO_REUSEADDR: the old server must have set it too" {
  serve_and_stop --no-reuseaddr
  run --separate-stderr timeout 5 "$BIN/lesson06/server" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"Address already in use (EADDRINUSE)"* ]]
}

@test "lesson06 SO_REUSEADDR: it never lets two servers listen on one port" {
  start_server lesson06/server
  run --separate-stderr timeout 5 "$BIN/lesson06/server" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"bind 127.0.0.1:$SERVER_PORT: Address already in use (EADDRINUSE)"* ]]
}

# ---- 2. SO_LINGER -----------------------------------------------------------

@test "lesson06 SO_LINGER: a graceful close delivers every byte, then end of file" {
  start_server lesson06/server --send 1M 0
  # The server's close() returns long before the slow reader has the data:
  # its kernel goes on sending after the close.
  run_client lesson06/sink --delay 0.3 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ ${lines[0]} == "received 1048576 bytes in "*", then end of file" ]]
  # The server closed first: its side waits in TIME-WAIT.
  local client
  client=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\) connected$/\1/p' "$SERVER_LOG")
  wait_until "TIME-WAIT" eval \
    '[[ -n $(ss -Htan state time-wait "( sport = :$SERVER_PORT and dport = :$client )") ]]'
}

@test "lesson06 SO_LINGER {1, 0}: close sends RST, the reader gets ECONNRESET and loses data" {
  start_server lesson06/server --linger0 --send 1M 0
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/lesson06/sink" --delay 0.3 127.0.0.1 "$SERVER_PORT"
  no_sanitizer_report "$stderr" sink
  [[ $status -eq 1 ]]
  [[ $stderr == "sink: read 127.0.0.1:$SERVER_PORT: Connection reset by peer (ECONNRESET)" ]]
  [[ ${lines[0]} =~ ^received\ ([0-9]+)\ bytes.*then\ an\ error$ ]]
  # What was still in the server's send buffer at close() never arrived.
  ((BASH_REMATCH[1] < 1048576)) || { echo "all the data arrived: ${lines[0]}"; return 1; }
  # An abort leaves no TIME-WAIT behind: the connection is simply gone.
  wait_for_log 'disconnected$'
  local client
  client=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\) connected$/\1/p' "$SERVER_LOG")
  [[ -z $(ss -Htan "( sport = :$SERVER_PORT and dport = :$client )") ]]
}

@test "lesson06 SO_LINGER {1, 0}: in echo mode the client's replies still arrive before the RST" {
  start_server lesson06/server --linger0 0
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" <<<$'a\nb'
  [[ $status -eq 0 && $output == $'a\nb' ]]
  wait_for_log 'disconnected$'
}

# ---- 3. SO_RCVTIMEO ---------------------------------------------------------

@test "lesson06 SO_RCVTIMEO: a client gives up on a silent server after its timeout" {
  start_server lesson06/server --silent 0
  local start=$EPOCHREALTIME
  run_client lesson06/client --timeout 1 127.0.0.1 "$SERVER_PORT" <<<"anyone there?"
  elapsed_between "$start" "$EPOCHREALTIME" 0.9 5
  [[ $status -eq 1 && -z ${lines[1]:-} ]]
  [[ $output == "client: no reply from 127.0.0.1:$SERVER_PORT within 1 s (SO_RCVTIMEO), giving up" ]]
}

@test "lesson06 SO_RCVTIMEO: fractions of a second work" {
  start_server lesson06/server --silent 0
  local start=$EPOCHREALTIME
  run_client lesson06/client --timeout 0.3 127.0.0.1 "$SERVER_PORT" <<<"hello"
  elapsed_between "$start" "$EPOCHREALTIME" 0.25 3
  [[ $status -eq 1 && $output == *"within 0.3 s (SO_RCVTIMEO)"* ]]
}

@test "lesson06 SO_RCVTIMEO: without it the client is still waiting when the other gives up" {
  start_server lesson06/server --silent 0
  # (A background job's standard input is /dev/null unless it says otherwise.)
  start_background "$BATS_TEST_TMPDIR/patient.out" bash -c 'exec "$0" 127.0.0.1 "$1" <<<hello' \
    "$BIN/lesson06/client" "$SERVER_PORT"
  local patient=$BACKGROUND_PID
  run_client lesson06/client --timeout 0.5 127.0.0.1 "$SERVER_PORT" <<<"hello"
  [[ $status -eq 1 ]]
  kill -0 "$patient"
  [[ ! -s $BATS_TEST_TMPDIR/patient.out ]]
}

@test "lesson06 SO_RCVTIMEO: the server drops a client idle past its timeout, and serves the next" {
  start_server lesson06/server --idle-timeout 1 0
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  local start=$EPOCHREALTIME
  # The next client waits behind the idle one (the server is iterative)...
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" <<<"next"
  # ...until the idle one is dropped.
  [[ $status -eq 0 && $output == next ]]
  elapsed_between "$start" "$EPOCHREALTIME" 0.8 5
  run grep -E 'idle|connected' "$SERVER_LOG"
  [[ ${lines[0]} =~ ^127\.0\.0\.1:([0-9]+)\ connected$ ]]
  local idle=${BASH_REMATCH[1]}
  [[ ${lines[1]} == "127.0.0.1:$idle idle for 1 s, closing" ]]
  [[ ${lines[2]} == "127.0.0.1:$idle disconnected" ]]
}

@test "lesson06 SO_RCVTIMEO: a client that keeps talking is not dropped" {
  start_server lesson06/server --idle-timeout 1 0
  # Five lines, 0.3 s apart: 1.2 s in all, never 1 s of silence.
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" \
    < <(for i in 1 2 3 4 5; do echo "$i"; sleep 0.3; done)
  [[ $status -eq 0 && $output == $'1\n2\n3\n4\n5' ]]
  ! grep -q idle "$SERVER_LOG"
}

@test "lesson06 server: SIGTERM stops it while it waits on an idle client" {
  start_server lesson06/server --idle-timeout 60 0
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  wait_until "the server to wait in read()" _sleeping "$SERVER_PID"
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
}

# ---- 4. SO_RCVBUF / SO_SNDBUF -----------------------------------------------

@test "lesson06 buffers: a transfer with small buffers completes, and the sizes stay as set" {
  start_server lesson06/server --sndbuf 32K --send 4M 0
  run_client lesson06/sink --rcvbuf 32K 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ ${lines[0]} == "received 4194304 bytes in "*", then end of file" ]]
  # Set by hand, the buffer is locked: no autotuning.
  [[ ${lines[1]} == "SO_RCVBUF: 65536 after connect, 65536 at the end" ]]
}

@test "lesson06 buffers: left alone, Linux grows the receive buffer of a busy connection" {
  start_server lesson06/server --send 16M 0
  run_client lesson06/sink 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  [[ ${lines[1]} =~ ^SO_RCVBUF:\ ([0-9]+)\ after\ connect,\ ([0-9]+)\ at\ the\ end$ ]]
  ((BASH_REMATCH[2] > BASH_REMATCH[1])) || { echo "${lines[1]}"; return 1; }
}

@test "lesson06 buffers: accepted connections inherit the listening socket's SO_SNDBUF" {
  start_server lesson06/server --sndbuf 32K --send 64M 0
  # The peer never reads: the server blocks in write() with its buffer full.
  start_background "$BATS_TEST_TMPDIR/held.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  # ss -m shows the socket's memory; tb is the send buffer, doubled.
  wait_until "the server's connection to show tb65536" eval \
    'ss -Htnm state established "( sport = :$SERVER_PORT )" | grep -q "tb65536,"'
  stop_server TERM                    # and it stops cleanly while blocked in write()
  [[ $SERVER_STATUS -eq 0 ]]
}

# ---- 5. TCP_NODELAY ---------------------------------------------------------

@test "lesson06 TCP_NODELAY: write-write-read stalls without it, runs several times faster with it" {
  start_server lesson06/server
  local slow fast coalesced
  slow=$(pingpong_seconds --rounds 10)
  fast=$(pingpong_seconds --rounds 10 --nodelay)
  coalesced=$(pingpong_seconds --rounds 10 --one-write)
  echo "without: $slow s, --nodelay: $fast s, --one-write: $coalesced s"
  # About 40 ms a round against well under 1 ms: a ratio of 3 is loose.
  awk -v s="$slow" -v f="$fast" 'BEGIN { exit !(s >= 3 * f) }'
  awk -v s="$slow" -v f="$coalesced" 'BEGIN { exit !(s >= 3 * f) }'
  # And the stall is the delayed ACK's: tens of milliseconds a round.
  awk -v s="$slow" 'BEGIN { exit !(s / 10 >= 0.01) }'
}

@test "lesson06 pingpong: bad counts and flags exit 2 naming the value" {
  local v
  for v in 0 abc -1 1000001 ""; do
    run --separate-stderr "$BIN/lesson06/pingpong" --rounds "$v" 127.0.0.1 9
    [[ $status -eq 2 && $stderr == *"invalid count '$v' for --rounds"* ]] ||
      { echo "--rounds '$v': $status $stderr"; return 1; }
  done
  run --separate-stderr "$BIN/lesson06/pingpong" --nagle 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"unknown option '--nagle'"* ]]
}

# ---- 6. SO_KEEPALIVE --------------------------------------------------------

@test "lesson06 SO_KEEPALIVE: a peer that vanished is detected (network namespaces)" {
  can_use_netns || skip "needs root and network namespaces (ip netns)"
  run timeout -s KILL 60 "$SOCKLAB_ROOT/lessons/06-sockopts/vanish.sh" 1,1,3
  printf '%s\n' "$output"
  no_sanitizer_report "$output" vanish.sh
  [[ $status -eq 0 ]]
  [[ $output == *"near: client: read 10.66.0.2:"*": Connection timed out (ETIMEDOUT)"* ]]
  [[ $output == *"near: the keepalive client exited with status 1 after "* ]]
  [[ $output == *"near: the client without keepalive is still waiting"* ]]
  # Nothing is left behind.
  ! ip netns list | grep -q "sockopts-.*-[0-9]"
}

@test "lesson06 vanish.sh: a bad argument exits 2" {
  run "$SOCKLAB_ROOT/lessons/06-sockopts/vanish.sh" 1,1
  [[ $status -eq 2 && $output == *"usage: vanish.sh"* ]]
}

@test "lesson06 client: bad timeouts and keepalive settings exit 2 naming the value" {
  local v
  for v in 0 abc -1 1.2345 1. .5 86401 ""; do
    run --separate-stderr "$BIN/lesson06/client" --timeout "$v" 127.0.0.1 9 </dev/null
    [[ $status -eq 2 && $stderr == *"invalid time '$v' for --timeout"* ]] ||
      { echo "--timeout '$v': $status $stderr"; return 1; }
  done
  for v in 1,2 1,2,3,4 0,1,1 a,b,c 1,,3 99999,1,1 ""; do
    run --separate-stderr "$BIN/lesson06/client" --keepalive "$v" 127.0.0.1 9 </dev/null
    [[ $status -eq 2 && $stderr == *"invalid keepalive '$v'"* ]] ||
      { echo "--keepalive '$v': $status $stderr"; return 1; }
  done
  run --separate-stderr "$BIN/lesson06/client" --timeout
  [[ $status -eq 2 && $stderr == *"--timeout needs a value"* ]]
}

@test "lesson06 server: bad option values exit 2 naming the value" {
  local args
  run --separate-stderr "$BIN/lesson06/server" --idle-timeout 0 0
  [[ $status -eq 2 && $stderr == *"invalid time '0' for --idle-timeout"* ]]
  run --separate-stderr "$BIN/lesson06/server" --send 10X 0
  [[ $status -eq 2 && $stderr == *"invalid size '10X' for --send"* ]]
  run --separate-stderr "$BIN/lesson06/server" --sndbuf 2048M 0
  [[ $status -eq 2 && $stderr == *"invalid size '2048M' for --sndbuf"* ]]
  run --separate-stderr "$BIN/lesson06/server" --reuseaddr 0
  [[ $status -eq 2 && $stderr == *"unknown option '--reuseaddr'"* ]]
  run --separate-stderr "$BIN/lesson06/server" --send 1K --silent 0
  [[ $status -eq 2 && $stderr == *"--send and --silent"* ]]
  run --separate-stderr "$BIN/lesson06/server" --rcvbuf
  [[ $status -eq 2 && $stderr == *"--rcvbuf needs a value"* ]]
  [[ -z $output ]]
}

@test "lesson06 sink: bad sizes, delays and flags exit 2 naming the value" {
  run --separate-stderr "$BIN/lesson06/sink" --rcvbuf 1x 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"invalid size '1x' for --rcvbuf"* ]]
  run --separate-stderr "$BIN/lesson06/sink" --delay 0 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"invalid time '0' for --delay"* ]]
  run --separate-stderr "$BIN/lesson06/sink" --wait 1 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"unknown option '--wait'"* ]]
  [[ -z $output ]]
}

# ---- the conventions every program follows ----------------------------------

@test "lesson06 server: usage and help" { check_usage lesson06/server; }
@test "lesson06 client: usage and help" { check_usage lesson06/client; }
@test "lesson06 sink: usage and help" { check_usage lesson06/sink; }
@test "lesson06 pingpong: usage and help" { check_usage lesson06/pingpong; }
@test "lesson06 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson06/server; }
@test "lesson06 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson06/client; }
@test "lesson06 sink: bad ports exit 2 naming the value" { check_client_bad_ports lesson06/sink; }
@test "lesson06 pingpong: bad ports exit 2 naming the value" { check_client_bad_ports lesson06/pingpong; }
@test "lesson06 server: a port in use exits 1 naming the address" { check_port_in_use lesson06/server; }
@test "lesson06 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson06/server; }
@test "lesson06 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson06/server; }
@test "lesson06 client: a closed port exits 1 naming the address" { check_client_refused lesson06/client; }
@test "lesson06 sink: a closed port exits 1 naming the address" { check_client_refused lesson06/sink; }
@test "lesson06 pingpong: a closed port exits 1 naming the address" { check_client_refused lesson06/pingpong; }

@test "lesson06: server, client, sink and pingpong work over IPv6 ::1" {
  check_listens_on lesson06/server ::1 '[::1]'
  run_client lesson06/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  run_client lesson06/pingpong --rounds 2 --nodelay ::1 "$SERVER_PORT"
  [[ $status -eq 0 && $output == "2 rounds in "* ]]
  start_server lesson06/server --send 1K 0 ::1
  run_client lesson06/sink --rcvbuf 64K ::1 "$SERVER_PORT"
  [[ $status -eq 0 && ${lines[0]} == "received 1024 bytes in "* ]]
}

@test "lesson06 client: reports a server that closes without answering" {
  start_server lesson06/server --send 0 0
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" <<<"hello"
  # End of file, or a reset if "hello" reached a socket already closed.
  [[ $status -eq 1 ]]
  [[ $output == "client: 127.0.0.1:$SERVER_PORT closed the connection" ||
     $output == *"127.0.0.1:$SERVER_PORT: Connection reset by peer (ECONNRESET)" ||
     $output == *"127.0.0.1:$SERVER_PORT: Broken pipe (EPIPE)" ]]
}

