#!/usr/bin/env bats
# bats file_tags=slow
# Tests of the two tools that keep docs/ honest, tests/replay and
# tests/check-quotes, on fixtures that need no lesson:
# tests/fixtures/replay/bin/lesson99 is a fake server and client. A
# fixture's first line says what it shows. (make check runs this file; a
# change to the lessons or the chapters cannot break it, and docs.bats,
# in make test, replays the chapters themselves.)
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
bats_require_minimum_version 1.5.0
load replay
load replays

# NAME [VAR=VALUE...]; FAKE_PIDS=@ is a file of their own.
FIXTURES=(session ports 'interrupt FAKE_PIDS=@' 'wrong SOCKLAB_REPLAY_TIMEOUT=1'
  wrong-terminal wildcards wildcards-bad 'timeout SOCKLAB_REPLAY_TIMEOUT=1'
  'stubborn FAKE_PIDS=@ SOCKLAB_REPLAY_TIMEOUT=1' 'left-running FAKE_PIDS=@'
  leftover-fd typed-into-server no-start no-server)

setup_file() {
  local spec name args
  local -a queue=()
  for spec in "${FIXTURES[@]}"; do
    read -r name args <<< "$spec"
    queue+=("$name $BATS_TEST_DIRNAME/fixtures/replay/$name.md SOCKLAB_BIN=$BATS_TEST_DIRNAME/fixtures/replay/bin SOCKLAB_REPLAY_TIMEOUT=2 ${args//@/$BATS_FILE_TMPDIR/replays/$name.pids}")
  done
  start_replays "${queue[@]}"
}

teardown_file() { stop_replays; }

setup() {
  FIX=$BATS_TEST_DIRNAME/fixtures/replay
  REPLAY=$BATS_TEST_DIRNAME/replay
  QUOTES=$BATS_TEST_DIRNAME/check-quotes
  bg=''
}

teardown() {
  if [[ -n $bg ]]; then kill "$bg" 2>/dev/null || true; fi
}

# gone PID...: true once none of them runs (zombies count as gone), 5 s max.
gone() {
  local i p s left
  for ((i = 0; i < 250; i++)); do
    left=0
    for p; do
      s=$(ps -o stat= -p "$p") && [[ $s != Z* ]] && left=1
    done
    ((left)) || return 0
    sleep 0.02
  done
  return 1
}

@test "replay: a terminal keeps its directory, variables, descriptors, jobs and \$?" {
  replay_result session
  [ "$status" -eq 0 ]
  [[ $output == *"session.md: 15 checks passed"* ]]
}

@test "replay: doc ports map to the ports servers really get, and back" {
  replay_result ports
  [ "$status" -eq 0 ]
}

@test "replay: terminals, ^C, and a restart on the same port" {
  replay_result interrupt
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$REPLAYS/interrupt.pids")" -eq 3 ]
  local pids
  mapfile -t pids < "$REPLAYS/interrupt.pids"
  gone "${pids[@]}"
}

@test "replay: a wrong expected line fails, with a diff that names it" {
  replay_result wrong
  [ "$status" -eq 1 ]
  [[ $output == *"wrong.md:13: terminal 2: output differs: \$ ./lesson99/client 127.0.0.1 9000"* ]]
  [[ $output == *$'\n-Message from server: Hello Mars!\n+Message from server: Hello World!\n'* ]]
  [[ $output == *"wrong.md:22: terminal 1: output of the program started at line 6 differs"* ]]
  [[ $output == *$'\n-127.0.0.1:PORT connected\n'* ]]
  [[ $output == *"2 of 5 checks failed"* ]]
}

@test "replay: output shown in the wrong terminal fails, and so does a block without a label" {
  replay_result wrong-terminal
  [ "$status" -eq 1 ]
  [[ $output == *"wrong-terminal.md:13: terminal 2: output differs"* ]]
  [[ $output == *"wrong-terminal.md:22: block shows program output, but no program runs in terminal 2"* ]]
  [[ $output == *"wrong-terminal.md:28: terminal 1: output after ^C differs"* ]]
  [[ $output == *"wrong-terminal.md:34: this chapter uses several terminals: say which one this block is"* ]]
}

@test "replay: wildcards ... and [...] match variable output" {
  replay_result wildcards
  [ "$status" -eq 0 ]
}

@test "replay: wildcards do not hide a wrong line" {
  replay_result wildcards-bad
  [ "$status" -eq 1 ]
  [[ $output == *"wildcards-bad.md:4: terminal 1: output differs"* ]]
  [[ $output == *"wildcards-bad.md:8: terminal 1: output differs"* ]]
}

@test "replay: a command past its deadline is interrupted and reported" {
  replay_result timeout
  [ "$status" -eq 1 ]
  [[ $output == *"timeout.md:4: terminal 1: timed out after 1 s, interrupted"* ]]
  [[ $output == *"1 of 2 checks failed"* ]]    # the next command ran and passed
  (($(cat "$REPLAYS/timeout.secs") < 8))
}

@test "replay: a server that ignores ^C is reported and killed" {
  replay_result stubborn
  [ "$status" -eq 1 ]
  [[ $output == *"stubborn.md:4: terminal 1: the program started at line 4 did not exit within 1 s of ^C; killed"* ]]
  gone "$(cat "$REPLAYS/stubborn.pids")"
}

@test "replay: a server or a job left running at the end fails" {
  replay_result left-running
  [ "$status" -eq 1 ]
  [[ $output == *"left-running.md:6: terminal 1: the program started here still runs at the end of the chapter (stop it with ^C): bash ./lesson99/server 0"* ]]
  [[ $output == *"left-running.md:15: terminal 2: still running at the end of the chapter: sleep 60"* ]]
  gone "$(cat "$REPLAYS/left-running.pids")"
}

@test "replay: a socket the shell still holds at the end fails" {
  replay_result leftover-fd
  [ "$status" -eq 1 ]
  [[ $output == *"leftover-fd.md:10: terminal 1: the shell still holds descriptor 5, a socket"* ]]
  [[ $output != *"descriptor 6"* && $output != *"descriptor 7"* ]]
  [[ $output == *"1 of 4 checks failed"* ]]
}

@test "replay: a command typed where a server still runs stops the replay" {
  replay_result typed-into-server
  [ "$status" -eq 1 ]
  [[ $output == *"typed-into-server.md:9: terminal 1 still runs the program started at line 4"* ]]
}

@test "replay: a server that does not start stops the replay" {
  replay_result no-start
  [ "$status" -eq 1 ]
  [[ $output == *"no-start.md:4: terminal 1: server exited with status 2 before 'listening on'"* ]]
  [[ $output == *"    usage: server PORT [ADDRESS]"* ]]
  [[ $output != *"never reached"* ]]
}

@test "replay: server output without a server fails" {
  replay_result no-server
  [ "$status" -eq 1 ]
  [[ $output == *"no-server.md:4: block shows program output, but no program runs in terminal 1"* ]]
}

# killed_replay SIGNAL STATUS: start the replayer on slow.md, kill it with
# SIGNAL while its terminals run, and check that nothing outlives it.
killed_replay() {
  export SOCKLAB_BIN=$FIX/bin FAKE_PIDS=$BATS_TEST_TMPDIR/pids FAKE_MARK=$BATS_TEST_TMPDIR/mark
  "$REPLAY" "$FIX/slow.md" > "$BATS_TEST_TMPDIR/out" 2>&1 3>&- 4>&- &
  bg=$!
  local i st=0
  for ((i = 0; i < 250; i++)); do [[ -s $FAKE_MARK ]] && break; sleep 0.02; done
  [[ -s $FAKE_MARK ]]
  kill "-$1" "$bg"
  wait "$bg" || st=$?
  bg=''
  [ "$st" -eq "$2" ]
  # the server, the shell running sleep, and the tmux server
  gone "$(cat "$FAKE_PIDS")" "$(cat "$FAKE_MARK")" "$(cat "$FAKE_MARK.tmux")"
  [ ! -e "$(cat "$FAKE_MARK.dir")" ]
}

@test "replay: SIGTERM to the replayer stops its terminals and removes scratch" {
  killed_replay TERM 143
}

@test "replay: SIGKILL to the replayer: its watchdog stops the terminals" {
  killed_replay KILL 137
}

@test "replay: usage errors exit 2" {
  run "$REPLAY"
  [ "$status" -eq 2 ]
  run "$REPLAY" "$FIX/no-such-chapter.md"
  [ "$status" -eq 2 ]
}

@test "replay_chapter passes a matching chapter" {
  export SOCKLAB_BIN=$FIX/bin
  replay_chapter "$FIX/quotes-good.md"
}

@test "check-quotes: matching quotes, elisions and examples pass" {
  run "$QUOTES" "$FIX/quotes-good.md"
  printf '%s\n' "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "check-quotes: a quote that drifted fails, naming the line" {
  run "$QUOTES" "$FIX/quotes-drift.md"
  printf '%s\n' "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"quotes-drift.md:7: quote of tests/fixtures/replay/sample.c drifted: lines 5-6 match"* ]]
  [[ $output == *"doc:        return 41;"* ]]
  [[ $output == *"source:     return 42;"* ]]
  [[ $output == *"quotes-drift.md:15: not in tests/fixtures/replay/sample.c after line 10"* ]]
}

@test "check-quotes: a c block that does not say what it is fails" {
  run "$QUOTES" "$FIX/quotes-nocomment.md"
  printf '%s\n' "$output"
  [ "$status" -eq 1 ]
  [[ $output == *"quotes-nocomment.md:7: \`\`\`c block: say whether this is a quote"* ]]
}

@test "check-quotes: a quote of a missing file fails" {
  cat > "$BATS_TEST_TMPDIR/missing.md" <<'EOF'
<!-- quote: no/such/file.c -->
```c
int x;
```
EOF
  run "$QUOTES" "$BATS_TEST_TMPDIR/missing.md"
  [ "$status" -eq 1 ]
  [[ $output == *"missing.md:2: quoted file no/such/file.c is missing or empty"* ]]
}

# Every chapter, replayed in real terminals against $SOCKLAB_BIN (started
