# concurrency.bash - helpers for the tests of the concurrent servers
# (tests/concurrency.bats, 03-fork.bats, 04-threads.bats).
# shellcheck shell=bash disable=SC2154  # status, output, lines: set by bats' run

# The echo servers that serve many clients at once; each test loops over them.
# ThreadSanitizer is for threads; it also holds a signal handler back while
# a call blocks, which leaves lesson 03 a zombie until the next client.
if [[ $SOCKLAB_VARIANT == tsan ]]; then
  CONCURRENT_SERVERS=(lesson04/server)
else
  CONCURRENT_SERVERS=(lesson03/server lesson04/server)
fi
if [[ -x $BIN/lesson05/server ]]; then CONCURRENT_SERVERS+=(lesson05/server); fi

# five_at_once [SECONDS]: five clients connect to $SERVER_PORT, then each
# sends a line and must get its echo while all five stay connected. Fails
# (after SECONDS, default $DEADLINE) unless all five were served; the tool's
# verdict is in $BATS_TEST_TMPDIR/five.out. The holding clients are left
# running; teardown (or kill_background "$BACKGROUND_PID") ends them.
five_at_once() {
  local out=$BATS_TEST_TMPDIR/five.out
  rm -f "$out"
  start_background "$out" "$TOOLS/conc-hold" 127.0.0.1 "$SERVER_PORT" 5 "${1:-$DEADLINE}"
  wait_until "five clients to be served or give up" grep -qs '^served ' "$out" || return 1
  grep -qx 'served 5 of 5' "$out" || { cat "$out" >&2; return 1; }
}

# What the server process holds: descriptors, threads, and live children.
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
thread_count() { find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
child_count() { pgrep -c -P "$1" || true; }
_no_children() { (($(child_count "$1") == 0)); }
# ps state of each child, one letter a line (Z: a zombie nobody reaped).
zombie_count() { ps -o s= --ppid "$1" | grep -c '^Z' || true; }
# VmRSS or VmSize of a process, in KiB.
vm_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# resources PID: one line "fds=N threads=N children=N", for comparing.
resources() { echo "fds=$(fd_count "$1") threads=$(thread_count "$1") children=$(child_count "$1")"; }
_resources_are() { [[ $(resources "$1") == "$2" ]]; }

# limit_for_room PID N: the RLIMIT_NOFILE that leaves process PID room for
# exactly N more descriptors (new ones take the lowest free numbers; those
# it holds above the limit stay open).
limit_for_room() {
  local pid=$1 room=$2 fd=0
  while ((room > 0)); do
    [[ -e /proc/$pid/fd/$fd ]] || room=$((room - 1))
    fd=$((fd + 1))
  done
  echo "$fd"
}

# accepts_in FAULT_LOG PID: the accept calls the fault library counted for
# process PID (its line is written when the process exits).
accepts_in() { sed -n "s/^pid=$2 accept=\([0-9]*\) .*/\1/p" "$1"; }

# unprivileged UID NPROC PROGRAM: a wrapper that runs $BIN/PROGRAM as user
# UID with at most NPROC processes and threads (RLIMIT_NPROC, which does not
# bind root), printed as a path relative to $BIN, for start_server. Raise
# the limit later with: as_user UID prlimit --pid PID --nproc="$(ulimit -Hu)":
unprivileged() {
  local uid=$1 nproc=$2 prog=$3 wrapper=$BATS_TEST_TMPDIR/unprivileged.${3//\//.}
  printf '#!/bin/sh\nexec prlimit --nproc=%s: -- %s %q "$@"\n' \
    "$nproc" "setpriv --reuid=$uid --regid=$uid --clear-groups --" "$BIN/$prog" >"$wrapper"
  chmod +x "$wrapper"
  realpath --relative-to="$BIN" "$wrapper"
}

as_user() {
  local uid=$1; shift
  setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# hold_connection: opens a connection to $SERVER_PORT in this shell, checks
# that a line comes back, and sets HELD_FD. Close it with: exec {HELD_FD}>&-
hold_connection() {
  local reply
  exec {HELD_FD}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  echo_on "$HELD_FD" "held $HELD_FD"
}

# echo_on FD TEXT: TEXT sent on FD comes back within $DEADLINE seconds.
echo_on() {
  local reply=''
  printf '%s\n' "$2" >&"$1"
  read -r -t "$DEADLINE" reply <&"$1" || true
  [[ $reply == "$2" ]] || { echo "sent '$2' on fd $1, got '$reply'" >&2; return 1; }
}
