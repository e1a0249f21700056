# bats file_tags=tsan
# The concurrent echo servers (lessons 03, 04 and 05): one protocol, several
# ways to serve many clients. Each test runs against every one of them.
load helpers
load concurrency

setup_file() { random_mib "$BATS_FILE_TMPDIR/random.bin"; }

@test "concurrent servers: five clients connected at once are all served" {
  local prog
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    five_at_once || { echo "$prog did not serve five clients at once"; return 1; }
    kill_background "$BACKGROUND_PID"
  done
}

@test "the five-clients test fails against the iterative lesson 02 server (a test of the test)" {
  start_server lesson02/server
  if five_at_once 1; then
    echo "lesson 02 passed a test it must fail: the test proves nothing"
    return 1
  fi
  # It failed for the right reason: one client served, four in the queue.
  grep -qx 'served 1 of 5' "$BATS_TEST_TMPDIR/five.out"
}

@test "concurrent servers: descriptors, threads and processes return to their baseline after 200 connections" {
  local prog before
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    # The first connection may set up what stays (a sanitizer's thread).
    "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 1 >/dev/null
    wait_for_log 'disconnected$'
    wait_until "$prog to wait in accept" _sleeping "$SERVER_PID"
    wait_until "$prog's children to exit" _no_children "$SERVER_PID"
    before=$(resources "$SERVER_PID")
    run timeout -s KILL 60 "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 200 10
    [[ $status -eq 0 ]] || { echo "$prog: $output"; return 1; }
    wait_for_log 'disconnected$' 201
    wait_until "$prog back to '$before'" _resources_are "$SERVER_PID" "$before" ||
      { echo "$prog: $(resources "$SERVER_PID"), was $before"; return 1; }
  done
}

# bats test_tags=slow
@test "concurrent servers: memory does not grow with connections served" {
  local prog rss1 vsz1 rss2 vsz2
  # ThreadSanitizer keeps a history for every thread it has seen: growth by
  # design, which the AddressSanitizer and plain builds measure without.
  [[ $SOCKLAB_VARIANT != tsan ]] || skip "ThreadSanitizer's own memory grows with every thread"
  # glibc's malloc may add an arena (64 MiB of address space, reserved once)
  # whenever threads contend; one arena keeps that noise out of the figures.
  # AddressSanitizer holds freed memory back (its quarantine) to catch use
  # after free: that is growth by design, so it is turned off here.
  SERVER_ENV=(MALLOC_ARENA_MAX=1
              ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    # Warm up: the first connections allocate what is then reused.
    "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 200 10 >/dev/null
    wait_for_log 'disconnected$' 200
    rss1=$(vm_kib "$SERVER_PID" VmRSS) vsz1=$(vm_kib "$SERVER_PID" VmSize)
    timeout -s KILL 120 "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 1000 10 >/dev/null
    wait_for_log 'disconnected$' 1200
    rss2=$(vm_kib "$SERVER_PID" VmRSS) vsz2=$(vm_kib "$SERVER_PID" VmSize)
    echo "$prog: RSS $rss1 -> $rss2 KiB, VSZ $vsz1 -> $vsz2 KiB"
    # A thread stack or a page kept per connection is 4 MiB or more over
    # 1000 connections.
    ((rss2 - rss1 < 2048))
    ((vsz2 - vsz1 < 4096))
  done
}

@test "concurrent servers: a client that resets, one that half-closes and one that never reads disturb nobody" {
  local prog greedy
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    hold_connection
    # Sends 4 MiB and never reads: the server's writes to it block.
    start_background "$BATS_TEST_TMPDIR/greedy.out" \
      "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:4194304 hold
    greedy=$BACKGROUND_PID
    wait_until "the greedy client to stall the server's writes" send_queue_full "$SERVER_PORT" 1000000
    run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:100000 recv:1000 reset
    [[ $status -eq 0 && ${lines[-1]} == reset ]] || { echo "$prog reset: $output"; return 1; }
    # Half-close: the server reads end of file after our line, echoes it, closes.
    run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:half shut drain
    [[ $status -eq 0 && ${lines[-1]} == "eof after 5" ]] || { echo "$prog half-close: $output"; return 1; }
    # The client connected before all this is still served, and so is a new one.
    echo_on "$HELD_FD" "still here"
    run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"newcomer"
    [[ $status -eq 0 && $output == newcomer ]]
    exec {HELD_FD}>&-
    kill_background "$greedy"
  done
}

@test "concurrent servers: out of descriptors, extra clients get a clean close and the others are still served" {
  local prog n=0 limit room fd i accepts held
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    n=$((n + 1))
    SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_LOG="$BATS_TEST_TMPDIR/faults.$n.log")
    start_server "$prog"
    # Room for four clients: one now, which also makes accept_client() open
    # its spare descriptor (lesson 05 first calls it for its first client),
    # then a limit, on descriptor numbers, that leaves room for three more.
    hold_connection
    held=("$HELD_FD")
    room=3 limit=$(limit_for_room "$SERVER_PID" 3)
    prlimit --pid "$SERVER_PID" --nofile="$limit:$limit"
    for ((i = 0; i < room; i++)); do
      hold_connection
      held+=("$HELD_FD")
    done
    # Three more than it has room for. Lesson 03's parent holds none of its
    # clients' descriptors (each child has its own table), so all are served.
    for i in 1 2 3; do
      if [[ $prog == lesson03/* ]]; then
        hold_connection
        held+=("$HELD_FD")
      else
        run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
        [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]] ||
          { echo "$prog, extra client $i: $output"; return 1; }
      fi
    done
    for fd in "${held[@]}"; do echo_on "$fd" "still served"; done
    # One leaves; its place goes to a newcomer.
    fd=${held[0]}
    exec {fd}>&-
    wait_for_log 'disconnected$'
    run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"newcomer"
    [[ $status -eq 0 && $output == newcomer ]] || { echo "$prog newcomer: $output"; cat "$SERVER_LOG"; return 1; }
    for fd in "${held[@]:1}"; do exec {fd}>&-; done
    stop_server
    [[ $SERVER_STATUS -eq 0 ]]
    # No spinning: an accept per client, two per refusal, one to stop.
    accepts=$(accepts_in "$BATS_TEST_TMPDIR/faults.$n.log" "$SERVER_PID")
    echo "$prog: $accepts accept calls"
    [[ -n $accepts ]] && ((accepts <= room + 3 * 3 + 10))
    if [[ $prog != lesson03/* ]]; then
      grep -q 'accept: refusing a client: Too many open files (EMFILE)' "$SERVER_LOG"
    fi
  done
}

@test "concurrent servers: 1 MiB round-trips exactly, for three clients at once" {
  local prog i pids
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    pids=()
    for i in 1 2 3; do
      timeout -s KILL 60 "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" \
        <"$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/echoed.$i" 2>&1 3>&- 4>&- &
      pids+=("$!")
    done
    for i in 1 2 3; do
      wait "${pids[i - 1]}"
      cmp "$BATS_FILE_TMPDIR/random.bin" "$BATS_TEST_TMPDIR/echoed.$i"
    done
  done
}

# bats test_tags=slow
@test "concurrent servers: 1 MiB round-trips under injected faults (1-byte transfers, EINTR)" {
  local prog n=0 log
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    n=$((n + 1)) log=$BATS_TEST_TMPDIR/faults.$n.log
    SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=7
                SOCKLAB_FAULT_LOG="$log")
    start_server "$prog"
    LD_PRELOAD=$FAULT_LIB SOCKLAB_FAULT_MAXIO=3 SOCKLAB_FAULT_EINTR=5 SOCKLAB_FAULT_LOG=$log \
      timeout -s KILL 120 "$BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" \
      <"$BATS_FILE_TMPDIR/random.bin" >"$BATS_TEST_TMPDIR/echoed.bin"
    cmp "$BATS_FILE_TMPDIR/random.bin" "$BATS_TEST_TMPDIR/echoed.bin"
    wait_for_log 'disconnected$'
    stop_server
    [[ $SERVER_STATUS -eq 0 ]]
    # The faults happened where the bytes went: the client, and the server
    # (in lesson 03, the child that served it).
    (($(grep -c 'eintr=[1-9]' "$log") >= 2)) || { cat "$log"; return 1; }
  done
}

@test "concurrent servers: accept() interrupted by a signal is retried, silently" {
  local prog i
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    # Every second call on a socket, accept() included, fails with EINTR.
    SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_EINTR=2)
    start_server "$prog"
    for i in 1 2 3 4; do
      run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"client $i"
      [[ $status -eq 0 && $output == "client $i" ]]
    done
    wait_for_log 'disconnected$' 4
    ! grep -q 'accept' "$SERVER_LOG" || return 1
  done
}

@test "concurrent servers: log lines from many clients at once never mix" {
  local prog
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    # Resets add error lines on stderr to the connect and disconnect lines.
    "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 300 20 >/dev/null &
    local burst=$!
    for i in 1 2 3 4 5; do
      "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" send:10000 recv:100 reset >/dev/null 2>&1 3>&- 4>&-
    done
    wait "$burst"
    wait_for_log 'disconnected$' 305
    run grep -cvE '^(listening on .*|127\.0\.0\.1:[0-9]+ (connected|disconnected)|server: (read|write) 127\.0\.0\.1:[0-9]+: .*\(E[A-Z]+\))$' "$SERVER_LOG"
    [[ $output -eq 0 ]] || { echo "$prog mixed lines:"; grep -vE '^(listening|127)' "$SERVER_LOG"; return 1; }
  done
}

@test "concurrent servers: SIGTERM with five clients connected exits 0 within a second" {
  local prog started
  for prog in "${CONCURRENT_SERVERS[@]}"; do
    start_server "$prog"
    five_at_once
    wait_until "$prog to wait in accept" _sleeping "$SERVER_PID"
    started=$EPOCHREALTIME
    stop_server TERM
    [[ $SERVER_STATUS -eq 0 ]] || { echo "$prog: status $SERVER_STATUS"; return 1; }
    # As quickly as without clients (check_stop_signal): allow sanitizers more.
    awk -v a="$started" -v b="$EPOCHREALTIME" -v max="$([[ $SOCKLAB_VARIANT == release ]] && echo 1 || echo 3)" \
      'BEGIN { exit !(b - a < max) }' || { echo "$prog took more than a second"; return 1; }
    kill_background "$BACKGROUND_PID"
  done
}
