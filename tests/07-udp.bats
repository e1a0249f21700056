# Lesson 07: UDP. The echo server, the request/response client, the probe
# and the lossy relay.
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
# shellcheck disable=SC2153  # CLIENT_OUT and friends are set in 07-udp.bash
# shellcheck disable=SC2016  # bash -c programs in single quotes
load helpers
load 07-udp

teardown() {
  local failed=0
  netns_cleanup
  socklab_teardown || failed=1
  return "$failed"
}

# ---- The echo server and the client ------------------------------------------

@test "lesson07: each line comes back in order, and the client exits 0 at end of input" {
  start_udp_server
  udp_client 127.0.0.1 "$UDP_PORT" <<<$'hello\n\nworld'
  [[ $CLIENT_STATUS -eq 0 ]]
  [[ $(cat "$CLIENT_OUT") == $'hello\n\nworld' ]]
  [[ ! -s $CLIENT_ERR ]]
  # The server logs the client once, however many datagrams it sent.
  wait_for_log '^127\.0\.0\.1:[0-9]+: first datagram, 7 bytes$'
  stop_server
  grep -q '^served 3 datagrams from 1 clients$' "$UDP_LOG"
}

@test "lesson07: works over IPv6 ::1" {
  check_listens_on lesson07/server ::1 '[::1]'
  UDP_PORT=$SERVER_PORT
  udp_client ::1 "$UDP_PORT" <<<"over IPv6"
  [[ $CLIENT_STATUS -eq 0 && $(cat "$CLIENT_OUT") == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+: first datagram'
}

@test "lesson07: empty input: the client exits 0 at once and sends nothing" {
  start_udp_server
  udp_client 127.0.0.1 "$UDP_PORT" </dev/null
  [[ $CLIENT_STATUS -eq 0 && ! -s $CLIENT_OUT ]]
  stop_server
  grep -q '^served 0 datagrams' "$UDP_LOG"
}

# ---- Boundaries ---------------------------------------------------------------

@test "lesson07: one sendto is one recvfrom, whatever the sizes" {
  start_udp_server
  run_client lesson07/probe 127.0.0.1 "$UDP_PORT" 1 1000 0 3 1400
  [[ $status -eq 0 ]]
  local from="from 127.0.0.1:$UDP_PORT"
  [[ ${lines[5]} == "received 1 bytes $from" && ${lines[6]} == "received 1000 bytes $from" &&
     ${lines[7]} == "received 0 bytes $from" && ${lines[8]} == "received 3 bytes $from" &&
     ${lines[9]} == "received 1400 bytes $from" ]]
}

@test "lesson07: lesson 02's byte stream on the same input keeps no boundaries" {
  start_server lesson02/server
  run_client lesson07/probe --tcp 127.0.0.1 "$SERVER_PORT" 1 1000 3 1400
  [[ $status -eq 0 ]]
  [[ ${lines[4]} == "read 2404 bytes in one read()" ]]
}

@test "lesson07: a zero-length datagram is a message, not end of file" {
  start_udp_server
  run_client lesson07/probe 127.0.0.1 "$UDP_PORT" 0 0
  [[ $status -eq 0 ]]
  [[ $(grep -c '^received 0 bytes from ' <<<"$output") -eq 2 ]]
  # And the server goes on serving the same client and others.
  run_client lesson07/probe 127.0.0.1 "$UDP_PORT" 5
  [[ $status -eq 0 && ${lines[1]} == "received 5 bytes from 127.0.0.1:$UDP_PORT" ]]
  kill -0 "$SERVER_PID"
}

@test "lesson07: the largest IPv4 payload (65,507 bytes) round-trips, one more is EMSGSIZE" {
  start_udp_server
  run_client lesson07/probe 127.0.0.1 "$UDP_PORT" 65507
  [[ $status -eq 0 && ${lines[1]} == "received 65507 bytes from 127.0.0.1:$UDP_PORT" ]]
  run --separate-stderr timeout 5 "$BIN/lesson07/probe" 127.0.0.1 "$UDP_PORT" 65508
  [[ $status -eq 1 ]]
  # EMSGSIZE: "Message too long" in glibc, "Message too large" in musl.
  [[ $stderr =~ ^"probe: sendto 127.0.0.1:$UDP_PORT (65508 bytes): Message too "(long|large) ]]
}

@test "lesson07: the largest IPv6 payload (65,527 bytes) round-trips, one more is EMSGSIZE" {
  start_udp_server 0 ::1
  run_client lesson07/probe ::1 "$UDP_PORT" 65527
  [[ $status -eq 0 && ${lines[1]} == "received 65527 bytes from [::1]:$UDP_PORT" ]]
  run --separate-stderr timeout 5 "$BIN/lesson07/probe" ::1 "$UDP_PORT" 65528
  [[ $status -eq 1 && $stderr =~ "(65528 bytes): Message too "(long|large) ]]
}

@test "lesson07 client: a line too long for one datagram is an error naming the request" {
  start_udp_server
  head -c 70000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/long"
  udp_client 127.0.0.1 "$UDP_PORT" <"$BATS_TEST_TMPDIR/long"
  [[ $CLIENT_STATUS -eq 1 ]]
  grep -qE "^client: request 1 \(70002 bytes\): send 127.0.0.1:$UDP_PORT: Message too (long|large)" "$CLIENT_ERR"
}

# ---- Truncation -----------------------------------------------------------------

@test "lesson07: a buffer smaller than the datagram loses the rest, and MSG_TRUNC says so" {
  start_udp_server
  run_client lesson07/probe --buffer 10 127.0.0.1 "$UDP_PORT" 100 10
  [[ $status -eq 0 ]]
  [[ ${lines[2]} == "received 10 of 100 bytes from 127.0.0.1:$UDP_PORT: truncated (MSG_TRUNC)" ]]
  # A datagram that fits exactly is not truncated.
  [[ ${lines[3]} == "received 10 bytes from 127.0.0.1:$UDP_PORT" ]]
}

# ---- Who answered ------------------------------------------------------------------

_has_port() { [[ $(socket_port "$1") =~ ^[1-9][0-9]*$ ]]; }

# forged_reply_setup [CLIENT FLAGS...]: the client asks through a relay that is
# stopped (SIGSTOP), so the real reply waits; a stranger sends the reply the
# client expects from another socket; then the relay goes on.
forged_reply_setup() {
  start_udp_server
  start_relay
  kill -STOP "$RELAY_PID"
  echo one >"$BATS_TEST_TMPDIR/in"
  start_with_input "$BATS_TEST_TMPDIR/client.out" "$BATS_TEST_TMPDIR/in" \
    "$BIN/lesson07/client" --timeout 30 --tries 1 "$@" 127.0.0.1 "$RELAY_PORT"
  wait_until "the client's socket to have a port" _has_port "$CLIENT_PID"
  CLIENT_PORT=$(socket_port "$CLIENT_PID")
}

@test "lesson07 client: a forged reply from another socket is logged and ignored" {
  forged_reply_setup
  # The right sequence number and text, from the wrong address.
  printf '1 forged' >"/dev/udp/127.0.0.1/$CLIENT_PORT"
  wait_until "the client to ignore the stranger" \
    grep -qs "^client: ignoring 8 bytes from 127.0.0.1:[0-9]*: not the server$" "$BATS_TEST_TMPDIR/client.out"
  kill -CONT "$RELAY_PID"
  wait_until "the client to finish" _gone "$CLIENT_PID"
  [[ $(grep -v '^client: ' "$BATS_TEST_TMPDIR/client.out") == one ]]
}

@test "lesson07 client --connect: the kernel drops the stranger's datagram and refuses it" {
  forged_reply_setup --connect
  # bash's /dev/udp socket is connected too: the port unreachable that the
  # client's kernel answers with comes back to it as ECONNREFUSED.
  exec 7>"/dev/udp/127.0.0.1/$CLIENT_PORT"
  wait_until "the stranger to be refused" _refused 7
  exec 7>&-
  kill -CONT "$RELAY_PID"
  wait_until "the client to finish" _gone "$CLIENT_PID"
  [[ $(cat "$BATS_TEST_TMPDIR/client.out") == one ]]
}

_refused() { ! printf '1 forged' 2>/dev/null 1>&"$1"; }

# ---- Connected UDP and ICMP port unreachable ------------------------------------------

@test "lesson07 client --connect: a closed port is ECONNREFUSED at once" {
  unused_udp_port
  local started=$EPOCHREALTIME
  udp_client --connect --timeout 5 127.0.0.1 "$UNUSED_PORT" <<<"anyone?"
  [[ $CLIENT_STATUS -eq 1 ]]
  grep -q "^client: recv 127.0.0.1:$UNUSED_PORT: Connection refused (ECONNREFUSED)$" "$CLIENT_ERR"
  # Long before the first try's 5 s were up.
  within "$(seconds_since "$started")" 0 2
}

@test "lesson07 client: unconnected, it never hears the refusal and gives up after its tries" {
  unused_udp_port
  udp_client --timeout 0.1 --tries 2 127.0.0.1 "$UNUSED_PORT" <<<"anyone?"
  [[ $CLIENT_STATUS -eq 1 ]]
  run ! grep -q 'ECONNREFUSED' "$CLIENT_ERR"
  grep -q "^client: request 1: no reply from 127.0.0.1:$UNUSED_PORT after 2 tries in " "$CLIENT_ERR"
}

@test "lesson07 probe: the same, a datagram to a closed port: refused when connected, silence otherwise" {
  unused_udp_port
  run --separate-stderr timeout 5 "$BIN/lesson07/probe" --connect 127.0.0.1 "$UNUSED_PORT" 5
  [[ $status -eq 1 && $stderr == *"recv 127.0.0.1:$UNUSED_PORT: Connection refused (ECONNREFUSED)"* ]]
  run --separate-stderr timeout 5 "$BIN/lesson07/probe" --wait 0.2 127.0.0.1 "$UNUSED_PORT" 5
  [[ $status -eq 1 && $output == *"no reply to 1 of 1 datagrams within 200 ms"* && -z $stderr ]]
}

# ---- Loss, duplicates, reordering: the relay ------------------------------------------

@test "lesson07: every request completes, in order, through 30% loss each way (seeded)" {
  start_udp_server
  start_relay --loss 30 --seed 2
  seq 1 20 >"$BATS_TEST_TMPDIR/in"
  udp_client --timeout 0.02 --tries 10 127.0.0.1 "$RELAY_PORT" <"$BATS_TEST_TMPDIR/in"
  [[ $CLIENT_STATUS -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/in" "$CLIENT_OUT"
  # The loss was real, both ways, and the client did retry.
  grep -q 'to the server, [0-9]* bytes: dropped' "$RELAY_LOG"
  grep -q 'to the client, [0-9]* bytes: dropped' "$RELAY_LOG"
  grep -q 'sending it again (try 2 of 10)' "$CLIENT_ERR"
}

@test "lesson07 relay: the same seed and traffic lose the same datagrams" {
  start_udp_server
  local run total=() shared
  for run in 1 2; do
    start_relay --loss 30 --seed 11
    seq 1 10 | udp_client --timeout 0.02 --tries 10 127.0.0.1 "$RELAY_PORT"
    [[ $CLIENT_STATUS -eq 0 ]]
    stop_server
    total+=("$(sed -n 's/^relayed \([0-9]*\) datagrams.*/\1/p' "$RELAY_LOG")")
    cp "$RELAY_LOG" "$BATS_TEST_TMPDIR/relay.$run"
  done
  # A reply slower than the client's 20 ms (a busy machine) makes it send
  # again: the traffic, and so the fates, differ from there on. Up to the
  # shorter run's last datagram, each one numbered N met the same fate.
  shared=$((total[0] < total[1] ? total[0] : total[1]))
  for run in 1 2; do
    awk -v last="$shared" '/: dropped$/ { n = substr($1, 2) + 0; if (n <= last) print n }' \
      "$BATS_TEST_TMPDIR/relay.$run" >"$BATS_TEST_TMPDIR/drops.$run"
  done
  [[ -s $BATS_TEST_TMPDIR/drops.1 ]]
  cmp "$BATS_TEST_TMPDIR/drops.1" "$BATS_TEST_TMPDIR/drops.2"
}

@test "lesson07: duplicated replies are discarded, never matched to the next request" {
  start_udp_server
  start_relay --dup 100
  seq 1 10 >"$BATS_TEST_TMPDIR/in"
  udp_client --timeout 1 127.0.0.1 "$RELAY_PORT" <"$BATS_TEST_TMPDIR/in"
  [[ $CLIENT_STATUS -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/in" "$CLIENT_OUT"
  grep -q '^client: ignoring a late reply to request 1$' "$CLIENT_ERR"
}

@test "lesson07: late replies (reordered, and after a retry) are matched to their own request" {
  start_udp_server
  # A held-back datagram waits 50 ms; the client retries after 20 to 30 ms,
  # so replies to earlier tries and requests keep arriving late.
  start_relay --reorder 50 --dup 20 --seed 3
  seq 1 20 >"$BATS_TEST_TMPDIR/in"
  udp_client --timeout 0.03 --tries 10 127.0.0.1 "$RELAY_PORT" <"$BATS_TEST_TMPDIR/in"
  [[ $CLIENT_STATUS -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/in" "$CLIENT_OUT"
  grep -q 'held back$' "$RELAY_LOG"
  grep -q '^client: ignoring a late reply to request ' "$CLIENT_ERR"
}

@test "lesson07: at 100% loss the client fails cleanly within its stated time" {
  start_udp_server
  start_relay --loss 100
  local started=$EPOCHREALTIME took
  # Waits of 0.2, 0.4 and 0.8 s at most, less up to a quarter each: 1.05 to 1.4 s.
  udp_client --timeout 0.2 --tries 3 127.0.0.1 "$RELAY_PORT" <<<$'lost\nnever sent'
  took=$(seconds_since "$started")
  [[ $CLIENT_STATUS -eq 1 && ! -s $CLIENT_OUT ]]
  within "$took" 1.05 2.0
  grep -q "^client: request 1: no reply from 127.0.0.1:$RELAY_PORT after 3 tries in 1\.[0-4] s$" "$CLIENT_ERR"
  # The second line is never sent: three datagrams reached the relay.
  stop_server
  grep -q '^relayed 3 datagrams: 3 dropped' "$RELAY_LOG"
}

@test "lesson07 client: each wait doubles (exponential backoff), less a random quarter (jitter)" {
  start_udp_server
  start_relay --loss 100
  local run waits=()
  for run in 1 2 3; do
    udp_client --timeout 0.04 --tries 4 127.0.0.1 "$RELAY_PORT" <<<"x"
    [[ $CLIENT_STATUS -eq 1 ]]
    mapfile -t waits < <(sed -n 's/.*no reply within \([0-9.]*\) s.*/\1/p' "$CLIENT_ERR")
    [[ ${#waits[@]} -eq 3 ]]
    within "${waits[0]}" 0.030 0.04
    within "${waits[1]}" 0.060 0.08
    within "${waits[2]}" 0.120 0.16
    cat "$CLIENT_ERR" >>"$BATS_TEST_TMPDIR/all.err"
  done
  # Three clients that lose the same replies do not retry in step.
  (($(sed -n 's/.*no reply within \([0-9.]*\) s.*/\1/p' "$BATS_TEST_TMPDIR/all.err" | sort -u | wc -l) > 3))
}

@test "lesson07 client --adaptive: after the first reply, the wait follows the measured round trip" {
  start_udp_server
  start_relay --loss 30 --seed 4
  seq 1 20 >"$BATS_TEST_TMPDIR/in"
  # A first wait of 1 s would make each loss cost a second; on loopback the
  # round trip is well under a millisecond, so the waits drop to the floor.
  udp_client --adaptive --timeout 1 --tries 10 127.0.0.1 "$RELAY_PORT" <"$BATS_TEST_TMPDIR/in"
  [[ $CLIENT_STATUS -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/in" "$CLIENT_OUT"
  local waits
  # The first wait of each request after the first one (the wait before
  # "try 2"): later waits double from it.
  waits=$(sed -n 's/.*request \([2-9]\|[0-9][0-9]\): no reply within \([0-9.]*\) s.*try 2 of.*/\2/p' "$CLIENT_ERR")
  [[ -n $waits ]]
  # Near the 20 ms floor: nothing near the 1 s of --timeout.
  awk '$1 > 0.1 { print "a first wait of " $1 " s"; bad = 1 } END { exit bad }' <<<"$waits"
}

# ---- Broadcast ------------------------------------------------------------------------

@test "lesson07: without SO_BROADCAST, sendto a broadcast address fails with EACCES" {
  start_udp_server 0 0.0.0.0
  run --separate-stderr timeout 5 "$BIN/lesson07/probe" 127.255.255.255 "$UDP_PORT" 5
  [[ $status -eq 1 ]]
  [[ $stderr == "probe: sendto 127.255.255.255:$UDP_PORT (5 bytes): Permission denied (EACCES)" ]]
  # With it, the server (bound to the wildcard address) hears it and answers
  # from its own address.
  run_client lesson07/probe --broadcast --wait 0.3 127.255.255.255 "$UDP_PORT" 5
  [[ $status -eq 0 && ${lines[1]} == "received 5 bytes from 127.0.0.1:$UDP_PORT" ]]
}

# bats test_tags=slow
@test "lesson07: a broadcast reaches every server on the segment (namespaces on a bridge)" {
  can_use_netns || skip "needs root and network namespaces (ip netns)"
  make_hub "sl07-hub-$$" "sl07-a-$$" "sl07-b-$$" "sl07-c-$$"
  ns_server "sl07-b-$$" "$BATS_TEST_TMPDIR/b.log" 0 0.0.0.0
  local port=$NS_PORT
  ns_server "sl07-c-$$" "$BATS_TEST_TMPDIR/c.log" "$port" 0.0.0.0
  run timeout 10 ip netns exec "sl07-a-$$" "$BIN/lesson07/probe" --broadcast --wait 0.5 \
    10.78.0.255 "$port" 7
  printf '%s\n' "$output"
  [[ $status -eq 0 ]]
  [[ $output == *"received 7 bytes from 10.78.0.3:$port"* ]]
  [[ $output == *"received 7 bytes from 10.78.0.4:$port"* ]]
  run timeout 10 ip netns exec "sl07-a-$$" "$BIN/lesson07/probe" 10.78.0.255 "$port" 7
  [[ $status -eq 1 && $output == *"Permission denied (EACCES)"* ]]
}

# ---- Loss in a real network: nftables in namespaces ------------------------------------------

# bats test_tags=slow
@test "lesson07: every request completes through 30% loss made by nftables (namespaces)" {
  can_use_netns || skip "needs root and network namespaces (ip netns)"
  command -v nft >/dev/null || skip "needs nft (Debian package nftables)"
  make_pair "sl07-cli-$$" "sl07-srv-$$"
  ns_server "sl07-srv-$$" "$BATS_TEST_TMPDIR/srv.log" 0 10.77.0.2
  local port=$NS_PORT ns=sl07-srv-$$
  # Random drops of the UDP datagrams each way, at the server's end.
  ip netns exec "$ns" nft -f - <<EOF
table inet sl07 {
  chain in { type filter hook input priority 0; udp dport $port numgen random mod 100 < 30 drop; }
  chain out { type filter hook output priority 0; udp sport $port numgen random mod 100 < 30 drop; }
}
EOF
  seq 1 20 >"$BATS_TEST_TMPDIR/in"
  run timeout 60 ip netns exec "sl07-cli-$$" "$BIN/lesson07/client" --timeout 0.05 --tries 20 \
    10.77.0.2 "$port" <"$BATS_TEST_TMPDIR/in"
  [[ $status -eq 0 ]]
  [[ $(grep -v '^client: ' <<<"$output") == "$(cat "$BATS_TEST_TMPDIR/in")" ]]
  # nftables did drop some: its counters are not needed, the retries show it.
  [[ $output == *"sending it again"* ]]
}

# ---- One socket, every client ---------------------------------------------------------

@test "lesson07: one process and one thread serve many clients at once" {
  start_udp_server
  local k pids=()
  for k in 1 2 3 4 5; do
    seq "${k}00" "${k}20" >"$BATS_TEST_TMPDIR/in.$k"
    timeout -s KILL "$DEADLINE" "$BIN/lesson07/client" 127.0.0.1 "$UDP_PORT" \
      <"$BATS_TEST_TMPDIR/in.$k" >"$BATS_TEST_TMPDIR/out.$k" 2>&1 &
    pids+=("$!")
  done
  for k in 1 2 3 4 5; do
    wait "${pids[k - 1]}"
    cmp "$BATS_TEST_TMPDIR/in.$k" "$BATS_TEST_TMPDIR/out.$k"
  done
  wait_for_log 'first datagram' 5
  local threads=("/proc/$SERVER_PID/task/"*)
  # qemu-user runs threads of its own beside the program's.
  [[ ${#threads[@]} -eq 1 || -n ${SOCKLAB_EMULATED:-} ]]
  [[ -z $(pgrep -P "$SERVER_PID") ]]
}

@test "lesson07: a peer that floods, sends huge and empty datagrams does not stop the others" {
  start_udp_server
  start_background "$BATS_TEST_TMPDIR/flood.out" bash -c '
    for ((i = 0; i < 100000; i++)); do printf x; done >"/dev/udp/127.0.0.1/$1"' flood "$UDP_PORT"
  # Huge and empty datagrams, while the flood goes on. Their echoes may be
  # lost (the flood fills the receive buffers): only a client that retries
  # is sure to be served.
  run_client lesson07/probe --wait 0.2 127.0.0.1 "$UDP_PORT" 65507 0 65507 0
  [[ $output == *"sent 65507 bytes"* ]]
  seq 1 20 >"$BATS_TEST_TMPDIR/in"
  udp_client --timeout 0.2 --tries 10 127.0.0.1 "$UDP_PORT" <"$BATS_TEST_TMPDIR/in"
  [[ $CLIENT_STATUS -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/in" "$CLIENT_OUT"
  kill -0 "$SERVER_PID"
}

@test "lesson07 server: new clients are logged at most 5 a second (forged sources cannot fill the log)" {
  start_udp_server
  local i fd fds=()
  # Each descriptor is a new socket, so a new port: 40 "clients". All stay open
  # until the probe has sent too, so the kernel cannot hand the same port out twice.
  for ((i = 0; i < 40; i++)); do
    exec {fd}>"/dev/udp/127.0.0.1/$UDP_PORT"
    printf x >&"$fd"
    fds+=("$fd")
  done
  run_client lesson07/probe 127.0.0.1 "$UDP_PORT" 1
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  stop_server
  [[ $(grep -c 'first datagram' "$UDP_LOG") -le 15 ]]
  grep -q '^served 41 datagrams from 41 clients$' "$UDP_LOG"
}

# ---- Stop under load ----------------------------------------------------------------------

@test "lesson07 server: SIGTERM stops it within 1 s while datagrams stream at it, stdout a pipe nobody reads" {
  unused_udp_port
  check_udp_stop_under_load "$UNUSED_PORT" lesson07/server "$UNUSED_PORT"
}

@test "lesson07 relay: SIGTERM stops it within 1 s while datagrams stream at it, stdout a pipe nobody reads" {
  start_udp_server
  unused_udp_port
  UDP_LOG_FILLS=1 check_udp_stop_under_load "$UNUSED_PORT" lesson07/relay --loss 10 "$UNUSED_PORT" 127.0.0.1 "$UDP_PORT"
}

# ---- Foreign clients -----------------------------------------------------------------------

@test "lesson07: bash's /dev/udp and a few lines of Python talk to the server" {
  start_udp_server
  exec 6<>"/dev/udp/127.0.0.1/$UDP_PORT"
  printf 'from bash' >&6
  local reply
  IFS= read -r -t 5 -N 9 reply <&6
  exec 6>&-
  [[ $reply == "from bash" ]]
  command -v python3 >/dev/null || skip "python3 is not installed"
  run timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"from python", ("127.0.0.1", int(sys.argv[1])))
data, addr = s.recvfrom(65536)
print(data.decode(), addr[1])' "$UDP_PORT"
  [[ $status -eq 0 && $output == "from python $UDP_PORT" ]]
}

@test "lesson07: nc -u and socat talk to the server" {
  start_udp_server
  command -v nc >/dev/null || skip "nc is not installed (Debian package netcat-openbsd)"
  # No newline sent: run would hide a missing last byte.
  run bash -c 'printf "from nc" | timeout 5 nc -u -w 1 127.0.0.1 "$1"' nc "$UDP_PORT"
  [[ $output == "from nc" ]]
  command -v socat >/dev/null || skip "socat is not installed (Debian package socat)"
  run bash -c 'printf "from socat" | timeout 5 socat -T 1 - "UDP:127.0.0.1:$1"' socat "$UDP_PORT"
  [[ $output == "from socat" ]]
}

# ---- The myth: "UDP is faster" ---------------------------------------------------------------

@test "lesson07: ping-pong latency over UDP and over lesson 02's TCP, printed side by side" {
  start_udp_server
  run_client lesson07/probe --rounds 2000 127.0.0.1 "$UDP_PORT" 64
  [[ $status -eq 0 && $output == "2000 rounds of 64 bytes over UDP: median "*" us, fastest "*" us" ]]
  local udp=$output
  start_server lesson02/server
  run_client lesson07/probe --tcp --rounds 2000 127.0.0.1 "$SERVER_PORT" 64
  [[ $status -eq 0 && $output == "2000 rounds of 64 bytes over TCP: median "* ]]
  # Shown with `bats --show-output-of-passing-tests`: the numbers, not a verdict.
  printf '%s\n%s\n' "$udp" "$output"
}

# ---- Conventions ---------------------------------------------------------------------------------

@test "lesson07 server: usage and help" { check_usage lesson07/server; }
@test "lesson07 client: usage and help" { check_usage lesson07/client; }
@test "lesson07 probe: usage and help" { check_usage lesson07/probe; }
@test "lesson07 relay: usage and help" { check_usage lesson07/relay; }
@test "lesson07 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson07/server; }
@test "lesson07 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson07/client; }
@test "lesson07 probe: bad ports exit 2 naming the value" { check_client_bad_ports lesson07/probe; }
@test "lesson07 server: a port in use exits 1 naming the address" { check_port_in_use lesson07/server; }
@test "lesson07 server: restarts on the same port at once, without SO_REUSEADDR (UDP has no TIME_WAIT)" {
  start_udp_server
  local port=$UDP_PORT
  run_client lesson07/probe 127.0.0.1 "$port" 5
  stop_server
  start_udp_server "$port"
  [[ $UDP_PORT -eq $port ]]
}

@test "lesson07 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson07/server; }
@test "lesson07 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson07/server; }

@test "lesson07 relay: SIGTERM stops it with status 0 and a summary" {
  start_udp_server
  start_relay --loss 50
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  grep -q '^relayed 0 datagrams: 0 dropped, 0 sent twice, 0 held back$' "$RELAY_LOG"
}

@test "lesson07: bad flag values exit 2 naming the value" {
  local v
  for v in 0 abc -1 1.2345 61 ""; do
    run --separate-stderr "$BIN/lesson07/client" --timeout "$v" 127.0.0.1 9 </dev/null
    [[ $status -eq 2 && $stderr == *"invalid time '$v' for --timeout"* ]] ||
      { echo "--timeout '$v': $status $stderr"; return 1; }
  done
  for v in 0 101 x ""; do
    run --separate-stderr "$BIN/lesson07/client" --tries "$v" 127.0.0.1 9 </dev/null
    [[ $status -eq 2 && $stderr == *"invalid value '$v' for --tries"* ]] ||
      { echo "--tries '$v': $status $stderr"; return 1; }
  done
  for v in 101 x -5 ""; do
    run --separate-stderr "$BIN/lesson07/relay" --loss "$v" 0 127.0.0.1 9
    [[ $status -eq 2 && $stderr == *"invalid value '$v' for --loss"* ]] ||
      { echo "--loss '$v': $status $stderr"; return 1; }
  done
  run --separate-stderr "$BIN/lesson07/probe" 127.0.0.1 9 12x
  [[ $status -eq 2 && $stderr == *"invalid value '12x' for SIZE"* ]]
  run --separate-stderr "$BIN/lesson07/probe" --buffer 0 127.0.0.1 9 1
  [[ $status -eq 2 && $stderr == *"invalid value '0' for --buffer"* ]]
  run --separate-stderr "$BIN/lesson07/client" --retries 3 127.0.0.1 9 </dev/null
  [[ $status -eq 2 && $stderr == *"unknown option '--retries'"* ]]
}

@test "lesson07 client: Ctrl-C (SIGINT) ends it at once by the signal (status 130 in a shell)" {
  start_udp_server
  start_relay --loss 100
  echo x >"$BATS_TEST_TMPDIR/in"
  # A shell starts background jobs with SIGINT ignored; a terminal would not.
  start_with_input "$BATS_TEST_TMPDIR/c.out" "$BATS_TEST_TMPDIR/in" \
    env --default-signal=INT "$BIN/lesson07/client" --timeout 30 127.0.0.1 "$RELAY_PORT"
  wait_until "the client to wait for a reply" _log_has_in "$RELAY_LOG" "relayed|dropped"
  wait_until "the client to sleep in poll()" _sleeping "$CLIENT_PID"
  kill -INT "$CLIENT_PID"
  local status=0
  wait "$BACKGROUND_PID" || status=$?
  # timeout dies of the signal its command died of: 128 + 2.
  [[ $status -eq 130 ]]
  [[ ! -s $BATS_TEST_TMPDIR/c.out ]]
}

