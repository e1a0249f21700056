#!/usr/bin/env bats
# The docs cannot drift from the programs: quoted code matches its source,
# and every console transcript is replayed. (tests/replayer.bats tests the
# two tools that check this.)
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
bats_require_minimum_version 1.5.0
load replay
load replays

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

setup_file() {
  local md lsan
  local -a queue=()
  # LeakSanitizer cannot run under ptrace, and chapter 02 runs a server
  # under strace: no leak check in the chapters (the lesson tests do it).
  lsan=ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
  [[ -z $REPLAY_SKIP ]] || return 0
  # The longest first.
  queue=("06-sockopts docs/06-sockopts.md $lsan")
  for md in "${CHAPTERS[@]}"; do
    [[ $md == docs/06-sockopts.md ]] && continue
    # ThreadSanitizer runs a thread of its own: lesson 04's counts differ.
    [[ $md == docs/04-threads.md && ${SOCKLAB_VARIANT:-} == tsan ]] && continue
    queue+=("$(basename "$md" .md) $md $lsan")
  done
  start_replays "${queue[@]}"
}

teardown_file() { stop_replays; }

# chapter_replays docs/NN-topic.md: its replay passed (the report otherwise).
chapter_replays() {
  [[ -z $REPLAY_SKIP ]] || skip "$REPLAY_SKIP"
  replay_result "$(basename "$1" .md)" > "$BATS_TEST_TMPDIR/report"
  [ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/report"; return 1; }
}

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  QUOTES=$BATS_TEST_DIRNAME/check-quotes
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
