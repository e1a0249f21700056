# 11-pools.bash - helpers for tests/11-pools.bats: the process and thread
# pools of lesson 11.
# shellcheck shell=bash disable=SC2154  # status, output, lines: set by bats' run

# The children of the server, one pid a line.
children_of() { pgrep -P "$1" || true; }
_children_are() { (($(child_count "$1") == $2)); }

# wait_children N: the server has N live children.
wait_children() {
  wait_until "$1 children of $SERVER_PID" _children_are "$SERVER_PID" "$1" || {
    ps -o pid,s,comm --ppid "$SERVER_PID" >&2
    return 1
  }
}

# peer_in NAME STEP...: a background peer whose output is in $BATS_TEST_TMPDIR/NAME.out;
# its pid goes into PEER_PID.
peer_in() {
  local name=$1; shift
  start_background "$BATS_TEST_TMPDIR/$name.out" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" "$@"
  # shellcheck disable=SC2034  # for the caller
  PEER_PID=$BACKGROUND_PID
}

# peer_says NAME LINE: the peer NAME has printed LINE (a whole line).
peer_says() { grep -qsx -- "$2" "$BATS_TEST_TMPDIR/$1.out"; }

# hold_worker NAME: a client that is served once (its line comes back) and
# then stays connected, silent: it holds one child or worker of the pool.
hold_worker() {
  peer_in "$1" "line:$1" readline hold
  wait_until "$1 to be served and hold its worker" peer_says "$1" holding
}

# Connections waiting in the kernel's listen queues of $SERVER_PORT, not yet
# accepted (the Recv-Q of every listener on that port, added up).
queued() { ss -Hltn "( sport = :$SERVER_PORT )" | awk '{ n += $2 } END { print n + 0 }'; }
_queued_is() { (($(queued) == $1)); }

connected_lines() { grep -c ' connected$' "$SERVER_LOG" || true; }

# stuck_reader NAME: a client that sends without end and never reads; once
# the server's writes to it are stalled (its send queue full), it holds one
# worker for good.
stuck_reader() {
  peer_in "$1" send:1000000000
  wait_until "the server's writes to $1 to stall" send_queue_full "$SERVER_PORT"
}

# nofile_pool LIMIT PROGRAM ARGS...: start_server with a soft descriptor
# limit of LIMIT (the children inherit it).
nofile_pool() {
  local limit=$1 prog=$2 wrapper
  shift 2
  wrapper=$BATS_TEST_TMPDIR/nofile.$limit.${prog//\//.}
  printf '#!/bin/sh\nexec prlimit --nofile=%s: -- %q "$@"\n' "$limit" "$BIN/$prog" >"$wrapper"
  chmod +x "$wrapper"
  start_server "$(realpath --relative-to="$BIN" "$wrapper")" "$@"
}
