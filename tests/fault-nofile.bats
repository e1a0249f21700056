# Out of descriptors for real: lessons 01 to 04 started with RLIMIT_NOFILE
# so low that a connection, or even accept_client()'s spare descriptor, does
# not fit (prlimit --nofile=4: 0, 1, 2 and the listener). No server may spin
# or flood its log, each must still stop on SIGTERM, and once descriptors
# are free again it serves the clients that waited.
# Accept calls are counted by the fault library (SOCKLAB_FAULT_LOG).
load helpers
load concurrency

# nofile_server LIMIT PROGRAM [VAR=VALUE...]: start_server PROGRAM with a
# soft descriptor limit of LIMIT from its first instruction (raised later
# with prlimit --pid), its accept calls counted in $FAULTS.
nofile_server() {
  local limit=$1 prog=$2 wrapper
  shift 2
  wrapper=$BATS_TEST_TMPDIR/nofile.$limit.${prog//\//.}
  printf '#!/bin/sh\nexec prlimit --nofile=%s: -- %q "$@"\n' "$limit" "$BIN/$prog" >"$wrapper"
  chmod +x "$wrapper"
  FAULTS=$BATS_TEST_TMPDIR/faults.${#_servers[@]}.log
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_LOG="$FAULTS" "$@")
  start_server "$(realpath --relative-to="$BIN" "$wrapper")"
}

# A client that waits for its answer in the background: the greeting for
# lesson 01, an echo for the others. Its output is in $WAITER_OUT.
start_waiter() {
  WAITER_OUT=$BATS_TEST_TMPDIR/waiter.${#_background[@]}.out
  if [[ $1 == lesson01/* ]]; then
    start_background "$WAITER_OUT" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
  else
    start_background "$WAITER_OUT" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:waited readline
  fi
}

_waiter_served() { grep -qsE '^(eof after 13|line waited)$' "$WAITER_OUT"; }

accept_lines() { grep -c 'accept' "$SERVER_LOG" || true; }

# stop_quickly: SIGTERM, status 0 within a second (three under a sanitizer,
# whose exit-time checks take their own time on a busy machine).
stop_quickly() {
  local started=$EPOCHREALTIME max
  max=$([[ $SOCKLAB_VARIANT == release ]] && echo 1 || echo 3)
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS after SIGTERM"; return 1; }
  awk -v a="$started" -v b="$EPOCHREALTIME" -v max="$max" 'BEGIN { exit !(b - a < max) }' ||
    { echo "took more than $max s to stop"; return 1; }
}

# check_no_room PROGRAM: with no descriptor to spare, a waiting client
# makes the server neither spin nor flood its log, for a second and more;
# raising the limit lets it serve that client; and at the limit SIGTERM
# still stops it.
check_no_room() {
  local prog=$1 accepts lines
  nofile_server 4 "$prog"
  start_waiter "$prog"
  # Two lines: more than a second at the limit (one line a second at most).
  wait_for_log 'accept' 2
  prlimit --pid "$SERVER_PID" --nofile=1024:
  wait_until "the waiting client to be served" _waiter_served ||
    { cat "$WAITER_OUT" "$SERVER_LOG"; return 1; }
  lines=$(accept_lines)
  NO_ROOM_LOG=$SERVER_LOG
  stop_quickly
  accepts=$(accepts_in "$FAULTS" "$SERVER_PID")
  echo "$prog: $accepts accept calls, $lines log lines about them, in over a second"
  ((lines <= 4)) || { cat "$SERVER_LOG"; return 1; }
  [[ -n $accepts ]] && ((accepts <= 60))

  # Stopped while a client waits at the limit.
  nofile_server 4 "$prog"
  start_waiter "$prog"
  wait_for_log 'accept'
  stop_quickly
}

@test "lesson01: out of descriptors, the server pauses instead of spinning, says so once a second, and still stops" {
  check_no_room lesson01/server
  grep -q '^server: accept (trying again in a second): Too many open files (EMFILE)$' "$NO_ROOM_LOG"
}

@test "lesson02: out of descriptors, the server pauses instead of spinning, says so once a second, and still stops" {
  check_no_room lesson02/server
  grep -q '^server: accept (trying again in a second): Too many open files (EMFILE)$' "$NO_ROOM_LOG"
}

@test "lesson03: out of descriptors, the server pauses instead of spinning, says so once a second, and still stops" {
  check_no_room lesson03/server
  grep -q '^server: accept (trying again in a second): Too many open files (EMFILE)$' "$NO_ROOM_LOG"
}

@test "lesson01-03: with room for one connection (limits 5 and 6) they serve as usual" {
  local prog limit
  for prog in lesson01/server lesson02/server lesson03/server; do
    for limit in 5 6; do
      nofile_server "$limit" "$prog"
      start_waiter "$prog"
      wait_until "$prog at limit $limit to serve" _waiter_served ||
        { cat "$WAITER_OUT" "$SERVER_LOG"; return 1; }
      ! grep -q accept "$SERVER_LOG" || return 1
      stop_quickly
    done
  done
}

@test "lesson04: with not even a spare descriptor, accept_client() pauses, logs once a second with a count, and still stops" {
  check_no_room lesson04/server
  grep -q '^server: accept: no descriptor to refuse a client with: Too many open files (EMFILE)$' "$NO_ROOM_LOG"
  # The second line counts what the first second held back.
  grep -qE '^server: accept: no descriptor to refuse a client with: Too many open files \(EMFILE\); [1-9][0-9]* more like it held back$' "$NO_ROOM_LOG"
}

@test "lesson04: with room for the spare only (limit 5), each client is refused cleanly at once" {
  nofile_server 5 lesson04/server
  local i
  for i in 1 2 3; do
    run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
    [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]] || { echo "client $i: $output"; return 1; }
  done
  wait_for_log 'accept: refusing a client: Too many open files \(EMFILE\)'
  stop_quickly
  (($(accepts_in "$FAULTS" "$SERVER_PID") <= 3 * 3 + 2))
}

@test "lesson04: with room for one client (limit 6), the next is refused, and served once the first leaves" {
  nofile_server 6 lesson04/server
  hold_connection
  run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
  [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]]
  echo_on "$HELD_FD" "still served"
  exec {HELD_FD}>&-
  wait_for_log 'disconnected$'
  run_client lesson02/client 127.0.0.1 "$SERVER_PORT" <<<"newcomer"
  [[ $status -eq 0 && $output == newcomer ]]
  stop_quickly
}

@test "lesson04: the whole system out of descriptors (ENFILE, injected): no spin, a bounded log, and it still stops" {
  nofile_server 1024 lesson04/server SOCKLAB_FAULT_ACCEPT=ENFILE:1000000000
  start_waiter lesson04/server
  wait_for_log 'accept' 2
  local lines
  lines=$(accept_lines)
  stop_quickly
  local accepts
  accepts=$(accepts_in "$FAULTS" "$SERVER_PID")
  echo "$accepts accept calls, $lines log lines"
  grep -q 'accept: no descriptor to refuse a client with: Too many open files in system (ENFILE)' "$SERVER_LOG"
  ((lines <= 4)) && ((accepts <= 60))
}
