# bats file_tags=tsan
# Lesson 09: framing. Boundaries that TCP does not keep, lines, length
# prefixes, a struct's bytes, and a file transfer that hostile or broken
# clients cannot corrupt.
# shellcheck disable=SC2030,SC2031  # each test runs in its own subshell
# shellcheck disable=SC2154  # RX_DIR is set in 09-framing.bash
# shellcheck disable=SC2016  # bash -c programs in single quotes
# shellcheck disable=SC2034  # SERVER_ENV is read by start_server
load helpers
load 09-framing

# ---- The problem: boundaries are not kept --------------------------------

# reads_summary: "N bytes in M reads", the reads server's last line.
reads_summary() { wait_for_log ' bytes in [0-9]+ reads$' && grep -E ' bytes in [0-9]+ reads$' "$SERVER_LOG"; }

@test "lesson09: 100 small writes reach a slow reader in a few reads" {
  start_server lesson09/reads -d 200 0
  run_client lesson09/burst 127.0.0.1 "$SERVER_PORT" 100 10
  [[ $status -eq 0 && $output == "100 writes of 10 bytes" ]]
  local summary reads
  summary=$(reads_summary)
  [[ $summary == "1000 bytes in "*" reads" ]]
  reads=${summary#1000 bytes in }; reads=${reads% reads}
  ((reads <= 5)) || { echo "$summary"; return 1; }
  # Bytes of several writes in one read: a's then b's.
  grep -q '^read [0-9]* bytes: aaaaaaaaaabbbbbbbbbb' "$SERVER_LOG"
}

@test "lesson09: one write of 1 MiB arrives in many reads" {
  start_server lesson09/reads
  run_client lesson09/burst 127.0.0.1 "$SERVER_PORT" 1 1048576
  [[ $status -eq 0 ]]
  local summary reads
  summary=$(reads_summary)
  reads=${summary#1048576 bytes in }; reads=${reads% reads}
  ((reads >= 16)) || { echo "$summary"; return 1; }
}

@test "lesson09: under 1-byte reads one 10-byte write is ten reads" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
  start_server lesson09/reads
  run_client lesson09/burst -n 127.0.0.1 "$SERVER_PORT" 1 10
  [[ "$(reads_summary)" == "10 bytes in 10 reads" ]]
}

# ---- Delimited framing: common/lines.c -----------------------------------

@test "lesson09: line-server answers each line, a last line without newline too" {
  start_server lesson09/line-server
  upload_raw reply < <(printf 'one\n\ntwo words\nlast')
  [[ $output == $'line 1: 3 bytes: one\nline 2: 0 bytes: \nline 3: 9 bytes: two words\nline 4: 4 bytes: last' ]]
  wait_for_log ': 4 lines$'
}

@test "lesson09: lines cut into 1-byte reads and coalesced writes are put back together" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3)
  start_server lesson09/line-server
  upload_raw reply < <(printf 'alpha\nbeta\ngamma\n')
  [[ $output == $'line 1: 5 bytes: alpha\nline 2: 4 bytes: beta\nline 3: 5 bytes: gamma' ]]
}

@test "lesson09: a line of exactly MAX bytes passes, one byte more is refused and the server goes on" {
  start_server lesson09/line-server -m 8 0
  upload_raw reply < <(printf '12345678\n123456789\nnever\n')
  [[ $output == $'line 1: 8 bytes: 12345678\nerror: line longer than 8 bytes' ]]
  wait_for_log ': line longer than 8 bytes, closing$'
  upload_raw reply < <(printf 'ok\n')
  [[ $output == "line 1: 2 bytes: ok" ]]
}

@test "lesson09: a last line of MAX+1 bytes with no newline is refused, not overrun" {
  start_server lesson09/line-server -m 8 0
  upload_raw reply < <(printf '123456789')
  [[ $output == "error: line longer than 8 bytes" ]]
}

@test "lesson09: 4 MiB with no newline gets the error, and the server holds no more than its maximum" {
  start_server lesson09/line-server
  run bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; head -c 4194304 /dev/zero | tr "\0" x >&3 2>/dev/null; cat <&3' _ "$SERVER_PORT"
  [[ $output == "error: line longer than 1024 bytes" ]]
  # A reader that grew its buffer would have taken all 4 MiB in.
  [[ $SOCKLAB_VARIANT == release ]] || return 0
  # Under qemu-user the peak is the emulator's as much as the program's.
  [[ -z ${SOCKLAB_EMULATED:-} ]] || return 0
  local rss
  rss=$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
  ((rss < 4096)) || { echo "peak memory ${rss} kB"; return 1; }
}

@test "lesson09: eight threads, each with its own line reader, never see each other's lines" {
  run -0 timeout -s KILL "$DEADLINE" "$TOOLS/lines-threads" 8 5000
  [[ $output == "8 threads, 5000 lines each: all whole and in order" ]]
}

# ---- Length-prefixed framing: frame.h ------------------------------------

@test "lesson09: msg-client's lines come back one message each, under 1-byte reads and EINTR" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3)
  start_server lesson09/msg-server
  run_client lesson09/msg-client 127.0.0.1 "$SERVER_PORT" <<<$'hello\n\nworld, with spaces'
  [[ $status -eq 0 && $output == $'hello\n\nworld, with spaces' ]]
  wait_for_log ': 3 messages$'
}

@test "lesson09: two messages in one write are two replies, byte for byte" {
  start_server lesson09/msg-server
  run bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "\0\0\0\3abc\0\0\0\2de" >&3; head -c 13 <&3 | od -An -tx1' _ "$SERVER_PORT"
  [[ $(xargs <<<"$output") == "00 00 00 03 61 62 63 00 00 00 02 64 65" ]]
}

@test "lesson09: a length of 4 GiB - 1 is refused before any allocation, and the server goes on" {
  start_server lesson09/msg-server
  upload_raw close < <(printf '\xff\xff\xff\xffabc')
  wait_for_log ': refused a message of 4294967295 bytes \(the limit is 65536\)$'
  run_client lesson09/msg-client 127.0.0.1 "$SERVER_PORT" <<<"still here"
  [[ $status -eq 0 && $output == "still here" ]]
}

@test "lesson09: a length of exactly MAX passes, MAX+1 is refused" {
  start_server lesson09/msg-server -m 5 0
  run bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1; printf "\0\0\0\5abcde" >&3; head -c 9 <&3 | od -An -tx1' _ "$SERVER_PORT"
  [[ $(xargs <<<"$output") == "00 00 00 05 61 62 63 64 65" ]]
  upload_raw close < <(printf '\0\0\0\6abcdef')
  wait_for_log 'refused a message of 6 bytes \(the limit is 5\)$'
}

@test "lesson09: a message cut short by end of file is reported as truncated" {
  start_server lesson09/msg-server
  upload_raw close < <(printf '\0\0\0\12abc')
  wait_for_log ': truncated message: the connection ended after 7 bytes of it$'
  upload_raw close < <(printf '\0\0')
  wait_for_log ': truncated message: the connection ended after 2 bytes of it$'
}

@test "lesson09: msg-client reports a line over the limit instead of sending it" {
  start_server lesson09/msg-server
  run --separate-stderr timeout 5 "$BIN/lesson09/msg-client" 127.0.0.1 "$SERVER_PORT" \
    < <(head -c 70000 /dev/zero | tr '\0' x)
  [[ $status -eq 1 && $stderr == *"standard input: Message too "*" (EMSGSIZE)"* ]]
}

@test "lesson09: structs shows padding and host byte order beside the 15-byte format" {
  run -0 "$BIN/lesson09/structs"
  [[ $output == *"field by field, big-endian (15 bytes):"$'\n'"  41 01 02 03 04 23 28 00 00 00 00 00 00 00 05"* ]]
  # Padding: bytes nobody set, still 0xee, between kind and id.
  [[ $output =~ "the struct's bytes (24 bytes):"$'\n'"  41 ee ee ee 04 03 02 01 28 23" ]] ||
    [[ $(uname -m) != x86_64 ]]
}

# ---- The file transfer ---------------------------------------------------

@test "lesson09: a 4 MiB upload is stored byte for byte, and nothing else is left" {
  start_receiver
  head -c 4194304 /dev/urandom >"$BATS_TEST_TMPDIR/data.bin"
  send_file "$BATS_TEST_TMPDIR/data.bin"
  [[ $status -eq 0 && $output == "sent data.bin, 4194304 bytes" && -z $stderr ]]
  cmp "$BATS_TEST_TMPDIR/data.bin" "$RX_DIR/data.bin"
  [[ $(ls -A "$RX_DIR") == data.bin ]]
  wait_for_log ': stored data.bin, 4194304 bytes$'
}

@test "lesson09: an upload through 7-byte reads and EINTR on the receiver, and -r's copy loop under 1000-byte writes" {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=7 SOCKLAB_FAULT_EINTR=4)
  start_receiver
  head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/a.bin"
  send_file "$BATS_TEST_TMPDIR/a.bin"
  [[ $status -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/a.bin" "$RX_DIR/a.bin"
  run --separate-stderr env LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1000 SOCKLAB_FAULT_EINTR=3 \
    timeout -s KILL "$DEADLINE" "$BIN/lesson09/send" -r -n b.bin "$BATS_TEST_TMPDIR/a.bin" 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/a.bin" "$RX_DIR/b.bin"
}

# upload_one_byte_at_a_time BYTES: the receiver reads one byte per call, the
# sender's copy loop writes one byte per call, both with EINTR now and then.
upload_one_byte_at_a_time() {
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=5)
  start_receiver
  head -c "$1" /dev/urandom >"$BATS_TEST_TMPDIR/bytes"
  run --separate-stderr env LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=3 \
    timeout -s KILL 100 "$BIN/lesson09/send" -r "$BATS_TEST_TMPDIR/bytes" 127.0.0.1 "$SERVER_PORT"
  [[ $status -eq 0 ]] || { echo "$stderr"; return 1; }
  cmp "$BATS_TEST_TMPDIR/bytes" "$RX_DIR/bytes"
}

@test "lesson09: 64 KiB through 1-byte reads and writes and EINTR on both sides" {
  upload_one_byte_at_a_time 65536
}

# bats test_tags=slow
@test "lesson09: 1 MiB through 1-byte reads and writes and EINTR on both sides" {
  upload_one_byte_at_a_time 1048576
}

@test "lesson09: an empty file is an upload like any other" {
  start_receiver
  : >"$BATS_TEST_TMPDIR/empty"
  send_file "$BATS_TEST_TMPDIR/empty"
  [[ $status -eq 0 && -f $RX_DIR/empty && ! -s $RX_DIR/empty ]]
}

@test "lesson09: names that would escape the directory are refused, and the receiver goes on" {
  start_receiver
  echo secret >"$BATS_TEST_TMPDIR/f"
  local name why
  for name in ../escape /tmp/abs a/b .hidden .. . $'new\nline'; do
    case $name in
      */*) why="'/' in the name (only a plain file name is accepted)" ;;
      .*) why="name starts with '.'" ;;
      *) why="control character in the name" ;;
    esac
    send_file -n "$name" "$BATS_TEST_TMPDIR/f"
    [[ $status -eq 1 && $stderr == *"the receiver refused "*": $why" ]] ||
      { echo "name '$name': status $status, $stderr"; return 1; }
  done
  [[ ! -e $BATS_TEST_TMPDIR/escape && ! -e /tmp/abs ]]
  rx_empty
  # A NUL byte inside the name, and an empty name, need hand-made headers.
  upload_raw reply < <({ printf 'SLF1'; be 2 3; be 8 1; printf 'a\0b' ; printf x; })
  [[ $output == "ERR NUL byte in the name" ]]
  upload_raw reply < <({ printf 'SLF1'; be 2 0; be 8 1; printf x; })
  [[ $output == "ERR empty name" ]]
  rx_empty
  send_file "$BATS_TEST_TMPDIR/f"
  [[ $status -eq 0 && $(cat "$RX_DIR/f") == secret ]]
}

@test "lesson09: hostile headers: not SLF1, a size over 2^63 - 1, a cut-short header" {
  start_receiver
  upload_raw reply < <(printf 'GET / HTTP/1.0\r\n\r\n')
  [[ $output == "ERR not an upload (the header must start with SLF1)" ]]
  upload_raw reply < <({ printf 'SLF1'; be 2 1; be 8 -1; printf 'x'; })
  [[ $output == "ERR size too large" ]]
  upload_raw reply < <({ printf 'SLF1'; be 2 9; be 8 1; printf 'abc'; })
  [[ $output == "ERR header cut short" ]]
  rx_empty
  wait_for_log 'refused: header cut short$'
}

@test "lesson09: a sender that stops mid-file leaves nothing; a reset mid-file neither" {
  start_receiver
  upload_raw close < <({ xfer_header part.bin 1048576; head -c 100000 /dev/zero; })
  wait_for_log 'refused: truncated: 100000 of 1048576 bytes arrived$'
  rx_empty
  upload_raw reset < <({ xfer_header part.bin 1048576; head -c 100000 /dev/zero; })
  wait_for_log 'refused: Connection reset by peer \(ECONNRESET\) after [0-9]+ of 1048576 bytes$'
  rx_empty
}

@test "lesson09: a sender killed mid-file leaves nothing under the name" {
  skip_without_fault_shim
  start_receiver
  head -c 2000000 /dev/urandom >"$BATS_TEST_TMPDIR/big.bin"
  # 1-byte writes: slow enough to be killed halfway.
  start_background "$BATS_TEST_TMPDIR/send.out" env LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1 \
    "$BIN/lesson09/send" -r "$BATS_TEST_TMPDIR/big.bin" 127.0.0.1 "$SERVER_PORT"
  wait_for_log ': receiving big.bin, 2000000 bytes$'
  wait_until "a part of the file to arrive" bash -c 'compgen -G "$1/.big.bin.part.*" >/dev/null' _ "$RX_DIR"
  [[ ! -e $RX_DIR/big.bin ]]
  kill_background "$BACKGROUND_PID"
  wait_for_log 'refused: truncated: [0-9]+ of 2000000 bytes arrived$'
  rx_empty
}

@test "lesson09: more bytes than the header announced are refused" {
  start_receiver
  upload_raw reply < <({ xfer_header liar 10; printf '0123456789extra'; })
  [[ $output == "ERR more bytes than the header announced" ]]
  rx_empty
}

@test "lesson09: a file size limit (EFBIG) is reported to both sides and leaves nothing" {
  start_receiver
  prlimit --pid "$SERVER_PID" --fsize=1048576
  head -c 3145728 /dev/urandom >"$BATS_TEST_TMPDIR/huge.bin"
  send_file "$BATS_TEST_TMPDIR/huge.bin"
  [[ $status -eq 1 && $stderr == *"the receiver refused huge.bin: writing the file: File too large (EFBIG)"* ]]
  wait_for_log 'refused: writing the file: File too large \(EFBIG\)$'
  rx_empty
  kill -0 "$SERVER_PID"
}

@test "lesson09: a full disk (ENOSPC, a 1 MiB tmpfs) is reported to both sides and leaves nothing" {
  RX_DIR=$BATS_TEST_TMPDIR/rx
  mkdir -p "$RX_DIR"
  mount -t tmpfs -o size=1m tmpfs "$RX_DIR" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
  start_server lesson09/receive -d "$RX_DIR" 0
  head -c 3145728 /dev/urandom >"$BATS_TEST_TMPDIR/huge.bin"
  send_file "$BATS_TEST_TMPDIR/huge.bin"
  local st=$status err=$stderr
  wait_for_log 'refused: writing the file: No space left on device \(ENOSPC\)$'
  local left
  left=$(ls -A "$RX_DIR")
  stop_server
  umount "$RX_DIR"
  [[ $st -eq 1 && $err == *"writing the file: No space left on device (ENOSPC)"* ]]
  [[ -z $left ]]
}

@test "lesson09: two uploads of one name at once: each whole, the last to finish wins" {
  start_receiver
  head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/first"
  head -c 300000 /dev/urandom >"$BATS_TEST_TMPDIR/second"
  # The first: header and half its bytes, then it waits for the test.
  xfer_header same 200000 >"$BATS_TEST_TMPDIR/first.hdr"
  mkfifo "$BATS_TEST_TMPDIR/pipe"
  start_background "$BATS_TEST_TMPDIR/first.out" bash -c \
    'exec 4<"$3"; { cat "$1"; head -c 100000 "$2"; cat <&4; tail -c +100001 "$2"; } |
       "$4" 127.0.0.1 "$5" reply' _ "$BATS_TEST_TMPDIR/first.hdr" "$BATS_TEST_TMPDIR/first" \
    "$BATS_TEST_TMPDIR/pipe" "$TOOLS/upload-peer" "$SERVER_PORT"
  exec 5>"$BATS_TEST_TMPDIR/pipe"
  wait_for_log ': receiving same, 200000 bytes$'
  # The second, whole, while the first is half there.
  send_file -n same "$BATS_TEST_TMPDIR/second"
  [[ $status -eq 0 ]]
  cmp "$BATS_TEST_TMPDIR/second" "$RX_DIR/same"
  exec 5>&-                     # the first goes on
  wait_for_log ': stored same, 200000 bytes$'
  cmp "$BATS_TEST_TMPDIR/first" "$RX_DIR/same"
  [[ $(ls -A "$RX_DIR") == same ]]
}

@test "lesson09: SIGTERM while a client streams: exit 0 within a second, no file left" {
  start_receiver
  xfer_header stream 8589934592 >"$BATS_TEST_TMPDIR/hdr"
  start_background "$BATS_TEST_TMPDIR/stream.out" bash -c \
    '{ cat "$1"; head -c 8589934592 /dev/zero; } | "$2" 127.0.0.1 "$3" close' \
    _ "$BATS_TEST_TMPDIR/hdr" "$TOOLS/upload-peer" "$SERVER_PORT"
  wait_for_log ': receiving stream, 8589934592 bytes$'
  local started=$EPOCHREALTIME
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }'
  rx_empty
}

@test "lesson09: a progress bar only when standard error is a terminal" {
  start_receiver
  head -c 1048576 /dev/zero >"$BATS_TEST_TMPDIR/z"
  send_file "$BATS_TEST_TMPDIR/z"
  [[ $status -eq 0 && -z $stderr ]]
  run script -qec "$BIN/lesson09/send -n z2 $BATS_TEST_TMPDIR/z 127.0.0.1 $SERVER_PORT" /dev/null
  [[ $status -eq 0 && $output == *"100% [##############################]"* ]]
}

# bats test_tags=slow
@test "lesson09: 1 GiB round-trips byte for byte (sha256sum)" {
  start_receiver
  head -c 1073741824 /dev/urandom >"$BATS_TEST_TMPDIR/gib"
  DEADLINE=120 send_file "$BATS_TEST_TMPDIR/gib"
  [[ $status -eq 0 ]]
  [[ $(sha256sum <"$BATS_TEST_TMPDIR/gib") == "$(sha256sum <"$RX_DIR/gib")" ]]
}

# ---- What every program does ----------------------------------------------

@test "lesson09: usage and bad ports" {
  local p
  for p in reads line-server msg-server receive; do
    check_usage "lesson09/$p"
    check_server_bad_ports "lesson09/$p"
  done
  check_usage lesson09/msg-client
  check_client_bad_ports lesson09/msg-client
  check_usage lesson09/send
}

@test "lesson09: the servers stop on SIGTERM and SIGINT within a second" {
  local p
  for p in reads line-server msg-server; do
    check_stop_signal TERM "lesson09/$p"
    check_stop_signal INT "lesson09/$p"
  done
}

@test "lesson09: receive stops on SIGTERM within a second" {
  start_receiver
  local started=$EPOCHREALTIME
  stop_server TERM
  [[ $SERVER_STATUS -eq 0 ]]
  awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { exit !(b - a < 1.0) }'
}

