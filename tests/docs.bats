#!/usr/bin/env bats
# The docs cannot drift from the programs: quoted code matches its source,
# and every console transcript is replayed. Then tests of the two tools that
# check this, tests/replay and tests/check-quotes, on fixtures that need no
# lesson: tests/fixtures/replay/bin/lesson99 is a fake server and client.
# A fixture's first line says what it shows.
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
bats_require_minimum_version 1.5.0
load replay

# The transcripts show what native glibc builds print: musl words errors its
# own way and caps listen()'s backlog at 128, and under qemu-user strace and
# ps see the emulator and its threads. Other builds skip the chapters.
_bin=${SOCKLAB_BIN:-$BATS_TEST_DIRNAME/..}
[[ $_bin == /* ]] || _bin=$BATS_TEST_DIRNAME/../$_bin
_machine() { od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' \n'; }
REPLAY_SKIP=
if grep -qa ld-musl "$_bin/lesson01/server" 2>/dev/null; then
  REPLAY_SKIP="the transcripts show what glibc builds print"
elif [[ -f $_bin/lesson01/server && $(_machine "$_bin/lesson01/server") != "$(_machine "$BASH")" ]]; then
  REPLAY_SKIP="the transcripts show programs run natively, not under qemu-user"
fi

# The chapters replayed here.
CHAPTERS=(docs/01-hello.md docs/02-echo.md docs/03-fork.md docs/04-threads.md
  docs/05-select.md docs/06-sockopts.md docs/07-udp.md docs/08-poll-epoll.md
  docs/09-framing.md docs/10-addresses.md docs/11-pools.md)

# Replays mostly wait (for servers, time limits, Nagle's 40 ms), so
# setup_file starts them in the background, four at a time, longest first:
# the chapters, then the fixtures (NAME [VAR=VALUE...]; FAKE_PIDS=@ is a
# file of their own). The tests collect the results (replay_result); the
# tests that kill a replay run theirs in the foreground.
FIXTURES=(session ports 'interrupt FAKE_PIDS=@' 'wrong SOCKLAB_REPLAY_TIMEOUT=1'
  wrong-terminal wildcards wildcards-bad 'timeout SOCKLAB_REPLAY_TIMEOUT=1'
  'stubborn FAKE_PIDS=@ SOCKLAB_REPLAY_TIMEOUT=1' 'left-running FAKE_PIDS=@'
  leftover-fd typed-into-server no-start no-server)

# background NAME MD [VAR=VALUE...]: one replay, its results in $REPLAYS.
background() {
  local r=$REPLAYS/$1 md=$2 start=$SECONDS st=0
  shift 2
  env "$@" "$BATS_TEST_DIRNAME/replay" "$md" > "$r.out" 2>&1 &
  echo $! > "$r.pid"
  wait $! || st=$?                      # (setup_file runs under set -e)
  echo "$st" > "$r.status.new"
  echo $((SECONDS - start)) > "$r.secs"
  mv "$r.status.new" "$r.status"
}

setup_file() {
  local md spec name lsan
  local -a queue=() args
  export REPLAYS=$BATS_FILE_TMPDIR/replays
  mkdir -p "$REPLAYS"
  # LeakSanitizer cannot run under ptrace, and chapter 02 runs a server
  # under strace: no leak check in the chapters (the lesson tests do it).
  lsan=ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
  [[ -n $REPLAY_SKIP ]] || queue=("06-sockopts docs/06-sockopts.md $lsan")
  for md in "${CHAPTERS[@]}"; do
    [[ $md == docs/06-sockopts.md || -n $REPLAY_SKIP ]] && continue
    # ThreadSanitizer runs a thread of its own: lesson 04's counts differ.
    [[ $md == docs/04-threads.md && ${SOCKLAB_VARIANT:-} == tsan ]] && continue
    queue+=("$(basename "$md" .md) $md $lsan")
  done
  for spec in "${FIXTURES[@]}"; do
    read -r name args <<< "$spec"
    queue+=("$name $BATS_TEST_DIRNAME/fixtures/replay/$name.md SOCKLAB_BIN=$BATS_TEST_DIRNAME/fixtures/replay/bin SOCKLAB_REPLAY_TIMEOUT=2 ${args//@/$REPLAYS/$name.pids}")
  done
  {
    local running=0
    for spec in "${queue[@]}"; do
      if ((running >= 4)); then wait -n || true; running=$((running - 1)); fi
      read -ra args <<< "$spec"
      background "${args[@]}" &
      running=$((running + 1))
    done
    wait
  } 3>&- 4>&- &
}

teardown_file() {                       # replays a filtered run never collected
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

# chapter_replays docs/NN-topic.md: its replay passed (the report otherwise).
chapter_replays() {
  [[ -z $REPLAY_SKIP ]] || skip "$REPLAY_SKIP"
  replay_result "$(basename "$1" .md)" > "$BATS_TEST_TMPDIR/report"
  [ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/report"; return 1; }
}

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
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

@test "code quoted in docs/ matches the sources" {
  cd "$ROOT"
  shopt -s nullglob
  local docs=(docs/*.md)
  ((${#docs[@]})) || return 0
  run "$QUOTES" "${docs[@]}"
  printf '%s\n' "$output"
  [ "$status" -eq 0 ]
}

@test "every chapter with a console transcript is replayed by the suite" {
  cd "$ROOT"
  shopt -s nullglob
  local md missing=0
  for md in docs/*.md; do
    grep -q '^ \{0,3\}```console' "$md" || continue
    [[ " ${CHAPTERS[*]} " == *" $md "* ]] && continue
    if ! cat tests/*.bats | grep -qF "replay_chapter $md"; then
      echo "$md has console transcripts: add it to CHAPTERS in tests/docs.bats"
      missing=1
    fi
  done
  [ "$missing" -eq 0 ]
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
# by setup_file: these tests come last, to give the replays time).
@test "docs/01-hello.md: every console transcript replays" { chapter_replays docs/01-hello.md; }
@test "docs/02-echo.md: every console transcript replays" { chapter_replays docs/02-echo.md; }
@test "docs/03-fork.md: every console transcript replays" { chapter_replays docs/03-fork.md; }
@test "docs/04-threads.md: every console transcript replays" {
  [[ ${SOCKLAB_VARIANT:-} != tsan ]] || skip "thread counts differ under ThreadSanitizer"
  chapter_replays docs/04-threads.md
}
@test "docs/05-select.md: every console transcript replays" { chapter_replays docs/05-select.md; }
@test "docs/06-sockopts.md: every console transcript replays" { chapter_replays docs/06-sockopts.md; }
@test "docs/07-udp.md: every console transcript replays" { chapter_replays docs/07-udp.md; }
@test "docs/08-poll-epoll.md: every console transcript replays" { chapter_replays docs/08-poll-epoll.md; }
@test "docs/09-framing.md: every console transcript replays" { chapter_replays docs/09-framing.md; }
@test "docs/10-addresses.md: every console transcript replays" { chapter_replays docs/10-addresses.md; }
@test "docs/11-pools.md: every console transcript replays" { chapter_replays docs/11-pools.md; }
