# bats file_tags=tsan
# Exercise 11-prethread: what the grader checks (make grade EX=11-prethread;
# add VARIANT=tsan to run the server under ThreadSanitizer, which then fails
# any check during which two threads raced). Each test's name is a sentence
# about the server under test; when one fails, it says what it expected and
# what came back.
load ../../tests/exercise

# ThreadSanitizer makes a program that exits while other threads run sleep
# a second first (atexit_sleep_ms): a pool's workers always run, so without
# this every stop would take a second under VARIANT=tsan, and "within a
# second" would judge the sanitizer, not the server.
export TSAN_OPTIONS=$TSAN_OPTIONS:atexit_sleep_ms=0

# ---- The server's threads: one directory each in /proc/PID/task ----------

# thread_ids: the ids of the server's threads, in one line.
thread_ids() {
  local t ids=()
  for t in "/proc/$SERVER_PID/task"/*; do
    [[ -d $t ]] && ids+=("${t##*/}")
  done
  printf '%s\n' ${ids[@]+"${ids[@]}"} | sort -n | xargs
}

# pool_size N: how many threads a pool of N workers has. ThreadSanitizer
# runs one thread of its own beside the program's, from the first
# pthread_create() on, and so does qemu-user (for programs of another CPU).
pool_size() {
  local n=$(($1 + 1))
  [[ $SOCKLAB_VARIANT != tsan ]] || n=$((n + 1))
  [[ -z ${SOCKLAB_EMULATED:-} ]] || n=$((n + 1))
  echo "$n"
}

# pool_note N: what pool_size counted, in words.
pool_note() {
  local note="the main thread and $1 worker"
  (($1 == 1)) || note+=s
  [[ $SOCKLAB_VARIANT != tsan ]] || note+=", and ThreadSanitizer's own"
  [[ -z ${SOCKLAB_EMULATED:-} ]] || note+=", and qemu-user's own"
  printf '%s' "$note"
}

# settled_threads N: the server's thread ids once it has as many threads
# as a pool of N workers, or, after 2 s, whatever it has then (workers
# may still be starting just after "listening on").
settled_threads() {
  local want ids i
  want=$(pool_size "$1")
  for ((i = 0; i < 100; i++)); do
    ids=$(thread_ids)
    (($(wc -w <<<"$ids") == want)) && break
    sleep 0.02
  done
  printf '%s\n' "$ids"
}

# expect_pool N WHAT: the server has the threads of a pool of N workers;
# THREADS holds their ids.
expect_pool() {
  THREADS=$(settled_threads "$1")
  expect_count "the server's threads $2 (in /proc/$SERVER_PID/task)" \
    "$(pool_size "$1")" "$(wc -w <<<"$THREADS")" "$(pool_note "$1")"
}

# ---- Clients on the test's own descriptors --------------------------------

# connect FD: opens descriptor FD on the server.
connect() {
  eval "exec $1<>/dev/tcp/127.0.0.1/$SERVER_PORT" 2>/dev/null || {
    _not_judged "connecting a client" || echo "connecting a client: the server refused the connection"
    return 1
  }
}

# say FD TEXT: sends TEXT and a newline on FD.
say() { printf '%s\n' "$2" >&"$1"; }

# reply_on FD [SECONDS]: the next line from FD, if one comes within
# SECONDS (default: the deadline); nothing otherwise.
reply_on() {
  local line=
  IFS= read -r -t "${2:-$DEADLINE}" line <&"$1" 2>/dev/null || true
  printf '%s' "$line"
}

# served FD TEXT: a client on FD sends TEXT and gets it back.
served() {
  say "$1" "$2"
  expect "the echo of \"$2\"" "$2" "$(reply_on "$1")"
}

# ---- The checks -----------------------------------------------------------

@test "lines come back, 1 MiB comes back byte for byte, and the log shows each client" {
  start_server server
  run_peer line:hello line:world shut readline readline
  expect "the echo of two lines" $'hello\nworld' "$(peer_lines)" || return 1
  random_mib "$BATS_TEST_TMPDIR/in"
  timeout -s KILL "$DEADLINE" "$LESSON_BIN/lesson02/client" 127.0.0.1 "$SERVER_PORT" \
    <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>/dev/null || true
  expect_same_file "1 MiB of random bytes, echoed" "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" ||
    return 1
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$' 2
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$' 2
}

@test "right after it starts, the server runs the main thread and 4 workers; with -n 7, 7 workers" {
  start_server server
  expect_pool 4 "right after it started" || return 1
  start_server server -n 7 0
  expect_pool 7 "right after it started with -n 7"
}

@test "after 20 clients, and with 3 connected at once, the server runs the same threads as at the start: none per client" {
  start_server server
  expect_pool 4 "right after it started" || return 1
  local before=$THREADS i
  for ((i = 1; i <= 20; i++)); do
    run_peer "line:client $i" shut readline
    expect "the echo for client $i of 20" "client $i" "$(peer_lines)" || return 1
  done
  connect 5 && connect 6 && connect 7 || return 1
  served 5 one && served 6 two && served 7 three || return 1
  expect_count "the server's threads with 3 clients connected, after 20 others" \
    "$(pool_size 4)" "$(wc -w <<<"$(thread_ids)")" "$(pool_note 4), as at the start" || return 1
  expect "the ids of the server's threads: the same ones as right after it started" \
    "$before" "$(thread_ids)"
  exec 5>&- 6>&- 7>&-
}

@test "-n 2: two silent clients hold both workers; a third client's line waits until one leaves, then comes back" {
  start_server server -n 2 0
  connect 5 && connect 6 || return 1
  wait_for_log ' connected$' 2 || return 1
  # The third connection succeeds: it waits in the listen queue.
  connect 7 || return 1
  say 7 third
  expect "the echo of \"third\" while both workers hold a client (waited 1 s)" \
    "" "$(reply_on 7 1)" || return 1
  expect_count "clients the server has logged as connected" 2 \
    "$(grep -c ' connected$' "$SERVER_LOG")" "the third waits, not accepted yet" || return 1
  exec 5>&-
  expect "the echo of \"third\" once one of the two others has left" "third" "$(reply_on 7)" ||
    return 1
  served 6 "still here" || return 1
  exec 6>&- 7>&-
}

@test "-n 1 serves clients one after another: 10 in turn, then 3 connected at once, each when the one before leaves" {
  start_server server -n 1 0
  local i
  for ((i = 1; i <= 10; i++)); do
    run_peer "line:client $i" shut readline
    expect "the echo for client $i of 10" "client $i" "$(peer_lines)" || return 1
  done
  connect 5 && connect 6 && connect 7 || return 1
  say 5 first && say 6 second && say 7 third
  expect "the echo for the first of the 3" "first" "$(reply_on 5)" || return 1
  exec 5>&-
  expect "the echo for the second, once the first has left" "second" "$(reply_on 6)" || return 1
  exec 6>&-
  expect "the echo for the third, once the second has left" "third" "$(reply_on 7)" || return 1
  exec 7>&-
  expect_pool 1 "after 13 clients"
}

@test "options come before PORT [ADDRESS]: -n 2 0 ::1 listens on [::1]" {
  start_server server -n 2 0 ::1
  expect_match "where the server says it listens" '^\[::1\]:[0-9]+$' "[::1]:PORT" "$SERVER_ADDR"
}

@test "SIGTERM stops the server with status 0 within a second, while both workers are busy and a client waits" {
  start_server server -n 2 0
  connect 5 && connect 6 || return 1
  served 5 one && served 6 two || return 1
  connect 7 || return 1
  local started=$EPOCHREALTIME
  expect_clean_stop TERM || return 1
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }' || {
    echo "the time the server took to stop after SIGTERM"
    echo "  expected: less than a second"
    echo "  got:      $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }')"
    return 1
  }
  exec 5>&- 6>&- 7>&-
}

@test "SIGINT (Ctrl-C) stops an idle server with status 0" {
  start_server server -n 3 0
  expect_clean_stop INT
}

@test "-n with 0, 1001, abc, 3x, +3, an empty value or no value, or an unknown option, exits 2 with a message; -h shows -n" {
  local value
  for value in 0 1001 99999999999999999999 abc 3x +3 -1 ''; do
    run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/server" -n "$value" 0
    expect_status "the exit status for -n '$value'" 2 || return 1
    [[ $stderr == *"'$value'"* ]] || {
      _report "the error message for -n '$value', which should name the value" \
        "server: invalid number of threads '$value': ..." "$stderr"
      return 1
    }
  done
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/server" -n
  expect_status "the exit status for -n without a value" 2 || return 1
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/server" -x 0
  expect_status "the exit status for an unknown option -x" 2 || return 1
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/server" -h
  expect_status "the exit status for -h" 0 || return 1
  expect_match "what -h prints" '^usage: server .*-n THREADS' \
    "usage: server [-n THREADS] PORT [ADDRESS]" "$output"
}

@test "ThreadSanitizer sees no race while 40 clients, 8 at a time, share 4 workers (VARIANT=tsan)" {
  [[ $SOCKLAB_VARIANT == tsan ]] ||
    skip "a race shows only now and then; to have ThreadSanitizer look: make grade EX=$EXERCISE VARIANT=tsan"
  # Any race reported during a check fails it; teardown reads the log.
  start_server server
  local got
  got=$(seq 40 | xargs -P 8 -I{} timeout -s KILL "$DEADLINE" \
    "$TOOLS/peer" 127.0.0.1 "$SERVER_PORT" line:client{} shut readline 2>/dev/null | grep -c '^line client')
  expect_count "the clients of 40 that got their line back" 40 "$got"
}
