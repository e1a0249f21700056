# replay_chapter docs/NN-topic.md: replay the chapter's ```console transcripts
# with tests/replay (programs from $SOCKLAB_BIN) and fail the test, showing
# the report, on any difference. Sourced by helpers.bash and docs.bats.
# shellcheck disable=SC2154  # status and output are set by bats' run
replay_chapter() {
  # musl words errors its own way and caps listen()'s backlog at 128.
  [[ ${SOCKLAB_LIBC:-glibc} == glibc ]] || skip "the transcripts show what glibc builds print"
  # Under qemu-user, strace and ps see qemu and its threads, not the program alone.
  [[ -z ${SOCKLAB_EMULATED:-} ]] || skip "the transcripts show programs run natively"
  run "$BATS_TEST_DIRNAME/replay" "$1"
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$output"
    return 1
  fi
}
