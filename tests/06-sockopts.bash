# 06-sockopts.bash - helpers for tests/06-sockopts.bats (`load 06-sockopts`).

# elapsed_between START END MIN MAX: true if END - START (EPOCHREALTIME
# values) lies within [MIN, MAX] seconds; says the value otherwise.
elapsed_between() {
  awk -v a="$1" -v b="$2" -v lo="$3" -v hi="$4" 'BEGIN {
    d = b - a
    if (d >= lo && d <= hi) exit 0
    printf "took %.3f s, expected %s to %s s\n", d, lo, hi
    exit 1
  }'
}

# inspect_row OUTPUT OPTION: the row of inspect's table for OPTION, as words.
inspect_row() {
  awk -v o="$2" '$1 == o { $1 = ""; sub(/^ /, ""); print }' <<<"$1"
}

# time_wait_on PORT: how many connections on local port PORT are in TIME-WAIT.
time_wait_on() {
  ss -Htan state time-wait "( sport = :$1 )" | wc -l
}

# pingpong_seconds FLAGS...: seconds that lesson06/pingpong reports taking
# for its rounds against the current server.
pingpong_seconds() {
  local out
  out=$(timeout -s KILL "$DEADLINE" "$BIN/lesson06/pingpong" "$@" 127.0.0.1 "$SERVER_PORT") ||
    { echo "pingpong $* failed: $out" >&2; return 1; }
  no_sanitizer_report "$out" pingpong || return 1
  # "20 rounds in 0.842 s: 42.100 ms per round"
  awk '{ print $4 }' <<<"$out"
}

# can_use_netns: true when this machine lets us create network namespaces.
can_use_netns() {
  local probe=sockopts-probe-$$-$BATS_TEST_NUMBER
  ((EUID == 0)) || return 1
  command -v ip >/dev/null || return 1
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe"
}
