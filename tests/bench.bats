#!/usr/bin/env bats
# shellcheck disable=SC2027  # $num is a regex: it must stay unquoted inside =~
# make bench's script, tests/bench/server-bench, in its tiny mode: every
# server model runs once, briefly, and both tables come out whole. Speeds
# are never asserted: this machine is shared, and a benchmark's numbers are
# for reading, not for failing on.
load helpers

# The rows each table must have: every server of the course, lesson 11's
# pools when they are built, and the minimal baselines.
_servers() {
  local s
  SERVERS=(min-iter min-fork min-thread 02 03 04 05 08-poll 08-epoll 10-handoff)
  for s in prefork reuseport prethread; do
    [[ ! -x $SOCKLAB_ROOT/lesson11/$s ]] || SERVERS+=("11-$s")
  done
}

# bats test_tags=slow
@test "make bench BENCH=tiny: both tables have a row of numbers for every server, and a chart or a note" {
  [[ $SOCKLAB_VARIANT == release && $BIN == "$SOCKLAB_ROOT" ]] ||
    skip "the benchmark measures the release build in the repository"
  [[ -x $SOCKLAB_ROOT/build/release/bench/min-iter ]] || skip "build/release/bench/ is missing: make test-tools"
  _servers
  run timeout -s KILL 120 "$SOCKLAB_ROOT/tests/bench/server-bench" --tiny 3>&- 4>&-
  echo "$output"
  [[ $status -eq 0 ]]
  [[ $output == *"$(uname -sr), $(nproc) CPUs"* && $output == *"Load average before: "* ]]
  local conns msgs s c row
  conns=$(sed -n '/^### Connections/,/^### Messages/p' <<<"$output")
  msgs=$(sed -n '/^### Messages/,/^### Goals/p' <<<"$output")
  # A number, then ±spread: "4753 ±0%", "55.8 ±3%".
  local num='[0-9]+(\.[0-9]+)? ±[0-9]+%'
  for s in "${SERVERS[@]}"; do
    row=$(grep -F "| $s | " <<<"$conns") || { echo "no connections row for $s"; return 1; }
    [[ $row =~ ^"| $s | "[^|]+" | "$num" | "[0-9]+"% | "$num" | "(-?[0-9.]+|"0 (baseline)")" |"$ ]] ||
      { echo "connections row of $s: $row"; return 1; }
    for c in 1 10 100 1000; do
      if [[ $s == min-iter || $s == 02 ]] && ((c > 1)); then
        ! grep -qF "| $s | $c | " <<<"$msgs" || { echo "iterative $s has a row at C=$c"; return 1; }
        continue
      fi
      row=$(grep -F "| $s | $c | " <<<"$msgs") || { echo "no messages row for $s at C=$c"; return 1; }
      [[ $row =~ ^"| $s | $c | "$num" | "$num" | "$num" |"$ ]] || { echo "messages row: $row"; return 1; }
    done
  done
  (($(grep -c '^| ' <<<"$conns") == ${#SERVERS[@]} + 1))
  (($(grep -c '^| ' <<<"$msgs") == ${#SERVERS[@]} * 4 - 6 + 1))
  if command -v gnuplot >/dev/null; then
    grep -q '<svg' "$SOCKLAB_ROOT/build/bench/connections.svg"
    grep -q '<svg' "$SOCKLAB_ROOT/build/bench/messages.svg"
  else
    [[ $output == *"No chart: gnuplot is not installed"* ]]
  fi
}

@test "server-bench: usage" {
  run "$SOCKLAB_ROOT/tests/bench/server-bench" --bogus
  [[ $status -eq 2 && $output == "usage: tests/bench/server-bench [--tiny]" ]]
  run "$SOCKLAB_ROOT/tests/bench/server-bench" --help
  [[ $status -eq 0 && $output == *"make bench"* ]]
}
