# 07-udp.bash - helpers for tests/07-udp.bats (`load 07-udp`).
# shellcheck disable=SC2154,SC2034  # SERVER_LOG and friends come from helpers.bash; the
# variables set here are read by tests/07-udp.bats

# start_udp_server [ARGS...]: lesson07/server; sets UDP_PORT as well.
start_udp_server() {
  start_server lesson07/server "$@"
  UDP_PORT=$SERVER_PORT
  UDP_LOG=$SERVER_LOG
}

# start_relay FLAGS...: lesson07/relay between 127.0.0.1:(any port) and the
# UDP server; sets RELAY_PORT, RELAY_PID and RELAY_LOG.
start_relay() {
  start_server lesson07/relay "$@" 0 127.0.0.1 "$UDP_PORT"
  RELAY_PORT=$SERVER_PORT
  RELAY_PID=$SERVER_PID
  RELAY_LOG=$SERVER_LOG
}

# unused_udp_port: sets UNUSED_PORT to a UDP port nobody has open, one the
# kernel just gave a server that has stopped.
unused_udp_port() {
  start_server lesson07/server
  UNUSED_PORT=$SERVER_PORT
  stop_server
}

# udp_client ARGS...: lesson07/client under a deadline, its output and
# status in CLIENT_OUT, CLIENT_ERR and CLIENT_STATUS (input: the caller's).
udp_client() {
  CLIENT_OUT=$BATS_TEST_TMPDIR/client.out
  CLIENT_ERR=$BATS_TEST_TMPDIR/client.err
  CLIENT_STATUS=0
  timeout -s KILL "$DEADLINE" "$BIN/lesson07/client" "$@" \
    >"$CLIENT_OUT" 2>"$CLIENT_ERR" || CLIENT_STATUS=$?
  no_sanitizer_report "$(cat "$CLIENT_ERR")" lesson07/client
}

# start_with_input OUT IN COMMAND...: start_background with standard input
# from the file IN (a shell gives background jobs /dev/null); sets CLIENT_PID
# to the command's process id.
start_with_input() {
  local out=$1 in=$2; shift 2
  # shellcheck disable=SC2016  # expanded by the inner bash
  start_background "$out" bash -c 'f=$1; shift; exec "$@" <"$f"' input "$in" "$@"
  wait_until "the command to start" _child_exec "$BACKGROUND_PID" "$1"
  CLIENT_PID=$(pgrep -P "$BACKGROUND_PID" | head -n 1)
}

# _child_exec PID PROGRAM: the child of PID runs PROGRAM (bash has exec'd it).
_child_exec() {
  local child
  child=$(pgrep -P "$1" | head -n 1) && [[ -n $child ]] || return 1
  [[ $(readlink "/proc/$child/exe") != */bash ]]
}

# _log_has_in FILE PATTERN: FILE has a line matching PATTERN.
_log_has_in() { grep -qsE -- "$2" "$1"; }

# socket_port PID: the local port of the UDP socket process PID has open.
socket_port() {
  ss -Huanp | awk -v p="pid=$1," 'index($0, p) { n = split($4, a, ":"); print a[n]; exit }'
}

# seconds_since START: EPOCHREALTIME minus START, in seconds.
seconds_since() {
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}

# within VALUE LO HI: LO <= VALUE <= HI, or a message.
within() {
  awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { if (v >= lo && v <= hi) exit 0
    printf "%s is not within %s..%s\n", v, lo, hi; exit 1 }'
}

# check_udp_stop_under_load PORT PROGRAM ARGS...: PROGRAM, a UDP server that
# will listen on PORT, with its standard output a pipe nobody reads, gets
# datagrams streamed at it from one socket and from a new socket each time
# (new clients for its log); SIGTERM then stops it, with status 0, within 1 s.
# With UDP_LOG_FILLS set, SIGTERM waits until its log has filled the pipe.
check_udp_stop_under_load() {
  local port=$1 prog=$2 fifo=$BATS_TEST_TMPDIR/fifo started server status=0; shift 2
  mkfifo "$fifo"
  _bare timeout -s KILL "$WATCHDOG" sleep 600 <>"$fifo" &    # holds the pipe, never reads
  _background+=("$!")
  _bare timeout -s KILL "$WATCHDOG" "$BIN/$prog" "$@" >"$fifo" 2>&1 &
  server=$!
  _servers+=("$server")
  wait_until "$prog to bind port $port" _udp_bound "$port"
  # shellcheck disable=SC2016  # expanded by the inner bash
  start_background /dev/null bash -c 'while :; do printf x; done >"/dev/udp/127.0.0.1/$1"' s "$port"
  # shellcheck disable=SC2016
  start_background /dev/null bash -c 'while :; do printf y >"/dev/udp/127.0.0.1/$1"; done' s "$port"
  wait_until "datagrams to queue up at $prog" _udp_queued "$port"
  # A program that logs every datagram fills the pipe: it is stopped then.
  if [[ -n ${UDP_LOG_FILLS-} ]]; then
    wait_until "$prog's log to fill the pipe" _pipe_full "$fifo"
  fi
  started=$EPOCHREALTIME
  kill -TERM "$(pgrep -P "$server" | head -n 1)"
  wait_until "$prog to exit after SIGTERM" _gone "$server"
  wait "$server" || status=$?
  [[ $status -eq 0 ]] || { echo "$prog exited with status $status"; return 1; }
  within "$(seconds_since "$started")" 0 1
}

# _pipe_full FIFO: FIFO's pipe (64 KiB on Linux) holds 56 KiB or more: a
# writer that checks for room first stops a page or two short of full.
# FIONREAD is 0x541B; opening a FIFO for reading and writing never blocks.
_pipe_full() {
  perl -e 'open(my $f, "+<", $ARGV[0]) or exit 1; my $n = pack("i", 0);
           ioctl($f, 0x541B, $n) or exit 1; exit !(unpack("i", $n) >= 57344)' "$1"
}

_udp_bound() { [[ -n $(ss -Huan "( sport = :$1 )") ]]; }

# Datagrams are waiting in the receive queue (Recv-Q): it is never idle.
_udp_queued() {
  ss -Huan "( sport = :$1 )" | awk '$2 > 0 { found = 1 } END { exit !found }'
}

# ---- Network namespaces (root only) ----------------------------------------

# can_use_netns: true when namespaces can be made here (root, iproute2).
can_use_netns() {
  local probe=sl07-probe-$$
  ((EUID == 0)) || return 1
  command -v ip >/dev/null || return 1
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe"
}

# make_pair A B: namespaces A (10.77.0.1) and B (10.77.0.2) joined by a
# veth pair. Names start with sl07- so no other test file's collide;
# teardown removes them (netns_cleanup).
make_pair() {
  NETNS=("$1" "$2")
  ip netns add "$1" && ip netns add "$2" &&
    ip link add v-a netns "$1" type veth peer name v-b netns "$2" &&
    ip -n "$1" addr add 10.77.0.1/24 dev v-a && ip -n "$2" addr add 10.77.0.2/24 dev v-b &&
    ip -n "$1" link set v-a up && ip -n "$2" link set v-b up &&
    ip -n "$1" link set lo up && ip -n "$2" link set lo up
}

# make_hub HUB NS...: a bridge in namespace HUB, and each NS on it with
# address 10.78.0.(2, 3, ...)/24 on a veth pair.
make_hub() {
  local hub=$1 k=2 ns; shift
  NETNS=("$hub" "$@")
  ip netns add "$hub" || return 1
  ip -n "$hub" link add br0 type bridge && ip -n "$hub" link set br0 up || return 1
  for ns; do
    ip netns add "$ns" &&
      ip link add "p$k" netns "$hub" type veth peer name eth0 netns "$ns" &&
      ip -n "$hub" link set "p$k" master br0 && ip -n "$hub" link set "p$k" up &&
      ip -n "$ns" addr add "10.78.0.$k/24" dev eth0 && ip -n "$ns" link set eth0 up &&
      ip -n "$ns" link set lo up || return 1
    k=$((k + 1))
  done
}

netns_cleanup() {
  local ns
  for ns in ${NETNS[@]+"${NETNS[@]}"}; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  NETNS=()
}

# ns_server NS LOG ARGS...: lesson07/server in namespace NS, stdout to LOG;
# waits for its announcement and sets NS_PORT.
ns_server() {
  local ns=$1 log=$2; shift 2
  _bare ip netns exec "$ns" timeout -s KILL "$WATCHDOG" "$BIN/lesson07/server" "$@" \
    </dev/null >"$log" 2>&1 &
  _background+=("$!")
  wait_until "the server in $ns to announce its port" grep -qs '^listening on ' "$log"
  NS_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$log" | head -n 1)
}
