# replays.bash - replays run in the background while a file's tests run,
# for docs.bats (the chapters) and replayer.bats (the replayer's fixtures).
# Replays mostly wait (for servers, time limits, Nagle's 40 ms), so a
# file's setup_file starts them all with start_replays, four at a time,
# and each test collects its result with replay_result.

# start_replays SPEC...: each SPEC is "NAME MD [VAR=VALUE...]"; the
# results go to $REPLAYS. Call from setup_file.
start_replays() {
  export REPLAYS=$BATS_FILE_TMPDIR/replays
  mkdir -p "$REPLAYS"
  {
    local running=0 spec
    local -a args
    for spec; do
      if ((running >= 4)); then wait -n || true; running=$((running - 1)); fi
      read -ra args <<< "$spec"
      _background_replay "${args[@]}" &
      running=$((running + 1))
    done
    wait
  } 3>&- 4>&- &
}

# _background_replay NAME MD [VAR=VALUE...]: one replay, its results in $REPLAYS.
_background_replay() {
  local r=$REPLAYS/$1 md=$2 start=$SECONDS st=0
  shift 2
  env "$@" "$BATS_TEST_DIRNAME/replay" "$md" > "$r.out" 2>&1 &
  echo $! > "$r.pid"
  wait $! || st=$?                      # (setup_file runs under set -e)
  echo "$st" > "$r.status.new"
  echo $((SECONDS - start)) > "$r.secs"
  mv "$r.status.new" "$r.status"
}

# stop_replays: for teardown_file: replays a filtered run never collected.
stop_replays() {
  local p
  for p in "$REPLAYS"/*.pid; do
    [[ -e $p ]] && kill -TERM "$(cat "$p")" 2>/dev/null
  done
  return 0
}

# replay_result NAME: wait for the background replay NAME; its exit status
# and report into status and output, as `run` would.
replay_result() {
  local r=$REPLAYS/$1 i
  for ((i = 0; i < 2400; i++)); do [[ -e $r.status ]] && break; sleep 0.05; done
  [[ -e $r.status ]] || { echo "$1: no result from its replay within 120 s"; return 1; }
  status=$(cat "$r.status")
  output=$(cat "$r.out")
  printf '%s\n' "$output"               # shown when the test fails
}
