# 10-addresses.bash - helpers for tests/10-addresses.bats: Unix domain
# servers, which announce a path where the others announce a port.
# shellcheck disable=SC2154  # _servers: helpers.bash's

# A scratch directory that another user may enter (BATS_TEST_TMPDIR may not
# be): the socket paths go here. unix_teardown removes it.
unix_dir() {
  UNIX_DIR=$(mktemp -d /tmp/socklab-l10.XXXXXX)
  chmod 755 "$UNIX_DIR"
}

unix_teardown() { [[ -z ${UNIX_DIR:-} ]] || rm -rf "$UNIX_DIR"; }

# start_userver ARGS... PATH: start_server for lesson 10's userver.
start_userver() { start_server lesson10/userver "$@"; }

# fd_count PID: how many descriptors the process holds.
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# workers_of PID: the worker processes of handoff, one per line.
workers_of() { pgrep -P "$1" | sort -n; }

# greeting HOST PORT: what dualstack tells a client at HOST (bash's /dev/tcp).
greeting() {
  local fd line
  exec {fd}<>"/dev/tcp/$1/$2" || return 1
  IFS= read -r -t "$DEADLINE" line <&"$fd"
  exec {fd}>&-
  printf '%s\n' "$line"
}

# stop_within_a_second SIGNAL: the server must exit 0 within a second.
stop_within_a_second() {
  local sig=$1 watchdog=${_servers[-1]}
  kill -s "$sig" "$SERVER_PID"
  local end=$((${EPOCHREALTIME//[.,]/} + 1000000))
  while ! _gone "$watchdog" && ((${EPOCHREALTIME//[.,]/} < end)); do sleep 0.01; done
  _gone "$watchdog" || { echo "still running a second after SIG$sig" >&2; return 1; }
  SERVER_STATUS=0
  wait "$watchdog" || SERVER_STATUS=$?
  [[ $SERVER_STATUS -eq 0 ]] || { echo "status $SERVER_STATUS after SIG$sig" >&2; return 1; }
}

# start_streamers N COMMAND...: N background loops that run COMMAND with
# `yes` as its input, again and again, for up to 6 seconds.
# shellcheck disable=SC2016  # expanded by the inner bash
start_streamers() {
  local n=$1 i; shift
  for ((i = 0; i < n; i++)); do
    start_background "$BATS_TEST_TMPDIR/streamer.$i.out" bash -c '
      end=$((SECONDS + 6))
      while ((SECONDS < end)); do yes "streaming at the server" | "$@" >/dev/null 2>&1; done' \
      streamer "$@"
  done
}

# check_stop_signal_running SIGNAL: the running server exits 0 within a second.
check_stop_signal_running() { stop_within_a_second "$1"; }
