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
  [[ $stderr == *"bind 127.0.0.1:$port: Address"*" in use (EADDRINUSE)"* ]]
  no_sanitizer_report "$stderr" server
  start_server lesson06/server "$port"
  [[ $SERVER_PORT -eq $port ]]
}

@test "lesson06 SO_REUSEADDR: the old server must have set it too" {
  serve_and_stop --no-reuseaddr
  run --separate-stderr timeout 5 "$BIN/lesson06/server" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"Address"*" in use (EADDRINUSE)"* ]]
}

@test "lesson06 SO_REUSEADDR: it never lets two servers listen on one port" {
  start_server lesson06/server
  run --separate-stderr timeout 5 "$BIN/lesson06/server" "$SERVER_PORT"
  [[ $status -eq 1 && $stderr == *"bind 127.0.0.1:$SERVER_PORT: Address"*" in use (EADDRINUSE)"* ]]
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

@test "lesson06 SO_SNDTIMEO: the server drops a client that sent a lot and stopped reading, and serves the next" {
  start_server lesson06/server --idle-timeout 1 0
  # 10 MB of echo is more than both kernels' buffers hold: the server's
  # write blocks, and then so does the peer's own send. Nobody reads.
  start_background "$BATS_TEST_TMPDIR/stuck.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:10485760 hold
  wait_for_log ' connected$'
  local start=$EPOCHREALTIME
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" <<<"next"
  [[ $status -eq 0 && $output == next ]]
  elapsed_between "$start" "$EPOCHREALTIME" 0.8 5
  run grep -E 'idle|reading|connected' "$SERVER_LOG"
  [[ ${lines[0]} =~ ^127\.0\.0\.1:([0-9]+)\ connected$ ]]
  local stuck=${BASH_REMATCH[1]}
  [[ ${lines[1]} == "127.0.0.1:$stuck not reading, a write waited 1 s, closing" ]]
  [[ ${lines[2]} == "127.0.0.1:$stuck disconnected" ]]
}

@test "lesson06 SO_SNDTIMEO: with --send too, a client that never reads is dropped" {
  start_server lesson06/server --idle-timeout 0.5 --send 64M 0
  start_background "$BATS_TEST_TMPDIR/stuck.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  run_client lesson06/sink 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 && ${lines[0]} == "received 67108864 bytes in "* ]]
  grep -qx '127.0.0.1:[0-9]* not reading, a write waited 0.5 s, closing' "$SERVER_LOG"
}

@test "lesson06 SO_RCVTIMEO: a client that keeps talking is not dropped" {
  start_server lesson06/server --idle-timeout 1 0
  # Five lines, 0.3 s apart: 1.2 s in all, never 1 s of silence.
  run_client lesson06/client 127.0.0.1 "$SERVER_PORT" \
    < <(for i in 1 2 3 4 5; do echo "$i"; sleep 0.3; done)
  [[ $status -eq 0 && $output == $'1\n2\n3\n4\n5' ]]
  ! grep -q idle "$SERVER_LOG" || return 1
}

@test "lesson06 server: SIGTERM stops it while it waits on an idle client" {
  start_server lesson06/server --idle-timeout 60 0
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_for_log ' connected$'
  wait_until "the server to wait in read()" _sleeping "$SERVER_PID"
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "lesson06 server: SIGTERM stops it within a second while a client streams at it" {
  local mode
  for mode in --silent --linger0; do
    start_server lesson06/server "$mode" 0
    start_background "$BATS_TEST_TMPDIR/stream.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:100000000000
    wait_for_log ' connected$'
    local started=$EPOCHREALTIME
    stop_server TERM
    [[ $SERVER_STATUS -eq 0 ]] || { echo "$mode: status $SERVER_STATUS"; return 1; }
    elapsed_between "$started" "$EPOCHREALTIME" 0 1 || { echo "$mode"; return 1; }
    kill_background "$BACKGROUND_PID"
  done
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

# bats test_tags=slow
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
  ! ip netns list | grep -q "sockopts-.*-[0-9]" || return 1
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

# ---- command lines: getopt, long spellings, flags anywhere --------------------

@test "lesson06: flags may follow the operands, on every libc (POSIXLY_CORRECT or not)" {
  local posix
  for posix in "" 1; do
    SERVER_ENV=(${posix:+POSIXLY_CORRECT=1})
    start_server lesson06/server 0 --send 1K --sndbuf 32K
    POSIXLY_CORRECT=$posix run_client lesson06/sink 127.0.0.1 "$SERVER_PORT" --rcvbuf 32K
    [[ $status -eq 0 && ${lines[0]} == "received 1024 bytes in "* ]] || { echo "posix '$posix': $output"; return 1; }
    [[ ${lines[1]} == "SO_RCVBUF: 65536 after connect, 65536 at the end" ]]
    start_server lesson06/server 0 127.0.0.1 --silent
    POSIXLY_CORRECT=$posix run_client lesson06/client 127.0.0.1 "$SERVER_PORT" --timeout 0.2 <<<hi
    [[ $status -eq 1 && $output == *"within 0.2 s (SO_RCVTIMEO)"* ]] || { echo "posix '$posix': $output"; return 1; }
  done
}

@test "lesson06: every long flag has a getopt letter" {
  start_server lesson06/server -s 1K -O 32K 0
  run_client lesson06/sink -I 32K -d 0.1 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 && ${lines[0]} == "received 1024 bytes in "* ]]
  [[ ${lines[1]} == "SO_RCVBUF: 65536 after connect, 65536 at the end" ]]
  start_server lesson06/server -ql -t 5 -n -I 64K 0
  run_client lesson06/client -t 0.2 -k 5,1,3 127.0.0.1 "$SERVER_PORT" <<<hi
  [[ $status -eq 1 && $output == *"within 0.2 s (SO_RCVTIMEO)"* ]]
  start_server lesson06/server
  run_client lesson06/pingpong -n -o -c 2 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 && $output == "2 rounds in "* ]]
  run --separate-stderr "$BIN/lesson06/inspect" -I 64K -O 32K
  [[ $status -eq 0 && $(inspect_row "$output" SO_RCVBUF) == "131072 131072 131072 131072" ]]
}

@test "lesson06: unknown letters, -- and a value after its flag's operands" {
  run --separate-stderr "$BIN/lesson06/server" -x 0
  [[ $status -eq 2 && $stderr == *"unknown option '-x'"* && $stderr == *"usage: server "* ]]
  run --separate-stderr "$BIN/lesson06/client" 127.0.0.1 9 --timeout
  [[ $status -eq 2 && $stderr == *"--timeout needs a value"* ]]
  run --separate-stderr "$BIN/lesson06/sink" -I
  [[ $status -eq 2 && $stderr == *"--rcvbuf needs a value"* ]]
  # After --, everything is an operand.
  run --separate-stderr "$BIN/lesson06/inspect" -- --rcvbuf
  [[ $status -eq 2 && $stderr == *"unexpected argument '--rcvbuf'"* ]]
  run --separate-stderr "$BIN/lesson06/server" -- --linger0
  [[ $status -eq 2 && $stderr == *"invalid port '--linger0'"* ]]
  # The split command line has room for 32 words: more is a usage error.
  run --separate-stderr timeout 5 "$BIN/lesson06/server" $(printf -- '-q %.0s' {1..40}) 0
  [[ $status -eq 2 && $stderr == *"too many arguments"* ]]
  # -h after the operands still asks for help.
  run --separate-stderr "$BIN/lesson06/client" 127.0.0.1 9 -h
  [[ $status -eq 0 && $output == "usage: client "* ]]
}

@test "lesson06 pingpong: --rounds is a plain count (no K or M)" {
  run --separate-stderr "$BIN/lesson06/pingpong" --rounds 1K 127.0.0.1 9
  [[ $status -eq 2 && $stderr == *"invalid count '1K' for --rounds"* ]]
}

# ---- portability: options POSIX does not define --------------------------------

# build_without_linux_options: builds inspect and client into $BATS_TEST_TMPDIR
# against headers that lack SO_REUSEPORT, IP_TTL and the TCP_KEEP* timers, as
# a BSD's may: each wrapper includes the real header, then forgets them.
build_without_linux_options() {
  local inc=$BATS_TEST_TMPDIR/inc p
  mkdir -p "$inc/netinet" "$inc/sys"
  printf '#include_next <netinet/tcp.h>\n#undef TCP_KEEPIDLE\n#undef TCP_KEEPINTVL\n#undef TCP_KEEPCNT\n' \
    >"$inc/netinet/tcp.h"
  printf '#include_next <netinet/in.h>\n#undef IP_TTL\n' >"$inc/netinet/in.h"
  printf '#include_next <sys/socket.h>\n#undef SO_REUSEPORT\n' >"$inc/sys/socket.h"
  for p in inspect client; do
    "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -isystem "$inc" -I"$SOCKLAB_ROOT/common" \
      -o "$BATS_TEST_TMPDIR/$p" "$SOCKLAB_ROOT/lessons/06-sockopts/$p.c" "$SOCKLAB_ROOT"/common/*.c -pthread ||
      return 1
  done
}

@test "lesson06: without the Linux-only options it still builds, and says what is missing" {
  build_without_linux_options
  run --separate-stderr "$BATS_TEST_TMPDIR/inspect"
  [[ $status -eq 0 && -z $stderr ]]
  local o
  for o in SO_REUSEPORT TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT IP_TTL; do
    [[ $(inspect_row "$output" "$o") == "(not on this system)" ]] || { echo "$o: $(inspect_row "$output" "$o")"; return 1; }
  done
  [[ $(inspect_row "$output" SO_KEEPALIVE) == "off off off off" ]]
  start_server lesson06/server --silent 0
  run --separate-stderr timeout 10 "$BATS_TEST_TMPDIR/client" --keepalive 5,1,3 --timeout 0.2 \
    127.0.0.1 "$SERVER_PORT" <<<hello
  [[ $status -eq 1 ]]
  [[ ${stderr_lines[0]} == "client: no TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT here: keepalive on, with the system's timers" ]]
  [[ ${stderr_lines[1]} == *"within 0.2 s (SO_RCVTIMEO), giving up" ]]
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

@test "lesson06 client: Ctrl-C keeps its default action: the client dies by SIGINT (status 130)" {
  start_server lesson06/server --silent 0
  # A background job of a script starts with SIGINT ignored; env gives the
  # client the default action a terminal's foreground job has.
  start_background "$BATS_TEST_TMPDIR/client.out" bash -c \
    'exec env --default-signal=INT "$0" 127.0.0.1 "$1" <<<hello' "$BIN/lesson06/client" "$SERVER_PORT"
  local watchdog=$BACKGROUND_PID pid
  wait_until "the client to start" eval 'pid=$(pgrep -P "$watchdog")'
  wait_for_log ' connected$'
  wait_until "the client to wait for its reply" _sleeping "$pid"
  # Neither caught nor ignored: bit 2 (SIGINT) is clear in both masks
  # (qemu-user catches every signal itself, on the program's behalf).
  local mask
  [[ -n ${SOCKLAB_EMULATED:-} ]] ||
  for mask in SigCgt SigIgn; do
    (( (0x$(awk -v m="$mask:" '$1 == m { print $2 }' "/proc/$pid/status") & 2) == 0 )) ||
      { echo "SIGINT is in the client's $mask"; return 1; }
  done
  kill -INT "$pid"
  local status=0
  wait "$watchdog" || status=$?
  [[ $status -eq 130 ]] || { echo "status $status"; cat "$BATS_TEST_TMPDIR/client.out"; return 1; }
}

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

