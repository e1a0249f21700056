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

# shellcheck disable=SC2154  # _servers, _server_logs: helpers.bash's; lines: bats' run

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
  # After a sanitizer report, what later checks would show is mostly the
  # same report again, or the noise of a program that stops halfway.
  if [[ -s $_STOPPED_AT ]]; then
    skip "$(cat "$_STOPPED_AT")"
  fi
  if [[ -e $_LEAK_SHOWN ]]; then
    ASAN_OPTIONS=${ASAN_OPTIONS//detect_leaks=1/detect_leaks=0}
  fi
}

# ---- Sanitizer reports ----------------------------------------------------
#
# A sanitizer build (VARIANT=asan or tsan) stops a program at its first
# report (halt_on_error, see helpers.bash). What a check sees after that is
# no verdict: a client reset, an answer missing. So the check that meets a
# report shows the report's gist once, in place of its own findings, and
# every later check is skipped with a note that says why.

# Written by the first check that meets a report: why later checks are skipped.
_STOPPED_AT=$BATS_FILE_TMPDIR/stopped-on-sanitizer-report
# Made by the first check that meets a leak report: later checks look for
# no leaks, so that they judge the rest.
_LEAK_SHOWN=$BATS_FILE_TMPDIR/leak-reported

# _stopped_on_report: a server this check started has logged a report.
_stopped_on_report() {
  local log
  for log in ${_server_logs[@]+"${_server_logs[@]}"}; do
    grep -qsE "$SANITIZER_REPORT" "$log" && return 0
  done
  return 1
}

# _not_judged WHAT: true (after one line about WHAT) when a server of this
# check stopped on a sanitizer report: the failure is its consequence, and
# the report, shown at the end of the check, is what to read.
_not_judged() {
  if [[ -e $BATS_TEST_TMPDIR/sanitizer-report-shown ]]; then
    printf '%s: not judged, after the sanitizer report above\n' "$1"
  elif _stopped_on_report; then
    printf '%s: not judged, the server had stopped on a sanitizer report (below)\n' "$1"
  else
    return 1
  fi
}

# sanitizer_gist TEXT WHO: the lines of the first sanitizer report in TEXT
# that a learner needs: what went wrong, where in the code (frames in the
# exercise's own files, without addresses), on what memory; none of the
# shadow-byte maps, thread creation stacks or library frames.
sanitizer_gist() {
  awk -v who="$2" -v root="$SOCKLAB_ROOT/" '
    function tidy(s) {
      gsub(/==[0-9]+==/, "", s); gsub(/ \(pid=[0-9]+\)/, "", s)
      gsub(/ \([^ ()]+\+0x[0-9a-f]+\)/, "", s); gsub(/0x[0-9a-f]+ in /, "", s)
      gsub(/ at 0x[0-9a-f]+/, "", s); gsub(/ 0x[0-9a-f]+ is located/, " is located", s)
      gsub(root, "", s)
      return s
    }
    !started && /(ERROR|WARNING): [A-Za-z]+Sanitizer: / {
      line = tidy($0); sub(/.*(ERROR|WARNING): /, "", line)
      tool = line; sub(/: .*/, "", tool)
      kind = line; sub(/^[^:]*: /, "", kind); sub(/ on (unknown )?address.*/, "", kind)
      if (kind ~ /^detected /) print tool " " kind " in the " who ":"
      else print tool " found " (kind ~ /^[aeiou]/ ? "an " : "a ") kind " in the " who ":"
      if (kind == "data race")
        print "  (two threads used the same memory, at least one of them writing,\n" \
              "  with no lock or atomic operation to order them)"
      started = 1; keep = 1; next
    }
    !started && /runtime error: / {
      print "UndefinedBehaviorSanitizer found undefined behaviour in the " who ":"
      print "  " tidy($0)
      started = 1; keep = 1; next
    }
    !started { next }
    /^SUMMARY: / { line = tidy($0); sub(/ \.\.\/.*/, "", line); print "  " line; exit }
    /^ *#[0-9]+ / {
      # a frame: shown under a kept line, if it is in the exercise code
      if (keep && frames < 3 && $0 ~ /\.c:[0-9]+/ && $0 !~ /(\.\.\/|\/usr\/|sanitizer)/) {
        line = tidy($0); sub(/^ */, "", line)
        print "    " line; frames++
      }
      next
    }
    /(READ|WRITE) of size|[Rr]ead of size|[Ww]rite of size|Location is|is located|<== Memory access|leak of|freed by|allocated by|Mutex M[0-9]+ /{
      line = tidy($0); sub(/^ */, "", line)
      print "  " line; keep = 1; frames = 0; next
    }
    /[^ ]/ { keep = 0 }
  ' <<<"$1"
}

# no_sanitizer_report TEXT WHO (replaces the helpers' version): fails when
# TEXT holds a sanitizer report; the first one of a check is shown, in
# short, and the checks after it are skipped.
no_sanitizer_report() {
  grep -qE "$SANITIZER_REPORT" <<<"$1" || return 0
  [[ ! -e $BATS_TEST_TMPDIR/sanitizer-report-shown ]] || return 1
  : >"$BATS_TEST_TMPDIR/sanitizer-report-shown"
  local who=${2%% (*}
  [[ $who == server || $who == client ]] || who="program ($who)"
  sanitizer_gist "$1" "$who"
  if grep -q 'ERROR: LeakSanitizer' <<<"$1" && ! grep -qE 'ERROR: (Address|Thread)Sanitizer|runtime error:' <<<"$1"; then
    # A leak is found as the program exits, after the check has seen it work.
    printf 'LeakSanitizer looks for leaks as the %s exits. The checks after this one\n' "$who"
    printf 'run without that search, so that they judge the rest; fix this, then grade again.\n'
    : >"$_LEAK_SHOWN"
  else
    printf 'The sanitizer stops the %s at its first report: what this check saw\n' "$who"
    printf 'after it means nothing, and the checks after this one are skipped.\n'
    printf 'Fix this first, then grade again.\n'
    printf 'the %s stopped on a sanitizer report in an earlier check\n' "$who" >"$_STOPPED_AT"
  fi
  return 1
}

# wait_for_log PATTERN [COUNT] (replaces the helpers' version): the same,
# but gives up at once when the server has stopped on a sanitizer report,
# and then leaves the log to the report's gist.
wait_for_log() {
  local pattern=$1 count=${2:-1}
  wait_until "$count log line(s) matching '$pattern'" _log_has_unless_stopped "$pattern" "$count" &&
    return 0
  _not_judged "a log line matching '$pattern'" && return 1
  echo "--- server log:" >&2
  cat "$SERVER_LOG" >&2
  return 1
}

_log_has_unless_stopped() {
  _log_has "$1" "$2" && return 0
  _stopped_on_report && return 3
  return 1
}

# _announced WATCHDOG (replaces the helpers' version): the same, in words
# for a learner when the program under test exits before it listens.
_announced() {
  if ! kill -0 "$1" 2>/dev/null; then
    echo "the server exited before it printed \"listening on ...\" (its usage, or an error?)" >&2
    return 3
  fi
  grep -qs '^listening on ' "$SERVER_LOG"
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
  _not_judged "$what" && return 0
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
  _not_judged "$1" && return 1
  printf '%s\n  expected: %s%s\n  got:      %s\n' "$1" "$2" "${4:+  ($4)}" "${3:-(nothing)}"
  return 1
}

# expect_status WHAT EXPECTED: checks $status (of the last run or
# run_client), naming a deadline kill as such.
expect_status() {
  [[ $status -eq $2 ]] && return 0
  _not_judged "$1" && return 1
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
  _not_judged "$what" && return 1
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

# server_gone_note: after a failed check, one more line if the current
# server is no longer running: a crash on the check's input, not just a
# wrong answer. Its log's last line often names the cause ("*** buffer
# overflow detected ***: terminated").
server_gone_note() {
  local watchdog=${_servers[-1]} status=0 last
  kill -0 "$watchdog" 2>/dev/null && return 0
  _stopped_on_report && return 0
  # (bash would announce "Segmentation fault" and the command line)
  { wait "$watchdog" || status=$?; } 2>/dev/null
  if ((status > 128 && status < 160)); then
    printf '  the server crashed on this input: it was killed by SIG%s\n' "$(kill -l "$((status - 128))")"
  else
    printf '  the server stopped on this input: it exited with status %s\n' "$status"
  fi
  last=$(grep -vE '^listening on | (dis)?connected$' "$SERVER_LOG" | tail -n 1)
  [[ -z $last ]] || printf '  the last line it printed: %s\n' "$(shown "$last")"
}

# expect_clean_stop SIGNAL: stops the current server with SIGNAL and checks
# that it exits with status 0, as every socklab server does.
expect_clean_stop() {
  _not_judged "the exit status after SIG$1" && return 1
  stop_server "$1" || return 1
  [[ $SERVER_STATUS -eq 0 ]] && return 0
  _not_judged "the exit status after SIG$1" && return 1
  printf 'the exit status after SIG%s\n  expected: 0\n  got:      %s\n' "$1" "$SERVER_STATUS"
  return 1
}
