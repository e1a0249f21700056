#!/usr/bin/env bats
# The docs cannot drift from the programs: quoted code matches its source,
# and every console transcript is replayed. Then tests of the two tools that
# check this, tests/replay and tests/check-quotes, on fixtures that need no
# lesson: tests/fixtures/replay/bin/lesson99 is a fake server and client.
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
bats_require_minimum_version 1.5.0
load replay

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

# replay_fixture NAME [VAR=VALUE...]: run tests/replay on a fixture.
replay_fixture() {
  local md=$FIX/$1.md
  shift
  run env SOCKLAB_BIN="$FIX/bin" SOCKLAB_REPLAY_TIMEOUT=2 "$@" "$REPLAY" "$md"
  printf '%s\n' "$output"               # shown when the test fails
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
    if ! cat tests/*.bats | grep -qF "replay_chapter $md"; then
      echo "$md has console transcripts; add to a tests/*.bats: replay_chapter $md"
      missing=1
    fi
  done
  [ "$missing" -eq 0 ]
}

@test "replay: the session keeps directory, variables, functions and \$?" {
  replay_fixture session
  [ "$status" -eq 0 ]
  [[ $output == *"session.md: 9 checks passed"* ]]
}

@test "replay: doc ports map to the ports servers really get, and back" {
  replay_fixture ports
  [ "$status" -eq 0 ]
}

@test "replay: a continuation block and ^C reach the last server started" {
  replay_fixture interrupt FAKE_PIDS="$BATS_TEST_TMPDIR/pids"
  [ "$status" -eq 0 ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/pids")" -eq 3 ]
  local pids
  mapfile -t pids < "$BATS_TEST_TMPDIR/pids"
  gone "${pids[@]}"
}

@test "replay: a wrong expected line fails, with a diff that names it" {
  replay_fixture wrong
  [ "$status" -eq 1 ]
  [[ $output == *"wrong.md:6: output differs: \$ ./lesson99/client 127.0.0.1 9000"* ]]
  [[ $output == *$'\n-Message from server: Hello Mars!\n+Message from server: Hello World!\n'* ]]
  [[ $output == *"wrong.md:13: output of the server started at line 4 differs"* ]]
  [[ $output == *$'\n-127.0.0.1:PORT connected\n'* ]]
  [[ $output == *"2 of 5 checks failed"* ]]    # 5: the server's stop counts
}

@test "replay: wildcards ... and [...] match variable output" {
  replay_fixture wildcards
  [ "$status" -eq 0 ]
}

@test "replay: wildcards do not hide a wrong line" {
  replay_fixture wildcards-bad
  [ "$status" -eq 1 ]
  [[ $output == *"wildcards-bad.md:4: output differs"* ]]
  [[ $output == *"wildcards-bad.md:8: output differs"* ]]
}

@test "replay: a command past its deadline is killed and reported" {
  SECONDS=0
  replay_fixture timeout SOCKLAB_REPLAY_TIMEOUT=1
  [ "$status" -eq 1 ]
  [[ $output == *"timeout.md:4: timed out after 1 s, killed"* ]]
  [[ $output == *"1 of 2 checks failed"* ]]    # the next command ran and passed
  ((SECONDS < 8))
}

@test "replay: a server that ignores SIGTERM at the end is reported and killed" {
  replay_fixture stubborn FAKE_PIDS="$BATS_TEST_TMPDIR/pids" SOCKLAB_REPLAY_TIMEOUT=1
  [ "$status" -eq 1 ]
  [[ $output == *"stubborn.md:4: server did not exit within 1 s of SIGTERM; killed"* ]]
  gone "$(cat "$BATS_TEST_TMPDIR/pids")"
}

@test "replay: a server that does not start stops the replay" {
  replay_fixture no-start
  [ "$status" -eq 1 ]
  [[ $output == *"no-start.md:4: server exited with status 2 before 'listening on'"* ]]
  [[ $output == *"    usage: server PORT [ADDRESS]"* ]]
  [[ $output != *"never reached"* ]]
}

@test "replay: server output without a server fails" {
  replay_fixture no-server
  [ "$status" -eq 1 ]
  [[ $output == *"no-server.md:4: block continues a server's terminal, but no server"* ]]
}

@test "replay: SIGTERM to the replayer stops its processes and removes scratch" {
  export SOCKLAB_BIN=$FIX/bin FAKE_PIDS=$BATS_TEST_TMPDIR/pids FAKE_MARK=$BATS_TEST_TMPDIR/mark
  "$REPLAY" "$FIX/slow.md" > "$BATS_TEST_TMPDIR/out" 2>&1 3>&- 4>&- &
  bg=$!
  local i st=0
  for ((i = 0; i < 250; i++)); do [[ -s $FAKE_MARK ]] && break; sleep 0.02; done
  [[ -s $FAKE_MARK ]]
  kill -TERM "$bg"
  wait "$bg" || st=$?
  bg=''
  [ "$st" -eq 143 ]
  gone "$(cat "$FAKE_PIDS")" "$(cat "$FAKE_MARK")"
  [ ! -e "$(cat "$FAKE_MARK.dir")" ]
}

@test "replay: usage errors exit 2" {
  run "$REPLAY"
  [ "$status" -eq 2 ]
  run "$REPLAY" "$FIX/no-such-chapter.md"
  [ "$status" -eq 2 ]
}

@test "replay_chapter passes a matching chapter" {
  export SOCKLAB_BIN=$FIX/bin
  replay_chapter "$FIX/interrupt.md"
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
