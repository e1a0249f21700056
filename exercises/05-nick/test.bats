# Exercise 05-nick: what the grader checks (make grade EX=05-nick).
# Each test's name is a sentence about the chat server under test; when one
# fails, it says what it expected and what came back. The clients are bash
# connections: B listens, A (and C) speak.
load ../../tests/exercise
load ../../tests/05-select

INVALID='* invalid nickname: use 1 to 16 letters, digits, - or _'
UNKNOWN='* unknown command: the commands are /nick NAME and /quit'

# send FD LINE...: the lines, each with a newline, in one write: the server
# then reads them together, as it would from a fast client.
send() {
  local fd=$1 text
  shift
  printf -v text '%s\n' "$@"
  printf '%s' "$text" >&"$fd"
}

# expect_next WHAT FD LINE: the next line from descriptor FD is LINE.
expect_next() {
  local what=$1 fd=$2 want=$3 line rc=0
  IFS= read -r -t "$DEADLINE" line <&"$fd" || rc=$?
  if ((rc == 0)); then
    expect "$what" "$want" "$line"
    return
  fi
  printf '%s\n  expected: %s\n' "$what" "$(shown "$want")"
  if ((rc > 128)); then
    printf '  got:      nothing within %s s\n' "$DEADLINE"
  elif [[ -n $line ]]; then
    printf '  got:      %s, then the server closed the connection\n' "$(shown "$line")"
  else
    printf '  got:      the end of the connection: the server closed it\n'
  fi
  return 1
}

# expect_closed WHAT FD: the server closes descriptor FD's connection next.
expect_closed() {
  local what=$1 fd=$2 line rc=0
  IFS= read -r -t "$DEADLINE" line <&"$fd" || rc=$?
  ((rc == 1)) && [[ -z $line ]] && return 0
  printf '%s\n  expected: the end of the connection: the server closes it\n' "$what"
  if ((rc > 128)); then
    printf '  got:      still open after %s s\n' "$DEADLINE"
  else
    printf '  got:      %s\n' "$(shown "$line")"
  fi
  return 1
}

# chat: starts the server and connects B (descriptor 5) and A (6); sets
# B_ADDR and A_ADDR, the addresses the server knows them by.
chat() {
  start_server chat-server
  connect_fd 5
  connect_fd 6
  B_ADDR=$(client_addr 1)
  A_ADDR=$(client_addr 2)
  expect_next "what B sees when A joins" 5 "* $A_ADDR joined"
}

# join_c [a]: connects C (descriptor 7), whom B (and A) see join; sets C_ADDR.
join_c() {
  connect_fd 7
  C_ADDR=$(client_addr 3)
  expect_next "what B sees when C joins" 5 "* $C_ADDR joined"
  [[ -z ${1-} ]] || expect_next "what A sees when C joins" 6 "* $C_ADDR joined"
}

@test "/nick NAME: the sender is told, the others see the change" {
  chat
  send 6 "/nick alice"
  expect_next 'what B sees after A sends "/nick alice"' 5 "* $A_ADDR is now alice"
  expect_next 'the answer to A'\''s "/nick alice"' 6 "* you are now alice"
}

@test "after /nick, the sender's lines reach the others after its nickname" {
  chat
  send 6 "/nick alice" "hello"
  expect_next 'what B sees after A'\''s "/nick alice"' 5 "* $A_ADDR is now alice"
  expect_next 'what B sees when A then says "hello"' 5 "alice: hello"
  send 6 "/nick alicia" "again"
  expect_next 'what B sees after A'\''s "/nick alicia"' 5 "* alice is now alicia"
  expect_next 'what B sees when A then says "again"' 5 "alicia: again"
  # A gets its answers, never its own lines: B's line comes right after.
  send 5 "from B"
  expect_next 'the answer to A'\''s "/nick alice"' 6 "* you are now alice"
  expect_next 'the answer to A'\''s "/nick alicia"' 6 "* you are now alicia"
  expect_next 'what A sees next, when B says "from B"' 6 "$B_ADDR: from B"
}

@test "only a line that starts with a slash is a command" {
  chat
  send 6 " /nick alice" "and/or" "/nick alice"
  expect_next 'what B sees when A says " /nick alice" (a space first)' 5 "$A_ADDR:  /nick alice"
  expect_next 'what B sees when A says "and/or"' 5 "$A_ADDR: and/or"
  expect_next 'what B sees after A'\''s "/nick alice"' 5 "* $A_ADDR is now alice"
}

@test "nicknames that break the rules are refused, and the name stays" {
  chat
  send 6 "/nick alice"
  expect_next 'what B sees after A'\''s "/nick alice"' 5 "* $A_ADDR is now alice"
  expect_next 'the answer to A'\''s "/nick alice"' 6 "* you are now alice"
  local bad=("/nick" "/nick " "/nick a b" "/nick bob:" "/nick 127.0.0.1"
             "/nick seventeen-chars17" "/nick café") b
  send 6 "${bad[@]}"
  printf '/nick a\0b\n' >&6
  send 6 "still alice"
  expect_next "what B sees when A then says \"still alice\" (B hears nothing of refused names)" \
    5 "alice: still alice"
  for b in "${bad[@]}"; do
    expect_next "the answer to A's $(shown "$b")" 6 "$INVALID"
  done
  expect_next 'the answer to A'\''s "/nick a\x00b" (a NUL byte in the name)' 6 "$INVALID"
  # 16 characters, the longest allowed, of every kind allowed.
  send 6 "/nick A-Za-z_09-long16"
  expect_next 'the answer to A'\''s "/nick A-Za-z_09-long16" (16 characters)' 6 \
    "* you are now A-Za-z_09-long16"
  expect_next 'what B sees after it' 5 "* alice is now A-Za-z_09-long16"
}

@test "a nickname in use is refused, until its owner leaves" {
  chat
  join_c a
  send 6 "/nick bob"
  expect_next 'what B sees after A'\''s "/nick bob"' 5 "* $A_ADDR is now bob"
  expect_next 'what C sees after A'\''s "/nick bob"' 7 "* $A_ADDR is now bob"
  expect_next 'the answer to A'\''s "/nick bob"' 6 "* you are now bob"
  send 7 "/nick bob" "hi"
  expect_next 'what B sees when C, refused, then says "hi"' 5 "$C_ADDR: hi"
  expect_next 'the answer to C'\''s "/nick bob", taken by A' 7 "* nickname bob is taken"
  expect_next 'what A sees when C says "hi"' 6 "$C_ADDR: hi"
  # Taking the name one already has is no change: no news for the others.
  send 6 "/nick bob" "me again"
  expect_next 'what B sees when A, already bob, sends "/nick bob" and "me again"' 5 "bob: me again"
  expect_next 'the answer to A'\''s second "/nick bob"' 6 "* you are now bob"
  exec 6>&-
  expect_next "what B sees when A leaves" 5 "* bob left"
  expect_next 'what C sees when A says "me again"' 7 "bob: me again"
  expect_next "what C sees when A leaves" 7 "* bob left"
  wait_for_log "^$A_ADDR disconnected$"
  send 7 "/nick bob"
  expect_next 'what B sees when C sends "/nick bob" after A has left' 5 "* $C_ADDR is now bob"
  expect_next 'the answer to C'\''s "/nick bob" after A has left' 7 "* you are now bob"
}

@test "unknown commands are answered, and not delivered" {
  chat
  local cmd unknown=("/help" "/quitter" "/" "/NICK bob")
  send 6 "${unknown[@]}" "after"
  expect_next "what B sees when A sends $(printf '"%s", ' "${unknown[@]}")then \"after\"" \
    5 "$A_ADDR: after"
  for cmd in "${unknown[@]}"; do
    expect_next "the answer to A's \"$cmd\"" 6 "$UNKNOWN"
  done
}

@test "/quit: the sender gets * bye and is let go; the others see it leave" {
  chat
  send 6 "/nick alice"
  expect_next 'what B sees after A'\''s "/nick alice"' 5 "* $A_ADDR is now alice"
  expect_next 'the answer to A'\''s "/nick alice"' 6 "* you are now alice"
  send 6 "/quit" "lost words"
  expect_next 'what B sees when A sends "/quit"' 5 "* alice left"
  expect_next 'the answer to A'\''s "/quit"' 6 "* bye"
  expect_closed 'after "* bye", for A' 6
  wait_for_log "^$A_ADDR disconnected$"
  # A's "lost words" came after /quit: B's next line is C joining.
  join_c
}

@test "/quit as a client's last line, without a newline, lets it leave once" {
  chat
  printf '/quit' >&6
  exec 6>&-
  expect_next 'what B sees when A sends "/quit" (no newline) and closes' 5 "* $A_ADDR left"
  wait_for_log "^$A_ADDR disconnected$"
  # Had A been announced twice, the second "left" would come before this.
  join_c
}

@test "a client with a nickname that just closes is announced by its nickname" {
  chat
  send 6 "/nick alice"
  expect_next 'what B sees after A'\''s "/nick alice"' 5 "* $A_ADDR is now alice"
  exec 6>&-
  expect_next "what B sees when A closes its connection" 5 "* alice left"
}

@test "commands that arrive one byte per read work all the same" {
  # The suite's fault-injection library makes every read return one byte.
  # shellcheck disable=SC2034  # read by start_server
  SERVER_ENV=(LD_PRELOAD="$FAULT_LIB" SOCKLAB_FAULT_MAXIO=1)
  chat
  send 6 "/nick alice" "hello"
  expect_next 'what B sees after A'\''s "/nick alice", read one byte at a time' 5 "* $A_ADDR is now alice"
  expect_next 'what B sees when A then says "hello"' 5 "alice: hello"
  expect_next 'the answer to A'\''s "/nick alice"' 6 "* you are now alice"
}

@test "the server logs each client coming and going, and stops cleanly on SIGTERM" {
  chat
  exec 6>&-
  wait_for_log "^$A_ADDR disconnected$"
  exec 5>&-
  wait_for_log "^$B_ADDR disconnected$"
  expect_clean_stop TERM
}

@test "after /nick and /quit, the log still names the client by its address" {
  chat
  send 6 "/nick alice" "/quit"
  expect_next 'what B sees when A sends "/nick alice" and "/quit"' 5 "* $A_ADDR is now alice"
  wait_for_log "^$A_ADDR disconnected$"
}
