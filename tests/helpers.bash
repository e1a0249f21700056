# helpers.bash - what every test file loads (`load helpers`).
#
# Programs are found under $SOCKLAB_BIN (default: the repository root), so
# the same tests run against the plain build and the sanitizer builds:
#   SOCKLAB_BIN=build/asan SOCKLAB_VARIANT=asan bats tests
#
# A test starts a server with `start_server lesson02/server`, which runs it
# on port 0 under a watchdog, waits for its "listening on" line and sets
#   SERVER_PORT   the port it announced      SERVER_PID   its process id
#   SERVER_LOG    its stdout and stderr      SERVER_ADDR  e.g. 127.0.0.1:41234
# teardown() stops every server the test started, with its children, and
# fails the test if a server's log holds a sanitizer report.
#
# Waiting is always for a condition with a deadline, never a blind sleep.

bats_require_minimum_version 1.5.0

SOCKLAB_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
SOCKLAB_VARIANT=${SOCKLAB_VARIANT:-release}
BIN=${SOCKLAB_BIN:-$SOCKLAB_ROOT}
case $BIN in /*) ;; *) BIN=$SOCKLAB_ROOT/$BIN ;; esac
TOOLS=$SOCKLAB_ROOT/build/$SOCKLAB_VARIANT/tools
FAULT_LIB=$SOCKLAB_ROOT/build/fault.so

# What the programs were built for, worked out from lesson01/server unless
# set: SOCKLAB_LIBC (glibc or musl) and SOCKLAB_EMULATED (1 for programs of
# another CPU, run under qemu-user; empty otherwise). A test that cannot
# work there skips, saying why (see skip_without_fault_shim).
_elf_machine() { od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' \n'; }
# Worked out once per run: every test loads this file.
_build_facts=${BATS_RUN_TMPDIR:+$BATS_RUN_TMPDIR/socklab-build${BIN//\//_}}
if [[ -n $_build_facts && -f $_build_facts ]]; then
  source "$_build_facts"
elif [[ -f $BIN/lesson01/server ]]; then
  if [[ -z ${SOCKLAB_LIBC:-} ]]; then
    SOCKLAB_LIBC=glibc
    ! grep -qa ld-musl "$BIN/lesson01/server" || SOCKLAB_LIBC=musl
  fi
  if [[ -z ${SOCKLAB_EMULATED+set} ]]; then
    SOCKLAB_EMULATED=
    [[ $(_elf_machine "$BIN/lesson01/server") == "$(_elf_machine "$BASH")" ]] || SOCKLAB_EMULATED=1
  fi
  if [[ -n $_build_facts ]]; then
    printf 'SOCKLAB_LIBC=%q\nSOCKLAB_EMULATED=%q\n' "$SOCKLAB_LIBC" "$SOCKLAB_EMULATED" >"$_build_facts.$$" &&
      mv "$_build_facts.$$" "$_build_facts"
  fi
fi

# Seconds a condition may take; sanitizer builds start and run slower.
DEADLINE=${SOCKLAB_DEADLINE:-10}
# No server or client outlives this, whatever a test does wrong.
WATCHDOG=${SOCKLAB_WATCHDOG:-120}

# Sanitizers: report and stop at the first error. gcc's ASan must not
# insist on coming first in the library list, or the fault library could
# not be preloaded.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:verify_asan_link_order=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
SANITIZER_REPORT='ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer'

if [[ -f $BATS_TEST_DIRNAME/replay.bash ]]; then load replay; fi

_servers=()        # watchdog pids (each leads the process group of a server)
_server_logs=()
_background=()     # other background processes a test started

# wait_until DESCRIPTION COMMAND...: polls COMMAND until it succeeds, or
# fails the test after $DEADLINE seconds (at once if COMMAND returns 3:
# what it waits for can no longer happen).
wait_until() {
  local what=$1; shift
  local end=$((SECONDS + DEADLINE)) rc
  while :; do
    "$@" && return 0
    rc=$?
    if ((rc == 3 || SECONDS >= end)); then
      ((rc == 3)) || echo "timed out after ${DEADLINE}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.02
  done
}

# start_server PROGRAM [ARGS...]: ARGS default to "0" (any free port).
# Extra environment for the server goes in SERVER_ENV (an array), e.g.
#   SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
# SERVER_STDOUT=stalled puts its standard output on a one-page pipe that
# nobody reads after the "listening on" line (a stalled `| less`); its
# stderr still goes to SERVER_LOG. The reader stops itself: `kill -CONT` to
# $(pgrep -P "$BACKGROUND_PID") makes it copy the rest into SERVER_LOG.
start_server() {
  local prog=$1; shift
  [[ ${SERVER_ENV[*]-} != *LD_PRELOAD=* ]] || skip_without_fault_shim
  (($# > 0)) || set -- 0
  SERVER_LOG=$BATS_TEST_TMPDIR/server.${#_servers[@]}.log
  local out=$SERVER_LOG
  if [[ ${SERVER_STDOUT-} == stalled ]]; then
    out=$BATS_TEST_TMPDIR/stdout.${#_servers[@]}.fifo
    mkfifo "$out"
    start_background /dev/null perl -e "$_STALLED_READER" "$out" "$SERVER_LOG"
  fi
  # Both appending, stdout and stderr interleave as with 2>&1.
  _bare env ${SERVER_ENV[@]+"${SERVER_ENV[@]}"} \
    timeout -s KILL "$WATCHDOG" "$BIN/$prog" "$@" \
    </dev/null >>"$out" 2>>"$SERVER_LOG" &
  local watchdog=$!
  _servers+=("$watchdog")
  _server_logs+=("$SERVER_LOG")
  if ! wait_until "$prog to announce its port" _announced "$watchdog"; then
    echo "--- $prog log:" >&2
    cat "$SERVER_LOG" >&2
    return 1
  fi
  SERVER_ADDR=$(sed -n 's/^listening on //p' "$SERVER_LOG" | head -n 1)
  SERVER_PORT=${SERVER_ADDR##*:}
  SERVER_PID=$(pgrep -P "$watchdog" | head -n 1)
  # After the announcement a server goes to sleep in accept(). A signal sent
  # before it gets there is a race the chapters discuss, not a test subject.
  wait_until "$prog to wait in accept" _sleeping "$SERVER_PID"
  # The stalled reader stops itself after the announcement: a test that
  # sends it SIGCONT before then would find it stopped for good.
  if [[ ${SERVER_STDOUT-} == stalled ]]; then
    wait_until "the log reader to stall" _stopped "$(pgrep -P "$BACKGROUND_PID")"
  fi
}

# _bare COMMAND...: runs COMMAND with no descriptor above 2 open. bats keeps
# several (a server holding 3 or 4 hangs the run; others skew descriptor
# counts), so everything the suite starts in the background goes through here.
_bare() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-"; fi
  done
  exec "$@"
}

# skip_without_fault_shim: the fault shim is built for this machine and
# its glibc; it is preloaded into the suite's commands (timeout) too, so it
# cannot be built for the programs instead. start_server calls this itself
# when SERVER_ENV sets LD_PRELOAD.
skip_without_fault_shim() {
  [[ -z ${SOCKLAB_EMULATED:-} ]] ||
    skip "the fault shim cannot load into programs run under qemu-user"
  [[ ${SOCKLAB_LIBC:-glibc} == glibc ]] ||
    skip "the fault shim is built for glibc, the programs for $SOCKLAB_LIBC"
}

# Shrinks the pipe to a page (F_SETPIPE_SZ, Linux), copies the first line
# into the log, then stops (SIGSTOP) with the pipe open, reading nothing.
# shellcheck disable=SC2016  # perl, not shell
_STALLED_READER='open(my $in, "<", $ARGV[0]) or die "$ARGV[0]: $!";
fcntl($in, 1031, 4096) or die "F_SETPIPE_SZ: $!";
open(my $log, ">>", $ARGV[1]) or die "$ARGV[1]: $!";
select($log); $| = 1;
print scalar <$in>;
kill "STOP", $$;
print while <$in>;'

_announced() {
  kill -0 "$1" 2>/dev/null || { echo "server exited before announcing" >&2; return 3; }
  grep -qs '^listening on ' "$SERVER_LOG"
}

_stopped() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]]; }

_sleeping() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state == S ]]
}

# stop_server [SIGNAL]: signals the current server (TERM by default), waits
# for it to exit and sets SERVER_STATUS to its exit status.
stop_server() {
  local sig=${1:-TERM} watchdog=${_servers[-1]}
  kill -s "$sig" "$SERVER_PID"
  wait_until "server to exit after SIG$sig" _gone "$watchdog" || return 1
  SERVER_STATUS=0
  wait "$watchdog" || SERVER_STATUS=$?
}

_gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_for_log PATTERN [COUNT]: until the server log has COUNT lines (default
# 1) matching the extended regular expression PATTERN.
wait_for_log() {
  local pattern=$1 count=${2:-1}
  wait_until "$count log line(s) matching '$pattern'" _log_has "$pattern" "$count" || {
    echo "--- server log:" >&2
    cat "$SERVER_LOG" >&2
    return 1
  }
}

_log_has() { (($(grep -csE -- "$1" "$SERVER_LOG") >= $2)); }

# run_client PROGRAM ARGS...: `run` for a client, under a deadline, failing
# the test if the client's output holds a sanitizer report.
run_client() {
  local prog=$1; shift
  run timeout -s KILL "$DEADLINE" "$BIN/$prog" "$@"
  no_sanitizer_report "$output" "$prog"
}

# start_background OUTFILE COMMAND...: a helper process the test needs
# running (a peer holding a connection open); teardown kills it. To end it
# earlier: kill_background "$BACKGROUND_PID".
start_background() {
  local out=$1; shift
  _bare timeout -s KILL "$WATCHDOG" "$@" >"$out" 2>&1 &
  _background+=("$!")
  BACKGROUND_PID=$!
}

# kill_background PID [SIGNAL]: ends a start_background process and its
# children (the watchdog leads their process group; KILL is not passed on).
kill_background() {
  kill -s "${2:-KILL}" -- "-$1" 2>/dev/null || true
  # Reaping it here keeps bash's "Killed" notice out of the test's output.
  [[ ${2:-KILL} != KILL ]] || wait "$1" 2>/dev/null || true
}

no_sanitizer_report() {
  if grep -qE "$SANITIZER_REPORT" <<<"$1"; then
    echo "sanitizer report from $2:" >&2
    echo "$1" >&2
    return 1
  fi
}

# Sets UNUSED_PORT to a port that nobody listens on: one the kernel just
# gave a server that has stopped. (For "connection refused" tests only.)
unused_port() {
  start_server lesson01/server
  UNUSED_PORT=$SERVER_PORT
  stop_server
}

socklab_teardown() {
  local pid server failed=0 log
  for pid in ${_background[@]+"${_background[@]}"}; do
    kill_background "$pid"
  done
  # Servers still running are asked to stop as a user would (SIGTERM), so
  # that every test also checks a clean exit and, in sanitizer builds, gets
  # a leak report. The watchdog leads the server's process group: killing
  # the group afterwards also ends forked children.
  for pid in ${_servers[@]+"${_servers[@]}"}; do
    if kill -0 "$pid" 2>/dev/null; then
      server=$(pgrep -P "$pid" | head -n 1)
      [[ -n $server ]] && kill -TERM "$server" 2>/dev/null
      if ! wait_until "server $server to stop on SIGTERM" _gone "$pid"; then
        failed=1
      fi
    fi
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  for log in ${_server_logs[@]+"${_server_logs[@]}"}; do
    no_sanitizer_report "$(cat "$log")" "server ($log)" || failed=1
  done
  return "$failed"
}

teardown() { socklab_teardown; }

# ---- Echo servers (lessons 02 to 05 speak the same protocol) ----

# random_mib FILE: one mebibyte of random bytes, for round trips.
random_mib() { head -c 1048576 /dev/urandom >"$1"; }

# echo_roundtrip FILE [CLIENT]: FILE sent through CLIENT (lesson 02's by
# default) to $SERVER_PORT comes back byte for byte.
echo_roundtrip() {
  local file=$1 client=${2:-lesson02/client}
  timeout -s KILL "$DEADLINE" "$BIN/$client" 127.0.0.1 "$SERVER_PORT" \
    <"$file" >"$BATS_TEST_TMPDIR/echoed.bin"
  cmp "$file" "$BATS_TEST_TMPDIR/echoed.bin"
}

# send_queue_full PORT [BYTES]: the server on PORT has more than BYTES
# (default 100000) queued and unsent to a client: its writes are stalled.
# With a state filter, ss leaves out the state column: $2 is Send-Q.
send_queue_full() {
  ss -Htn state established "( sport = :$1 )" |
    awk -v min="${2:-100000}" '$2 > min { found = 1 } END { exit !found }'
}

# ---- Checks every server and client must pass (DEVELOPERS conventions) ----
# Each lesson's test file calls these from one-line tests.

BAD_PORTS=("abc" "70000" "65536" "-1" "" "9000x")

# Bad ports exit 2, name the value and print the usage on stderr.
check_server_bad_ports() {
  local port name=${1##*/}
  for port in "${BAD_PORTS[@]}"; do
    run --separate-stderr timeout 5 "$BIN/$1" "$port"
    [[ $status -eq 2 ]] || { echo "port '$port': status $status"; return 1; }
    [[ $stderr == *"invalid port '$port'"* ]] || { echo "port '$port': $stderr"; return 1; }
    [[ $stderr == *"usage: $name "* ]] || { echo "port '$port': no usage line: $stderr"; return 1; }
    [[ -z $output ]]
  done
}

check_client_bad_ports() {
  local port
  for port in "${BAD_PORTS[@]}"; do
    run --separate-stderr timeout 5 "$BIN/$1" 127.0.0.1 "$port" </dev/null
    [[ $status -eq 2 ]] || { echo "port '$port': status $status"; return 1; }
    [[ $stderr == *"invalid port '$port'"* ]] || { echo "port '$port': $stderr"; return 1; }
  done
}

# No arguments: usage on stderr, status 2. -h and --help: usage on stdout, 0.
check_usage() {
  local name=${1##*/} flag
  run --separate-stderr timeout 5 "$BIN/$1" </dev/null
  [[ $status -eq 2 && $stderr == *"usage: $name "* && -z $output ]]
  for flag in -h --help; do
    run --separate-stderr timeout 5 "$BIN/$1" "$flag"
    [[ $status -eq 0 && $output == "usage: $name "* && -z $stderr ]]
  done
}

# A port somebody else holds: status 1 and a message naming the address.
check_port_in_use() {
  start_server "$1"
  run --separate-stderr timeout 5 "$BIN/$1" "$SERVER_PORT"
  [[ $status -eq 1 ]]
  # glibc says "Address already in use", musl "Address in use".
  [[ $stderr == *"bind 127.0.0.1:$SERVER_PORT: Address"*" in use (EADDRINUSE)"* ]]
}

# SIGTERM or SIGINT: exit status 0 within a second.
check_stop_signal() {
  local sig=$1 prog=$2 started
  start_server "$prog"
  started=$EPOCHREALTIME
  stop_server "$sig"
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS after SIG$sig"; return 1; }
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }' ||
    { echo "took more than a second to stop"; return 1; }
}

# ADDRESS given (::1, or a name): the announcement shows where it listens.
check_listens_on() {
  local prog=$1 addr=$2 shown=$3
  start_server "$prog" 0 "$addr"
  [[ $SERVER_ADDR == "$shown:$SERVER_PORT" ]]
}

# A client against a port nobody listens on: status 1 naming the address.
check_client_refused() {
  unused_port
  run --separate-stderr timeout 5 "$BIN/$1" 127.0.0.1 "$UNUSED_PORT" </dev/null
  [[ $status -eq 1 ]]
  [[ $stderr == *"connect 127.0.0.1:$UNUSED_PORT: Connection refused (ECONNREFUSED)"* ]]
}

# Restart on the same port right after serving, while the connection the
# server closed sits in TIME_WAIT: only SO_REUSEADDR lets bind() succeed.
# COMMAND (a function, run with $SERVER_PORT set) must leave the server holding or
# having closed a connection: stopping the server then closes it first.
check_restart_same_port() {
  local prog=$1; shift
  start_server "$prog"
  local port=$SERVER_PORT
  "$@"
  wait_for_log 'connected$'
  stop_server
  # The proof that this test means something: a connection the server
  # closed still holds the port (FIN-WAIT or TIME-WAIT).
  [[ -n $(ss -Htan exclude listening "( sport = :$port )") ]] ||
    { echo "no closing connection on port $port: the test proves nothing"; return 1; }
  start_server "$prog" "$port"
  [[ $SERVER_PORT -eq $port ]]
}
