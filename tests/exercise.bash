# exercise.bash - what an exercise's tests load: exercises/NN-name/test.bats
# starts with `load ../../tests/exercise`.
#
# It loads the suite's helpers (tests/helpers.bash), then points BIN at the
# build being graded, so that `start_server server` and `run_client client`
# run the exercise's programs:
#   SOCKLAB_EXERCISE_BIN   the programs under test; `make grade` sets it to
#                          build/VARIANT/exercises/NN-name (the learner's
#                          version) or .../NN-name/solution (SOLUTION=1).
#                          Default: the learner's version.
# The lessons' programs stay at hand for tests that need a known-good peer:
#   with_lessons start_server lesson01/server
#
# The grader's report is read by learners, so a check that fails says what
# it expected and what came back (expect, expect_match), in plain words.

# helpers.bash finds the repository from the test file's directory, which it
# expects to be tests/: for the time it loads, this file's directory stands in.
EXERCISE_DIR=$BATS_TEST_DIRNAME
EXERCISE=${EXERCISE_DIR##*/}
BATS_TEST_DIRNAME=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
load helpers
BATS_TEST_DIRNAME=$EXERCISE_DIR

LESSON_BIN=$BIN
BIN=${SOCKLAB_EXERCISE_BIN:-build/$SOCKLAB_VARIANT/exercises/$EXERCISE}
case $BIN in /*) ;; *) BIN=$SOCKLAB_ROOT/$BIN ;; esac

setup() {
  if [[ ! -d $BIN ]]; then
    echo "nothing to grade in $BIN: run  make grade EX=$EXERCISE"
    return 1
  fi
}

# with_lessons COMMAND...: runs a helper with the lessons' programs in BIN.
with_lessons() {
  local BIN=$LESSON_BIN
  "$@"
}

# run_peer STEP...: the suite's scriptable client (tests/tools/peer.c)
# against the current server, under the deadline. $output holds its report:
# "connected", "sent 6", "line HELLO", ...
run_peer() {
  run timeout -s KILL "$DEADLINE" "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" "$@"
}

# peer_lines: the "line TEXT" results of the last run_peer, one per line,
# without the "line " (the replies the server sent).
peer_lines() {
  local l
  for l in "${lines[@]}"; do
    [[ $l == "line "* ]] && printf '%s\n' "${l#line }"
  done
  return 0
}

# shown VALUE: VALUE as a learner should see it in a report, one quoted line
# per line, with control characters made visible; (nothing) when empty.
shown() {
  local value=$1 line out c i
  if [[ -z $value ]]; then
    printf '(nothing)\n'
    return
  fi
  while IFS= read -r line || [[ -n $line ]]; do
    out=
    for ((i = 0; i < ${#line}; i++)); do
      c=${line:i:1}
      case $c in
        \\) out+='\\' ;;
        $'\r') out+='\r' ;;
        $'\t') out+='\t' ;;
        [[:cntrl:]]) out+=$(LC_ALL=C printf '\\x%02x' "'$c") ;;
        *) out+=$c ;;
      esac
    done
    printf '"%s"\n' "$out"
  done <<<"$value"
}

# _report WHAT EXPECTED-TEXT ACTUAL: the lines a failed check prints.
_report() {
  local what=$1 expected=$2 actual=$3
  printf '%s\n' "$what"
  printf '%s\n' "$expected" | sed '1s/^/  expected: /; 2,$s/^/            /'
  shown "$actual" | sed '1s/^/  got:      /; 2,$s/^/            /'
}

# expect WHAT EXPECTED ACTUAL: passes when ACTUAL is EXPECTED; otherwise says
#   the reply to "hello"
#     expected: "HELLO"
#     got:      "hello"
expect() {
  [[ $3 == "$2" ]] && return 0
  _report "$1" "$(shown "$2")" "$3"
  return 1
}

# expect_match WHAT REGEX EXAMPLE ACTUAL: passes when ACTUAL matches the
# extended regular expression REGEX (bash's =~); otherwise the report shows
# EXAMPLE, a line in words of what would have matched.
expect_match() {
  [[ $4 =~ $2 ]] && return 0
  _report "$1" "$3" "$4"
  return 1
}

# expect_count WHAT EXPECTED ACTUAL [NOTE]: for numbers (of bytes, of lines):
#   the number of bytes that came back
#     expected: 10028  (a time stamp and the line)
#     got:      10001
expect_count() {
  [[ $3 == "$2" ]] && return 0
  printf '%s\n  expected: %s%s\n  got:      %s\n' "$1" "$2" "${4:+  ($4)}" "${3:-(nothing)}"
  return 1
}

# expect_status WHAT EXPECTED: checks $status (of the last run or
# run_client), naming a deadline kill as such.
expect_status() {
  [[ $status -eq $2 ]] && return 0
  printf '%s\n  expected: exit status %s\n' "$1" "$2"
  if ((status == 137)); then
    printf '  got:      still running after %s s: killed\n' "$DEADLINE"
  else
    printf '  got:      exit status %s\n' "$status"
  fi
  if [[ -n ${output-} ]]; then
    printf '  its output:\n'
    shown "$output" | sed 's/^/    /'
  fi
  return 1
}

# expect_same_file WHAT EXPECTED-FILE ACTUAL-FILE: passes when the files are
# equal; otherwise reports their sizes and the first line that differs.
expect_same_file() {
  local what=$1 exp=$2 got=$3 diff line
  diff=$(cmp -- "$exp" "$got" 2>&1) && return 0
  printf '%s\n' "$what"
  printf '  expected: %s bytes\n' "$(wc -c <"$exp")"
  printf '  got:      %s bytes\n' "$(wc -c <"$got")"
  if [[ $diff =~ line\ ([0-9]+) ]]; then
    line=${BASH_REMATCH[1]}
    printf '  the first difference is in line %s:\n' "$line"
    printf '  expected: %s\n' "$(shown "$(sed -n "${line}p" "$exp")")"
    printf '  got:      %s\n' "$(shown "$(sed -n "${line}p" "$got")")"
  fi
  return 1
}

# expect_clean_stop SIGNAL: stops the current server with SIGNAL and checks
# that it exits with status 0, as every socklab server does.
expect_clean_stop() {
  stop_server "$1" || return 1
  [[ $SERVER_STATUS -eq 0 ]] && return 0
  printf 'the exit status after SIG%s\n  expected: 0\n  got:      %s\n' "$1" "$SERVER_STATUS"
  return 1
}
