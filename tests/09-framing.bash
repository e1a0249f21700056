# 09-framing.bash - what tests/09-framing.bats loads: bytes for hostile
# uploads, and waiting on lesson 09's receiver.
# shellcheck disable=SC2154  # BATS_TEST_TMPDIR, SERVER_PORT: bats' and helpers'

# be BYTES VALUE: VALUE as BYTES bytes, most significant first (-1: all ff).
be() {
  local n=$1 v=$2 i out=
  for ((i = n - 1; i >= 0; i--)); do
    printf -v out '%s\\x%02x' "$out" $(((v >> (8 * i)) & 255))
  done
  printf '%b' "$out"
}

# xfer_header NAME SIZE: an upload's header (lessons/09-framing/xfer.h).
xfer_header() {
  local LC_ALL=C
  printf 'SLF1'
  be 2 "${#1}"
  be 8 "$2"
  printf '%s' "$1"
}

# upload_raw reply|close|reset: standard input to the server as it is,
# through the test peer; what the server answered in $output.
upload_raw() {
  run --separate-stderr timeout -s KILL "$DEADLINE" "$TOOLS/upload-peer" 127.0.0.1 "$SERVER_PORT" "$1"
}

# start_receiver [ARGS...]: lesson 09's receive storing into $RX_DIR.
start_receiver() {
  RX_DIR=$BATS_TEST_TMPDIR/rx
  mkdir -p "$RX_DIR"
  start_server lesson09/receive -d "$RX_DIR" 0 "$@"
}

# rx_empty: the receiver's directory holds nothing, temporary files included.
rx_empty() {
  local left
  left=$(ls -A "$RX_DIR")
  [[ -z $left ]] || { echo "left in the receiver's directory: $left" >&2; return 1; }
}

# send_file [SEND-OPTIONS...] FILE: lesson 09's send to the receiver, run.
send_file() {
  run --separate-stderr timeout -s KILL "$DEADLINE" "$BIN/lesson09/send" "$@" 127.0.0.1 "$SERVER_PORT"
  no_sanitizer_report "$output$stderr" lesson09/send
}
