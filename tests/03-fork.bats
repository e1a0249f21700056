# Lesson 03: the echo server with one process per client.
# (What every concurrent server must do is in concurrency.bats.)
load helpers
load concurrency

@test "lesson03: typed lines come back through lesson 02's client, and it exits 0" {
  start_server lesson03/server
  run_client lesson03/client 127.0.0.1 "$SERVER_PORT" <<<$'hello\nworld'
  [[ $status -eq 0 && $output == $'hello\nworld' ]]
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
}

@test "lesson03: works over IPv6 ::1" {
  check_listens_on lesson03/server ::1 '[::1]'
  run_client lesson03/client ::1 "$SERVER_PORT" <<<"over IPv6"
  [[ $status -eq 0 && $output == "over IPv6" ]]
  wait_for_log '^\[::1\]:[0-9]+ disconnected$'
}

@test "lesson03: no zombies after 20 connections, and each is logged once" {
  start_server lesson03/server
  run "$TOOLS/conc-burst" 127.0.0.1 "$SERVER_PORT" 20 5
  [[ $status -eq 0 ]]
  wait_for_log 'disconnected$' 20
  # Every child has exited; the parent must have reaped them all.
  wait_until "no children left, zombies included" _no_children "$SERVER_PID" || {
    ps -o pid,s,comm --ppid "$SERVER_PID"
    echo "zombies: $(zombie_count "$SERVER_PID")"
    return 1
  }
  # fork() copies unwritten stdio buffers: a line printed twice shows it.
  [[ $(grep -c ' connected$' "$SERVER_LOG") -eq 20 ]]
  [[ $(grep -c ' disconnected$' "$SERVER_LOG") -eq 20 ]]
}

@test "lesson03: each client has its own process; the parent keeps no connection, the children no listener" {
  start_server lesson03/server
  local fds children pid
  fds=$(fd_count "$SERVER_PID")
  five_at_once
  children=$(child_count "$SERVER_PID")
  [[ $children -eq 5 ]] || { echo "$children children for five clients"; return 1; }
  # The parent closed its copy of each connection...
  [[ $(fd_count "$SERVER_PID") -eq $fds ]]
  # ...and only the parent has the listening socket: each child closed it.
  run ss -Htlnp "( sport = :$SERVER_PORT )"
  [[ ${#lines[@]} -eq 1 && $output == *"pid=$SERVER_PID,"* ]]
  for pid in $(pgrep -P "$SERVER_PID"); do
    [[ $output != *"pid=$pid,"* ]]
  done
  # Each connection is held by a child, none by the parent.
  run ss -Htnp state established "( sport = :$SERVER_PORT )"
  [[ ${#lines[@]} -eq 5 && $output != *"pid=$SERVER_PID,"* ]]
}

@test "lesson03: a child holds its client's connection and nothing else of the parent's" {
  start_server lesson03/server
  hold_connection
  local child fd targets=()
  child=$(pgrep -P "$SERVER_PID")
  [[ -n $child ]]
  for fd in /proc/"$child"/fd/*; do
    ((${fd##*/} > 2)) && targets+=("$(readlink "$fd")")
  done
  # No listener (closed), no spare descriptor, no log file: one socket.
  [[ ${#targets[@]} -eq 1 && ${targets[0]} == socket:* ]] ||
    { echo "child $child holds: ${targets[*]}"; return 1; }
  exec {HELD_FD}>&-
}

@test "lesson03: SIGTERM stops the parent at once; a client still connected is served to the end" {
  start_server lesson03/server
  hold_connection
  local child
  child=$(pgrep -P "$SERVER_PID")
  [[ -n $child ]]
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  # Nobody listens any more: a new client is refused...
  run_client lesson03/client 127.0.0.1 "$SERVER_PORT" </dev/null
  [[ $status -eq 1 && $output == *"Connection refused (ECONNREFUSED)"* ]]
  # ...but the one connected before is still served by its child,
  echo_on "$HELD_FD" "after the parent left"
  # which exits when its client leaves.
  exec {HELD_FD}>&-
  wait_until "the child to exit" _exited "$child"
  wait_for_log 'disconnected$'
}

# Gone, or a zombie waiting for its new parent (init) to reap it.
_exited() { [[ $(ps -o s= -p "$1") != [RSD] ]]; }

@test "lesson03: a failed fork is logged, that client is closed, and the server keeps serving" {
  [[ $(id -u) -eq 0 ]] || skip "needs root, to run the server as another user"
  [[ -z ${SOCKLAB_EMULATED:-} ]] || skip "qemu-user needs a thread of its own, which a limit of one process forbids"
  # RLIMIT_NPROC does not bind root: run the server as a user of its own.
  start_server "$(unprivileged 61003 1 lesson03/server)"   # itself, no child
  run timeout "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" drain
  [[ $status -eq 0 && ${lines[-1]} == "eof after 0" ]]
  wait_for_log '^server: fork 127\.0\.0\.1:[0-9]+: Resource temporarily unavailable \(EAGAIN\)$'
  as_user 61003 prlimit --pid "$SERVER_PID" --nproc="$(ulimit -Hu)":
  run_client lesson03/client 127.0.0.1 "$SERVER_PORT" <<<"served again"
  [[ $status -eq 0 && $output == "served again" ]]
}

@test "lesson03 server: usage and help" { check_usage lesson03/server; }
@test "lesson03 client: usage and help" { check_usage lesson03/client; }
@test "lesson03 server: bad ports exit 2 naming the value" { check_server_bad_ports lesson03/server; }
@test "lesson03 client: bad ports exit 2 naming the value" { check_client_bad_ports lesson03/client; }
@test "lesson03 server: a port in use exits 1 naming the address" { check_port_in_use lesson03/server; }
@test "lesson03 server: SIGTERM stops it with status 0 within a second" { check_stop_signal TERM lesson03/server; }
@test "lesson03 server: SIGINT stops it with status 0 within a second" { check_stop_signal INT lesson03/server; }
@test "lesson03 client: a closed port exits 1 naming the address" { check_client_refused lesson03/client; }

# The server holds a connection when it is stopped. Its child still holds
# it afterwards, so the port is busy until the client leaves: the restart
# must work all the same.
hold_one() {
  start_background "$BATS_TEST_TMPDIR/held.out" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:hi readline hold
  wait_until "an echo" grep -qs '^holding$' "$BATS_TEST_TMPDIR/held.out"
}

@test "lesson03 server: restarts on the same port while a child still serves" {
  check_restart_same_port lesson03/server hold_one
}

