# Exercise 02-time: what the grader checks (make grade EX=02-time).
# Each test's name is a sentence about the server under test; when one
# fails, it says what it expected and what came back.
load ../../tests/exercise

# The time as ctime() writes it, in brackets, then a space.
DAY='(Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
MONTH='(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
STAMP="\\[$DAY $MONTH [ 123][0-9] [012][0-9]:[0-5][0-9]:[0-6][0-9] [0-9]{4}\\] "
EXAMPLE='[Thu Feb  2 15:52:21 2012] '
STAMP_LEN=${#EXAMPLE}

# expect_stamped WHAT TEXT REPLY: REPLY is TEXT after a time stamp.
expect_stamped() {
  expect_match "$1" "^$STAMP$(regex_quote "$2")\$" "$(shown "$EXAMPLE$2")  (any time, in this shape)" "$3"
}

# received: how many bytes the last run_peer's "drain" step read.
received() { sed -n 's/^eof after //p' <<<"$output"; }

regex_quote() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

@test "a line comes back after the time in brackets" {
  start_server server
  run_peer line:hello readline
  expect_stamped 'the reply to "hello"' "hello" "$(peer_lines)"
}

@test "the time is the server's local time (TZ), within seconds of now" {
  # A zone five and a half hours east of UTC, spelt out so that no time
  # zone files are needed: UTC (gmtime) and the tester's zone both differ.
  local zone=XST-5:30 stamp now then
  SERVER_ENV=(TZ=$zone)
  start_server server
  run_peer line:when readline
  stamp=$(peer_lines)
  expect_stamped "the reply" "when" "$stamp" || return 1
  now=$(date +%s)
  stamp=${stamp#[}
  then=$(TZ=$zone date -d "${stamp%%]*}" +%s)
  ((then > now - 10 && then < now + 10)) && return 0
  expect "the time in the reply, for TZ=$zone" \
    "$(TZ=$zone date -d "@$now" '+[%a %b %e %H:%M:%S %Y]') (give or take 10 s)" "[${stamp%%]*}]"
}

@test "each of several lines sent together gets its own time, empty ones too" {
  start_server server
  run_peer line:$'one\n\nthree' readline readline readline
  mapfile -t got < <(peer_lines)
  expect_stamped "the reply to the first line" "one" "${got[0]-}" &&
    expect_stamped "the reply to the second line, an empty one" "" "${got[1]-}" &&
    expect_stamped "the reply to the third line" "three" "${got[2]-}"
}

@test "a line that arrives one byte per read gets one time, before it" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
  start_server server
  run_peer line:hello readline
  expect_stamped 'the reply to "hello", read by the server one byte at a time' \
    "hello" "$(peer_lines)"
}

@test "a line longer than any buffer comes back whole with one time" {
  start_server server
  # 10000 bytes (abcd...), a newline, then the client finishes sending.
  run_peer send:10000 line: shut drain
  expect_count "the number of bytes that came back for a line of 10000 bytes" \
    $((STAMP_LEN + 10001)) "$(received)" "a $STAMP_LEN-byte time, the line, its newline"
}

# expect_newlines_back N: N newlines sent in one write (a server reading
# them together owes a time stamp for every byte it read) come back as N
# stamped empty lines.
expect_newlines_back() {
  local n=$1 fd replies=$BATS_TEST_TMPDIR/replies.$1 bad
  local want=$((n * (STAMP_LEN + 1)))
  head -c "$n" /dev/zero | tr '\0' '\n' >"$BATS_TEST_TMPDIR/newlines"
  exec {fd}<>"/dev/tcp/127.0.0.1/$SERVER_PORT"
  # cat sends them in one write; what the server has not read yet fits in
  # its receive buffer, so this client can read the replies afterwards.
  cat "$BATS_TEST_TMPDIR/newlines" >&"$fd"
  timeout -s KILL "$DEADLINE" head -c "$want" <&"$fd" >"$replies" 2>/dev/null || true
  exec {fd}>&-
  if ! expect_count "the number of bytes that came back for $n newlines sent at once" \
    "$want" "$(wc -c <"$replies")" "$n times a $STAMP_LEN-byte time and a newline"; then
    server_gone_note
    return 1
  fi
  bad=$(grep -nvE -m 1 "^$STAMP\$" "$replies" || true)
  [[ -z $bad ]] && return 0
  expect_stamped "line ${bad%%:*} of the reply to $n newlines" "" "${bad#*:}"
}

@test "4000 empty lines in one write (a time for every byte read) all come back stamped, and 65536" {
  start_server server
  expect_newlines_back 4000 && expect_newlines_back 65536
}

@test "a last line without a newline is answered too" {
  start_server server
  run_peer send:5 shut drain
  expect_count 'the number of bytes that came back for "abcde" and no newline' \
    $((STAMP_LEN + 5)) "$(received)" "a $STAMP_LEN-byte time and abcde"
}

@test "each client starts afresh: an unfinished line does not spoil the next" {
  start_server server
  run_peer send:5
  run_peer line:hello readline
  expect_stamped "the reply to the second client's first line" "hello" "$(peer_lines)"
}

@test "the server logs each client, and stops cleanly on SIGTERM" {
  start_server server
  run_peer line:hi readline
  wait_for_log '^127\.0\.0\.1:[0-9]+ connected$'
  wait_for_log '^127\.0\.0\.1:[0-9]+ disconnected$'
  expect_clean_stop TERM
}
