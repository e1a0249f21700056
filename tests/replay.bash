# replay_chapter docs/NN-topic.md: replay the chapter's ```console transcripts
# with tests/replay (programs from $SOCKLAB_BIN) and fail the test, showing
# the report, on any difference. Sourced by helpers.bash and docs.bats.
# shellcheck disable=SC2154  # status and output are set by bats' run
replay_chapter() {
  run "$BATS_TEST_DIRNAME/replay" "$1"
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$output"
    return 1
  fi
}
