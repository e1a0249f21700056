# bats file_tags=tsan
# Lesson 11: pools of processes (prefork, reuseport) and of threads
# (prethread), made in advance.
# shellcheck disable=SC2154  # stderr: set by bats' run --separate-stderr
load helpers
load concurrency
load 11-pools

# ThreadSanitizer waits a second at exit while other threads still run, to
# catch late races (atexit_sleep_ms); prethread's workers always do, and
# the stop tests allow a second in all.
if [[ $SOCKLAB_VARIANT == tsan ]]; then export TSAN_OPTIONS=$TSAN_OPTIONS:atexit_sleep_ms=0; fi

POOLS=(lesson11/prefork lesson11/reuseport lesson11/prethread)

# ---- what every server does ----------------------------------------------

check_echo() {
  start_server "$1" 0
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<$'hello\nworld'
  [[ $status -eq 0 && $output == $'hello\nworld' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

check_ipv6() {
  check_listens_on "$1" ::1 '[::1]'
  run_client lesson02/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+ disconnected$'
}

@test "lesson11 prefork: typed lines come back, and the connection is logged" { check_echo lesson11/prefork; }
@test "lesson11 reuseport: typed lines come back, and the connection is logged" { check_echo lesson11/reuseport; }
@test "lesson11 prethread: typed lines come back, and the connection is logged" { check_echo lesson11/prethread; }
@test "lesson11 prefork: works over IPv6 ::1" { check_ipv6 lesson11/prefork; }
@test "lesson11 reuseport: works over IPv6 ::1" { check_ipv6 lesson11/reuseport; }
@test "lesson11 prethread: works over IPv6 ::1" { check_ipv6 lesson11/prethread; }

@test "lesson11: a mebibyte of random bytes comes back whole from each pool" {
  random_mib "$BATS_TEST_TMPDIR/random.bin"
  local prog
  for prog in "${POOLS[@]}"; do
    start_server "$prog"
    echo_roundtrip "$BATS_TEST_TMPDIR/random.bin" || { echo "$prog"; return 1; }
  done
}

@test "lesson11 prefork: usage and help" { check_usage lesson11/prefork; }
@test "lesson11 reuseport: usage and help" { check_usage lesson11/reuseport; }
@test "lesson11 prethread: usage and help" { check_usage lesson11/prethread; }
@test "lesson11 prefork: bad ports exit 2 naming the value" { check_server_bad_ports lesson11/prefork; }
@test "lesson11 reuseport: bad ports exit 2 naming the value" { check_server_bad_ports lesson11/reuseport; }
@test "lesson11 prethread: bad ports exit 2 naming the value" { check_server_bad_ports lesson11/prethread; }

@test "lesson11: bad pool sizes and unknown flags exit 2 naming the value" {
  local prog value
  for prog in "${POOLS[@]}"; do
    for value in 0 -3 abc "" 100000 4x; do
      run --separate-stderr timeout 5 "$BIN/$prog" -n "$value" 0
      [[ $status -eq 2 && $stderr == *"invalid -n '$value'"* && $stderr == *"usage: ${prog##*/} "* ]] ||
        { echo "$prog -n '$value': $status $stderr"; return 1; }
    done
    run --separate-stderr timeout 5 "$BIN/$prog" -x 0
    [[ $status -eq 2 && $stderr == *"unknown option '-x'"* ]]
  done
  run --separate-stderr timeout 5 "$BIN/lesson11/prethread" -q 0 0
  [[ $status -eq 2 && $stderr == *"invalid -q '0'"* ]]
}

@test "lesson11 prefork: a port in use exits 1 naming the address" { check_port_in_use lesson11/prefork; }
@test "lesson11 prethread: a port in use exits 1 naming the address" { check_port_in_use lesson11/prethread; }

# Another program's port: its listener has no SO_REUSEPORT, so bind fails.
# (A second reuseport of the same user would join the group: see the chapter.)
@test "lesson11 reuseport: a port another server holds exits 1 naming the address" {
  start_server lesson02/server
  run --separate-stderr timeout 5 "$BIN/lesson11/reuseport" "$SERVER_PORT"
  [[ $status -eq 1 ]]
  [[ $stderr == *"bind 127.0.0.1:$SERVER_PORT: Address"*" in use (EADDRINUSE)"* ]]
}

@test "lesson11 reuseport: a second copy on the same port joins the group and shares the clients" {
  start_server lesson11/reuseport -n 1 0
  local first_log=$SERVER_LOG
  start_server lesson11/reuseport -n 1 "$SERVER_PORT"
  run timeout -s KILL "$DEADLINE" "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 40 4
  [[ $status -eq 0 ]]
  # Each copy has some: the kernel spreads connections over both groups' members.
  grep -q ' connected$' "$first_log" && grep -q ' connected$' "$SERVER_LOG"
}

@test "lesson11 prefork: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson11/prefork; }
@test "lesson11 prefork: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson11/prefork; }
@test "lesson11 reuseport: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson11/reuseport; }
@test "lesson11 reuseport: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson11/reuseport; }
@test "lesson11 prethread: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson11/prethread; }
@test "lesson11 prethread: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson11/prethread; }

# ---- the pool's size ------------------------------------------------------

@test "lesson11 prefork: -n 3 makes three children, each logged, sharing the parent's one listener" {
  start_server lesson11/prefork -n 3 0
  wait_children 3
  wait_for_log '^child [0-9]+ started$' 3
  # One listening socket, held by the parent and the three children.
  run ss -Htlnp "( sport = :$SERVER_PORT )"
  [[ ${#lines[@]} -eq 1 && $output == *"pid=$SERVER_PID,"* ]]
  local pid
  for pid in $(children_of "$SERVER_PID"); do
    [[ $output == *"pid=$pid,"* ]] || { echo "child $pid has no listener"; return 1; }
  done
}

@test "lesson11 reuseport: -n 3 makes three children, each with a listener of its own" {
  start_server lesson11/reuseport -n 3 0
  wait_children 3
  run ss -Htlnp "( sport = :$SERVER_PORT )"
  [[ ${#lines[@]} -eq 3 ]] || { echo "$output"; return 1; }
  # Each listener: the parent's copy and one child's.
  local pid line
  for pid in $(children_of "$SERVER_PID"); do
    [[ $(grep -c "pid=$pid," <<<"$output") -eq 1 ]] || { echo "child $pid: $output"; return 1; }
  done
  for line in "${lines[@]}"; do
    [[ $line == *"pid=$SERVER_PID,"* ]]
  done
}

@test "lesson11 prethread: -n sets the number of threads, and no child process is made" {
  start_server lesson11/prethread -n 1 0
  local one
  one=$(thread_count "$SERVER_PID")
  start_server lesson11/prethread -n 6 0
  [[ $(thread_count "$SERVER_PID") -eq $((one + 5)) ]]
  [[ $(child_count "$SERVER_PID") -eq 0 ]]
}

# ---- respawn --------------------------------------------------------------

# check_respawn PROGRAM N: a child killed with SIGKILL is logged and
# replaced; the replacement holds a listener (reuseport: the dead child's).
check_respawn() {
  start_server "$1" -n "$2" 0
  wait_children "$2"
  local victim fresh
  victim=$(children_of "$SERVER_PID" | head -n 1)
  kill -KILL "$victim"
  wait_for_log "^child $victim killed by signal 9 \(.*\)$"
  wait_for_log '^child [0-9]+ started$' $(($2 + 1))
  wait_children "$2"
  fresh=$(sed -n 's/^child \([0-9]*\) started$/\1/p' "$SERVER_LOG" | tail -n 1)
  run ! grep -qx "$victim" <<<"$(children_of "$SERVER_PID")"
  children_of "$SERVER_PID" | grep -qx "$fresh"
  run ss -Htlnp "( sport = :$SERVER_PORT )"
  [[ $output == *"pid=$fresh,"* ]] || { echo "replacement $fresh holds no listener: $output"; return 1; }
}

@test "lesson11 prefork: a child killed with SIGKILL is logged and replaced, and the pool serves on" {
  check_respawn lesson11/prefork 5
  # Five at once need all five children, the replacement too.
  five_at_once
}

@test "lesson11 reuseport: a child killed with SIGKILL is logged and replaced, and the pool serves on" {
  check_respawn lesson11/reuseport 2
  # One after another, 30 clients spread over both listeners by hash: the
  # chance that none lands on the replacement's is 1 in 2^30.
  run timeout -s KILL "$DEADLINE" "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 30
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
}

@test "lesson11 prefork: a child that exits is logged with its status" {
  start_server lesson11/prefork -n 2 0
  wait_children 2
  local victim
  victim=$(children_of "$SERVER_PID" | head -n 1)
  # SIGTERM to a child alone: it stops as asked, and exits 0.
  kill -TERM "$victim"
  wait_for_log "^child $victim exited with status 0$"
  wait_children 2
}

# ---- a clean stop: no child left ------------------------------------------

# check_stop_all PROGRAM SIGNAL: with children busy with clients, SIGNAL to
# the parent stops every child, and the parent exits 0 within a second.
check_stop_all() {
  start_server "$1" -n 3 0
  wait_children 3
  local kids started=$EPOCHREALTIME pid
  stuck_reader b
  # reuseport may hash a to b's stuck listener: then it waits there.
  peer_in a line:a readline hold
  wait_until "a to be served or queued" _held_or_queued a
  kids=$(children_of "$SERVER_PID")
  started=$EPOCHREALTIME
  stop_server "$2"
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS"; return 1; }
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { print "stopped in " b - a " s"; exit !(b - a < 1.0) }'
  for pid in $kids; do
    ! kill -0 "$pid" 2>/dev/null || { echo "child $pid still there"; ps -o pid,s,comm -p "$pid"; return 1; }
  done
  # The parent stopped them: none died unexpectedly, none was replaced.
  run ! grep -qE '^child [0-9]+ (killed|exited)' "$SERVER_LOG"
  (($(grep -c 'started$' "$SERVER_LOG") == 3))
}

@test "lesson11 prefork: SIGTERM while children serve stops every child, and the parent exits 0" { check_stop_all lesson11/prefork TERM; }
@test "lesson11 prefork: SIGINT while children serve stops every child, and the parent exits 0" { check_stop_all lesson11/prefork INT; }
@test "lesson11 reuseport: SIGTERM while children serve stops every child, and the parent exits 0" { check_stop_all lesson11/reuseport TERM; }

# ---- backpressure -----------------------------------------------------------

@test "lesson11 prefork: two silent clients hold both children; a third waits in the listen queue, and is served when one leaves" {
  start_server lesson11/prefork -n 2 0
  hold_worker a
  local a=$PEER_PID
  hold_worker b
  peer_in c line:c readline
  wait_until "c to wait in the listen queue" _queued_is 1
  [[ $(connected_lines) -eq 2 ]]
  run ! peer_says c "line c"
  kill_background "$a"
  wait_until "c to be served" peer_says c "line c"
  [[ $(connected_lines) -eq 3 ]]
}

@test "lesson11 prethread: -n 1 -q 1: one client served, one queued, and the next is not accepted until the worker is free" {
  start_server lesson11/prethread -n 1 -q 1 0
  hold_worker a
  local a=$PEER_PID
  peer_in b line:b readline
  wait_for_log ' connected$' 2
  peer_in c line:c readline
  # The queue is full: c stays in the kernel's listen queue, not accepted.
  wait_until "c to wait in the listen queue" _queued_is 1
  [[ $(connected_lines) -eq 2 ]]
  run ! peer_says b "line b"
  kill_background "$a"
  wait_until "b to be served" peer_says b "line b"
  wait_until "c to be served" peer_says c "line c"
  [[ $(connected_lines) -eq 3 ]]
}

@test "lesson11 prethread: SIGTERM stops it within a second while the accepting thread waits for room in a full queue" {
  start_server lesson11/prethread -n 1 -q 1 0
  hold_worker a
  peer_in b line:b readline
  peer_in c line:c readline
  wait_until "c to wait in the listen queue" _queued_is 1
  check_stop_quickly
}

# ---- a client that never reads -------------------------------------------

# check_stuck_reader PROGRAM: a client that never reads stalls one worker;
# with two, the other still serves everybody else, one after another.
check_stuck_reader() {
  start_server "$1" -n 2 0
  stuck_reader greedy
  run timeout -s KILL "$DEADLINE" "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 20
  [[ $status -eq 0 ]] || { echo "$output"; return 1; }
  send_queue_full "$SERVER_PORT"       # still stuck, and still just one
}

@test "lesson11 prefork: a client that never reads ties up one child, not the pool" { check_stuck_reader lesson11/prefork; }
@test "lesson11 prethread: a client that never reads ties up one worker, not the pool" { check_stuck_reader lesson11/prethread; }

# ---- reuseport: each child's queue ----------------------------------------

# reuseport's price and its parent's care: with one child stuck, the clients
# hashed to its listener wait there while the other child idles; killing the
# stuck child does not lose them (the parent holds the listener), and its
# replacement serves them. Stopping the server closes every listener: what
# is still queued then is reset, as Linux does to a closed listener's queue.
# bats test_tags=slow
@test "lesson11 reuseport: clients queued on a dead child's listener are served by its replacement; a stop resets them" {
  start_server lesson11/reuseport -n 2 0
  wait_children 2
  stuck_reader greedy
  local stuck i=0
  stuck=$(ss -Htnp state established "( sport = :$SERVER_PORT )" | awk '$2 > 100000' |
          sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n 1)
  [[ -n $stuck ]]
  # Clients until one is queued behind the stuck child (each lands on a listener by hash).
  while (($(queued) == 0 && i < 40)); do
    i=$((i + 1))
    peer_in "c$i" "line:c$i" readline
    wait_until "c$i to be served or queued" _served_or_queued "c$i"
  done
  (($(queued) > 0)) || { echo "40 clients, none queued behind the stuck child"; return 1; }
  echo "$i clients, $(queued) of them queued behind the stuck child"
  kill -KILL "$stuck"
  wait_for_log "^child $stuck killed by signal 9"
  wait_until "every client to be served" _all_served "$i"
  run ! grep -qs 'reset' "$BATS_TEST_TMPDIR"/c*.out

  # Now a stop while a client is queued: holders until one has to queue.
  local j=0
  while (($(queued) == 0 && j < 40)); do
    j=$((j + 1))
    peer_in "h$j" "line:h$j" readline hold
    wait_until "h$j to be served or queued" _held_or_queued "h$j"
  done
  (($(queued) > 0))
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  wait_until "the queued client to be reset" grep -qs 'ECONNRESET' "$BATS_TEST_TMPDIR/h$j.out"
}

_held_or_queued() { peer_says "$1" holding || (($(queued) > 0)); }
_served_or_queued() { peer_says "$1" "line $1" || (($(queued) > 0)); }
_all_served() {
  local j
  for ((j = 1; j <= $1; j++)); do peer_says "c$j" "line c$j" || return 1; done
}

# ---- out of descriptors ---------------------------------------------------

# check_nofile PROGRAM: with room for the listener and accept_client()'s
# spare only (limit 5), each client is refused with a clean end of file and
# the log says why; raised again, the limit lets the pool serve.
check_nofile() {
  nofile_pool 5 "$1" -n 1 0
  local i pid
  for i in 1 2 3; do
    run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
    [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]] || { echo "client $i: $output"; return 1; }
  done
  # (glibc says "Too many open files", musl "No file descriptors available".)
  wait_for_log 'accept: refusing a client: [^(]* \(EMFILE\)'
  for pid in "$SERVER_PID" $(children_of "$SERVER_PID"); do
    prlimit --pid "$pid" --nofile=1024:
  done
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"room again"
  [[ $status -eq 0 && $output == "room again" ]]
  check_stop_quickly
}

@test "lesson11 prefork: out of descriptors, a child refuses each client cleanly and serves again later" { check_nofile lesson11/prefork; }
@test "lesson11 prethread: out of descriptors, the accepting thread refuses each client cleanly and serves again later" { check_nofile lesson11/prethread; }

# check_stop_quickly: SIGTERM, status 0 within a second (three under a sanitizer).
check_stop_quickly() {
  local started=$EPOCHREALTIME max
  max=$([[ $SOCKLAB_VARIANT == release ]] && echo 1 || echo 3)
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS after SIGTERM"; return 1; }
  awk -v a="$started" -v b="$EPOCHREALTIME" -v max="$max" 'BEGIN { print "stopped in " b - a " s"; exit !(b - a < max) }'
}
