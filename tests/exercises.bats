# bats file_tags=tsan
# The exercises' checks are checked themselves, both ways: every check passes
# against the reference solution, and at least one fails against the
# untouched starter (a starter that passed would mean the checks prove
# nothing). Exercises are found by their folders, exercises/NN-name/ with a
# test.bats, so a new exercise needs no line here. Under ThreadSanitizer
# (make check-tsan) only the exercises whose test.bats is tagged tsan on its
# first line, as the suite's own files are, are graded.
load helpers

# exercise_names: one per line.
exercise_names() {
  local t
  for t in "$SOCKLAB_ROOT"/exercises/[0-9][0-9]-*/test.bats; do
    [[ -f $t ]] || continue
    if [[ $SOCKLAB_VARIANT == tsan ]]; then
      head -n 1 "$t" | grep -Eq '^# bats file_tags=(.*,)?tsan(,|$)' || continue
    fi
    t=${t%/test.bats}
    printf '%s\n' "${t##*/}"
  done
}

# untouched NAME: false when git shows changes in the exercise's folder (a
# learner at work there): its starter is then no longer the starter.
untouched() {
  local changes
  changes=$(git -C "$SOCKLAB_ROOT" status --porcelain -- "exercises/$1" 2>/dev/null) || return 0
  [[ -z $changes ]]
}

# programs NAME [solution]: the build targets of a starter or a solution.
programs() {
  local c sub=${2:+/$2}
  for c in "$SOCKLAB_ROOT/exercises/$1$sub"/*.c; do
    [[ -f $c ]] || continue
    c=${c##*/}
    printf '%s\n' "build/$SOCKLAB_VARIANT/exercises/$1$sub/${c%.c}"
  done
}

# A make started by the suite, itself started by make: it must not take
# over the outer make's job slots. CC, CFLAGS and WERROR come through the
# environment as the outer make exported them.
inner_make() {
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$SOCKLAB_ROOT" --no-print-directory \
    VARIANT="$SOCKLAB_VARIANT" "$@"
}

setup_file() {
  local ex targets=()
  while read -r ex; do
    mapfile -t -O "${#targets[@]}" targets < <(programs "$ex" solution)
    if untouched "$ex"; then
      mapfile -t -O "${#targets[@]}" targets < <(programs "$ex")
    fi
  done < <(exercise_names)
  ((${#targets[@]} > 0)) || return 0
  if ! inner_make "${targets[@]}" >"$BATS_FILE_TMPDIR/build.log" 2>&1 3>&- 4>&-; then
    echo "building the exercises failed:"
    cat "$BATS_FILE_TMPDIR/build.log"
    return 1
  fi
}

# grade NAME BINDIR: the exercise's checks against the programs in BINDIR,
# in TAP; the nested report stays in $output, away from the suite's own.
grade() {
  local v unset=()
  for v in $(compgen -e); do
    [[ $v == BATS_* ]] && unset+=(-u "$v")
  done
  run env "${unset[@]}" SOCKLAB_BIN="$BIN" SOCKLAB_VARIANT="$SOCKLAB_VARIANT" \
    SOCKLAB_EXERCISE_BIN="$2" bats --tap "$SOCKLAB_ROOT/exercises/$1/test.bats" 3>&- 4>&-
}

# grade_report NAME BINDIR FILTER: as make grade shows it, into a pipe:
# the checks whose names match FILTER, through tests/grade-report.
grade_report() {
  local v unset=()
  for v in $(compgen -e); do
    [[ $v == BATS_* ]] && unset+=(-u "$v")
  done
  run env "${unset[@]}" SOCKLAB_BIN="$BIN" SOCKLAB_VARIANT="$SOCKLAB_VARIANT" \
    SOCKLAB_EXERCISE_BIN="$2" bats --formatter "$SOCKLAB_ROOT/tests/grade-report" \
    -f "$3" "$SOCKLAB_ROOT/exercises/$1/test.bats" 3>&- 4>&-
}

# indented: $output, shifted right so no nested "ok"/"not ok" starts a line.
indented() { sed 's/^/    /' <<<"$output"; }

# grade_all WHICH: grades every exercise's solution (WHICH=solution) or
# every untouched starter (WHICH=starter), a few at a time: most of a
# starter's time is waiting for a deadline its unfinished program misses.
# Each one's TAP goes to $BATS_TEST_TMPDIR/NAME.tap, its status to NAME.rc.
grade_all() {
  local ex dir running=0 jobs=$((2 * $(nproc)))
  while read -r ex; do
    if [[ $1 == solution ]]; then
      dir=$SOCKLAB_ROOT/build/$SOCKLAB_VARIANT/exercises/$ex/solution
    elif untouched "$ex"; then
      dir=$SOCKLAB_ROOT/build/$SOCKLAB_VARIANT/exercises/$ex
    else
      continue
    fi
    if ((running == jobs)); then
      wait -n
      running=$((running - 1))
    fi
    { grade "$ex" "$dir"; echo "$status" >"$BATS_TEST_TMPDIR/$ex.rc"
      printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/$ex.tap"; } &
    running=$((running + 1))
  done < <(exercise_names)
  wait
}

# graded NAME: false if NAME was not graded; else sets status and output
# as `run` would have.
graded() {
  [[ -f $BATS_TEST_TMPDIR/$1.rc ]] || return 1
  status=$(<"$BATS_TEST_TMPDIR/$1.rc")
  output=$(<"$BATS_TEST_TMPDIR/$1.tap")
}

# bats test_tags=slow
@test "exercises: every check passes against the reference solution" {
  local ex failed=0 n=0
  grade_all solution
  while read -r ex; do
    n=$((n + 1))
    graded "$ex" || { echo "exercises/$ex: not graded"; failed=1; continue; }
    if [[ $status -ne 0 ]]; then
      echo "exercises/$ex: checks fail against the reference solution:"
      indented
      failed=1
    fi
  done < <(exercise_names)
  ((n > 0)) || skip "no exercises"
  ((failed == 0))
}

# bats test_tags=slow
@test "exercises: every untouched starter fails at least one check" {
  local ex failed=0 n=0
  grade_all starter
  while read -r ex; do
    if ! untouched "$ex"; then
      echo "exercises/$ex: has local changes; its starter is not checked"
      continue
    fi
    n=$((n + 1))
    graded "$ex" || { echo "exercises/$ex: not graded"; failed=1; continue; }
    if [[ $status -eq 0 ]]; then
      echo "exercises/$ex: every check passes against the starter: they prove nothing"
      failed=1
    elif ! grep -q '^not ok ' <<<"$output"; then
      echo "exercises/$ex: the grade failed, but no check did:"
      indented
      failed=1
    fi
  done < <(exercise_names)
  ((n > 0)) || skip "no untouched exercises"
  ((failed == 0))
}

@test "exercises: each has its files, and its lesson's chapter links it" {
  local ex dir chapter failed=0
  while read -r ex; do
    dir=$SOCKLAB_ROOT/exercises/$ex
    [[ -s $dir/README.md ]] || { echo "exercises/$ex: no README.md"; failed=1; }
    [[ -n $(programs "$ex") ]] || { echo "exercises/$ex: no starter *.c"; failed=1; }
    [[ -n $(programs "$ex" solution) ]] || { echo "exercises/$ex: no solution/*.c"; failed=1; }
    chapter=$(compgen -G "$SOCKLAB_ROOT/docs/${ex%%-*}-*.md" | head -n 1)
    if [[ -z $chapter ]]; then
      echo "exercises/$ex: no chapter docs/${ex%%-*}-*.md"
      failed=1
    elif ! grep -qF "../exercises/$ex/" "$chapter"; then
      echo "${chapter#"$SOCKLAB_ROOT"/}: no link to ../exercises/$ex/ (an Exercises section)"
      failed=1
    fi
  done < <(exercise_names)
  ((failed == 0))
}

@test "exercises: a grade report says what each check expected, without bats' own lines or colour" {
  untouched 02-upper || skip "exercises/02-upper has local changes"
  [[ $SOCKLAB_VARIANT != tsan ]] || skip "02-upper is not graded under ThreadSanitizer"
  grade_report 02-upper "$SOCKLAB_ROOT/build/$SOCKLAB_VARIANT/exercises/02-upper" \
    'comes back in upper case$|^after one client leaves'
  indented
  [[ $output == *" ✗ a line comes back in upper case"$'\n'"     the reply to \"hello\""$'\n'* ]]
  [[ $output == *'expected: "HELLO"'$'\n''       got:      "hello"'* ]]
  [[ $output == *" ✗ after one client leaves, the next is served"* ]]
  [[ $output == *"2 checks: 0 passed, 2 failed"* ]]
  # Where the shell function failed is bats' business, not the learner's.
  [[ $output != *"from function"* && $output != *"in test file"* && $output != *"' failed"* ]]
  # Not a terminal: no escape sequences.
  [[ $output != *$'\e'* ]]
}
