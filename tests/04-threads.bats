# bats file_tags=tsan
# Lesson 04: the echo server with one thread per client.
# (What every concurrent server must do is in concurrency.bats.)
load helpers
load concurrency

@test "lesson04: typed lines come back through lesson 02's client, and it exits 0" {
  start_server lesson04/server
  run_client lesson04/client 127.0.0.1 "$SERVER_PORT" <<<$'hello\nworld'
  [[ $status -eq 0 && $output == $'hello\nworld' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

@test "lesson04: works over IPv6 ::1" {
  check_listens_on lesson04/server ::1 '[::1]'
  run_client lesson04/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+ disconnected$'
}

# One connection first: a sanitizer may start a helper thread, and malloc
# an arena, at the first thread; the baseline is taken after that.
warm_up() {
  "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 1 >/dev/null
  wait_for_log 'disconnected$'
}

@test "lesson04: one thread per client, in one process; each ends when its client leaves" {
  start_server lesson04/server
  warm_up
  local threads
  threads=$(thread_count "$SERVER_PID")
  five_at_once
  [[ $(thread_count "$SERVER_PID") -eq $((threads + 5)) ]]
  [[ $(child_count "$SERVER_PID") -eq 0 ]]
  kill_background "$BACKGROUND_PID"
  wait_for_log 'disconnected$' 6
  wait_until "the threads to end" _threads_are "$SERVER_PID" "$threads"
}

_threads_are() { (($(thread_count "$1") == $2)); }

@test "lesson04: a thread reserves a small stack, not the default 8 MiB" {
  # Under qemu-user, /proc shows the emulator, which gives each guest thread
  # a host thread with a stack and malloc arena of its own.
  [[ -z ${SOCKLAB_EMULATED:-} ]] || skip "under qemu-user the address space measured is the emulator's"
  start_server lesson04/server
  warm_up
  local before after
  before=$(vm_kib "$SERVER_PID" VmSize)
  start_background "$BATS_TEST_TMPDIR/idle.out" "$TOOLS/conc-hold" 127.0.0.1 "$SERVER_PORT" 20
  wait_until "20 clients served" grep -qs '^holding$' "$BATS_TEST_TMPDIR/idle.out"
  after=$(vm_kib "$SERVER_PID" VmSize)
  echo "address space: $(((after - before) / 20)) KiB per idle client"
  # 64 KiB of stack, plus what a sanitizer keeps per thread (ThreadSanitizer
  # about 1 MiB); the default stack alone would be 8 MiB.
  (((after - before) / 20 < 4096))
}

@test "lesson04: a failed pthread_create is logged, that client is closed, and the server keeps serving" {
  [[ $(id -u) -eq 0 ]] || skip "needs root, to run the server as another user"
  [[ -z ${SOCKLAB_EMULATED:-} ]] || skip "qemu-user needs a thread of its own, which a limit of one process forbids"
  # RLIMIT_NPROC counts threads too, and does not bind root: the server
  # runs as a user of its own, with room for its threads at start only.
  start_server "$(unprivileged 61004 1 lesson04/server)"
  local room
  room=$(thread_count "$SERVER_PID")
  as_user 61004 prlimit --pid "$SERVER_PID" --nproc="$room":
  run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
  [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]]
  wait_for_log '^server: pthread_create 127\.0\.0\.1:[0-9]+: Resource temporarily unavailable \(EAGAIN\)$'
  as_user 61004 prlimit --pid "$SERVER_PID" --nproc="$(ulimit -Hu)":
  run_client lesson04/client 127.0.0.1 "$SERVER_PORT" <<<"served again"
  [[ $status -eq 0 && $output == "served again" ]]
}

@test "lesson04: a stop signal reaches the accepting thread, never a client's" {
  start_server lesson04/server
  five_at_once
  # Each client thread blocks SIGINT and SIGTERM; only the main thread may
  # take them, so the signal always interrupts accept().
  local tid mask
  for tid in $(ls "/proc/$SERVER_PID/task"); do
    mask=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$SERVER_PID/task/$tid/status")
    if ((tid == SERVER_PID)); then
      (((0x$mask & 0x4002) == 0)) || { echo "main thread blocks $mask"; return 1; }
    elif [[ $(cat "/proc/$SERVER_PID/task/$tid/comm") == server ]]; then
      (((0x$mask & 0x4002) == 0x4002)) || { echo "thread $tid blocks only $mask"; return 1; }
    fi
  done
  stop_server INT
  [[ $SERVER_STATUS -eq 0 ]]
}

@test "lesson04 server: usage and help" { check_usage lesson04/server; }
@test "lesson04 client: usage and help" { check_usage lesson04/client; }
@test "lesson04 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson04/server; }
@test "lesson04 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson04/client; }
@test "lesson04 server: a port in use exits 1 naming the address" { check_port_in_use lesson04/server; }
@test "lesson04 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson04/server; }
@test "lesson04 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson04/server; }
@test "lesson04 client: a closed port exits 1 naming the address" { check_client_refused lesson04/client; }

hold_one() {
  start_background "$BATS_TEST_TMPDIR/held.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:hi readline hold
  wait_until "an echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/held.out"
}

@test "lesson04 server: restarts on the same port right after serving" {
  check_restart_same_port lesson04/server hold_one
}

# start_stalled_log PROGRAM: start_server, but with stdout and stderr on a
# pipe of one page whose reader takes the "listening on" line and then
# never reads again (a stalled `| less`, a log collector that hangs).
start_stalled_log() {
  local prog=$1 fifo=$BATS_TEST_TMPDIR/log.fifo
  mkfifo "$fifo"
  SERVER_LOG=$BATS_TEST_TMPDIR/stalled.log      # what the reader took
  start_background "$SERVER_LOG" perl -e '
    open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n";
    fcntl($f, 1031, 4096) or die "F_SETPIPE_SZ: $!\n";    # one page
    $| = 1; print scalar <$f>; sleep 1000;' "$fifo"
  _bare timeout -s KILL "$WATCHDOG" "$BIN/$prog" 0 >"$fifo" 2>&1 </dev/null &
  _servers+=("$!")
  wait_until "$prog to announce its port" grep -qs '^listening on ' "$SERVER_LOG"
  SERVER_ADDR=$(sed -n 's/^listening on //p' "$SERVER_LOG")
  SERVER_PORT=${SERVER_ADDR##*:}
  SERVER_PID=$(pgrep -P "${_servers[-1]}" | head -n 1)
}

# Some thread of process $1 other than the main one, or ($2 = main) the
# main thread, is asleep: writing to the full pipe, or waiting for a lock.
_thread_blocked_on_log() {
  local tid is_main
  for tid in $(ls /proc/"$1"/task 2>/dev/null); do
    is_main=$( ((tid == $1)) && echo main || echo worker)
    [[ $is_main == "$2" ]] || continue
    grep -qsE "${3:-pipe_write}" /proc/"$1"/task/"$tid"/wchan && return 0
  done
  return 1
}

@test "lesson04: with its log on a pipe nobody reads, SIGTERM still stops it with status 0 within a second" {
  start_stalled_log lesson04/server
  # 100 clients' "connected" lines fit in the page; their "disconnected"
  # lines do not: when they all leave, a client's thread blocks writing
  # the log. Then one more client makes the main thread log too.
  start_background "$BATS_TEST_TMPDIR/hold.out" "$TOOLS/conc-hold" 127.0.0.1 "$SERVER_PORT" 100
  wait_until "100 clients served" grep -qs '^holding$' "$BATS_TEST_TMPDIR/hold.out"
  kill_background "$BACKGROUND_PID" TERM
  wait_until "a client's thread to block on the log" _thread_blocked_on_log "$SERVER_PID" worker
  start_background "$BATS_TEST_TMPDIR/last.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" hold
  wait_until "the main thread to block on the log" _thread_blocked_on_log "$SERVER_PID" main 'pipe_write|futex'
  local started=$EPOCHREALTIME max
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS"; return 1; }
  # Sanitizers take longer to exit with a hundred threads to account for.
  max=$([[ $SOCKLAB_VARIANT == release ]] && echo 1 || echo 3)
  awk -v a="$started" -v b="$EPOCHREALTIME" -v max="$max" 'BEGIN { print "stopped in " b - a " s"; exit !(b - a < max) }' ||
    { echo "took more than $max s to stop"; return 1; }
}

@test "lesson04: a stack size below the platform's minimum is raised to it (as 64 KiB is on ARM64)" {
  # 4 KiB is below every platform's minimum (x86-64's is 16 KiB): the same
  # situation as 64 KiB on ARM64, where the minimum is 128 KiB.
  local server=$BATS_TEST_TMPDIR/server-4k
  "${CC:-cc}" -std=c11 -O1 -pthread -I"$SOCKLAB_ROOT/common" -DSTACK_SIZE=4096 -o "$server" \
    "$SOCKLAB_ROOT/lessons/04-threads/server.c" "$SOCKLAB_ROOT"/common/*.c
  start_server "$(realpath --relative-to="$BIN" "$server")"
  run_client lesson04/client 127.0.0.1 "$SERVER_PORT" <<<"small stack"
  [[ $status -eq 0 && $output == "small stack" ]]
}
