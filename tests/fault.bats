#!/usr/bin/env bats
# Tests for the fault-injection shim (tests/fault/fault.c) itself, driven by
# tests/fault/probe.c. Every other test trusts this shim, so each feature
# here is checked by numbers that a broken shim could not produce.

bats_require_minimum_version 1.5.0

# The shim is built for this machine (FAULT_CC in the Makefile, whatever CC
# builds the lessons), and so is its probe.
CC=${FAULT_CC:-cc}

setup_file() {
    FAULT="$BATS_TEST_DIRNAME/../build/fault.so"
    if [ ! -f "$FAULT" ]; then
        make -C "$BATS_TEST_DIRNAME/.." build/fault.so >&2
    fi
    PROBE="$BATS_FILE_TMPDIR/probe"
    "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -pthread \
        -o "$PROBE" "$BATS_TEST_DIRNAME/fault/probe.c"
    # Fortified, the probe's reads become __read_chk/__recv_chk/__recvfrom_chk.
    PROBE_FORTIFIED="$BATS_FILE_TMPDIR/probe-fortified"
    "${CC:-cc}" -std=c11 -O2 -D_FORTIFY_SOURCE=2 -Wall -Wextra -pthread \
        -o "$PROBE_FORTIFIED" "$BATS_TEST_DIRNAME/fault/probe.c"
    export FAULT PROBE PROBE_FORTIFIED
}

setup() {
    # A variable leaking in from the caller would change every result.
    unset SOCKLAB_FAULT_MAXIO SOCKLAB_FAULT_EINTR SOCKLAB_FAULT_ACCEPT \
        SOCKLAB_FAULT_LOG SOCKLAB_FAULT_WRITE0 SOCKLAB_FAULT_CONNECT_EINTR
}

# probe ARGS...: run the probe under the shim (set variables in front).
probe() { LD_PRELOAD="$FAULT" "${PROBE_BIN:-$PROBE}" "$@"; }

# get KEY: the value of KEY=value in $output.
get() {
    local re="(^| )$1=([^ ]*)"
    [[ $output =~ $re ]] || { echo "no $1= in: $output" >&2; return 1; }
    printf '%s\n' "${BASH_REMATCH[2]}"
}

# expect KEY VALUE: fail with a readable message unless KEY=VALUE.
expect() {
    local got
    got=$(get "$1") || return 1
    if [ "$got" != "$2" ]; then
        echo "expected $1=$2, got $1=$got in: $output" >&2
        return 1
    fi
}

@test "without variables every call passes through unchanged" {
    for kind in unix tcp; do
        for api in rw sr to; do
            run -0 probe stream "$kind" "$api" 1000
            expect writes 1
            expect maxwrite 1000
            [ "$(get maxread)" -gt 1 ]
            expect eintr 0
            expect intact yes
        done
    done
}

@test "MAXIO=1 gives 1-byte reads and writes on every call and the data arrives intact" {
    for kind in unix tcp; do
        for api in rw sr to; do
            SOCKLAB_FAULT_MAXIO=1 run -0 probe stream "$kind" "$api" 1000
            expect writes 1000
            expect maxwrite 1
            expect reads 1001 # 1000 bytes, then EOF
            expect maxread 1
            expect intact yes
        done
    done
}

@test "MAXIO=N caps each transfer at N bytes" {
    SOCKLAB_FAULT_MAXIO=100 run -0 probe stream tcp sr 10000
    expect writes 100
    expect maxwrite 100
    expect maxread 100
    expect intact yes
}

@test "MAXIO also clamps the fortified __read_chk, __recv_chk and __recvfrom_chk" {
    if ! nm -u "$PROBE_FORTIFIED" | grep -q '__read_chk'; then
        skip "${CC:-cc} does not fortify read() (clang 14 does not)"
    fi
    for api in rw sr to; do
        PROBE_BIN=$PROBE_FORTIFIED SOCKLAB_FAULT_MAXIO=1 \
            run -0 probe stream unix "$api" 1000
        expect maxread 1
        expect reads 1001
        expect intact yes
    done
}

@test "MAXIO leaves datagram sockets whole" {
    SOCKLAB_FAULT_MAXIO=1 run -0 probe dgram 1000
    [ "$output" = "sent=1000 received=1000" ]
}

@test "EINTR=3 fails every third socket call and a retrying loop still gets the data" {
    SOCKLAB_FAULT_EINTR=3 run -0 probe stream tcp rw 1000
    [ "$(get eintr)" -gt 0 ]
    expect intact yes

    # With two threads sharing one counter, still exactly every third call.
    SOCKLAB_FAULT_EINTR=3 SOCKLAB_FAULT_MAXIO=1 run -0 probe stream tcp sr 1000
    local calls=$(($(get accepts) + $(get writes) + $(get reads)))
    expect eintr $((calls / 3))
    expect intact yes
}

@test "ACCEPT=EMFILE:2 fails the first two accepts and leaves the connection queued" {
    for call in accept accept4; do
        SOCKLAB_FAULT_ACCEPT=EMFILE:2 run -0 probe accept "$call" 3
        [ "$output" = "accept1=EMFILE accept2=EMFILE accept3=ok" ]
    done
    SOCKLAB_FAULT_ACCEPT=ECONNABORTED run -0 probe accept accept 2
    [ "$output" = "accept1=ECONNABORTED accept2=ok" ]
}

@test "WRITE0=1 makes the first write on a socket return 0 and send nothing" {
    SOCKLAB_FAULT_WRITE0=1 run -0 --separate-stderr probe stream unix rw 100
    # The probe's writer gives up on a 0, so nothing arrived at all.
    expect writes 1
    expect maxwrite 0
    expect intact no
    # Pipes are not sockets: untouched.
    SOCKLAB_FAULT_WRITE0=1 run -0 probe pipe 100
    expect intact yes
}

@test "CONNECT_EINTR=1 reports EINTR from a connect that really went ahead" {
    SOCKLAB_FAULT_CONNECT_EINTR=1 run -2 --separate-stderr probe stream tcp rw 100
    [ "$stderr" = "probe: connect: Interrupted system call" ]
    # A socketpair is connected without connect(): untouched.
    SOCKLAB_FAULT_CONNECT_EINTR=1 run -0 probe stream unix rw 100
    expect intact yes
}

@test "LOG appends one line of per-process socket call counts at exit" {
    local log="$BATS_TEST_TMPDIR/fault.log"

    SOCKLAB_FAULT_LOG=$log SOCKLAB_FAULT_EINTR=4 SOCKLAB_FAULT_MAXIO=10 \
        run -0 probe stream tcp sr 1000
    local first="pid=$(get pid) accept=$(get accepts) read=$(get reads)"
    first+=" write=$(get writes) eintr=$(get eintr)"
    [ "$(get eintr)" -gt 0 ]

    # Counting alone, with nothing injected, appends a second line.
    SOCKLAB_FAULT_LOG=$log run -0 probe stream unix rw 500
    local second="pid=$(get pid) accept=0 read=2 write=1 eintr=0"

    run -0 cat "$log"
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "$first" ]
    [ "${lines[1]}" = "$second" ]
}

@test "descriptors that are not sockets are never touched" {
    SOCKLAB_FAULT_MAXIO=1 SOCKLAB_FAULT_EINTR=2 run -0 probe pipe 1000
    expect writes 1
    expect maxwrite 1000
    expect maxread 1000
    expect eintr 0
    expect intact yes
}

@test "an unknown errno name aborts at load with a message" {
    SOCKLAB_FAULT_ACCEPT=EBOGUS run -134 --separate-stderr probe accept accept 1
    [ "$output" = "" ]
    [ "$stderr" = "fault.so: unknown errno name 'EBOGUS'" ]

    SOCKLAB_FAULT_ACCEPT=EBOGUS:3 run -134 --separate-stderr probe accept accept 1
    [ "$stderr" = "fault.so: unknown errno name 'EBOGUS'" ]
}

@test "invalid numbers abort at load, naming the variable" {
    local setting
    for setting in MAXIO=0 MAXIO= MAXIO=abc MAXIO=-1 MAXIO=12x \
        MAXIO=99999999999999999999 EINTR=0 EINTR=1 ACCEPT=EMFILE:0 \
        ACCEPT=EMFILE:x ACCEPT=EMFILE: WRITE0=0 CONNECT_EINTR=x; do
        run -134 --separate-stderr \
            env "SOCKLAB_FAULT_$setting" LD_PRELOAD="$FAULT" "$PROBE" pipe 10
        [ "$output" = "" ]
        [[ $stderr == "fault.so: SOCKLAB_FAULT_${setting%%=*}"* ]] ||
            { echo "$setting: $stderr" >&2; return 1; }
    done
}

@test "under AddressSanitizer the shim works with verify_asan_link_order=0" {
    local asan="$BATS_TEST_TMPDIR/probe-asan"
    if ! "${CC:-cc}" -std=c11 -O1 -fsanitize=address -pthread -o "$asan" \
        "$BATS_TEST_DIRNAME/fault/probe.c" 2>/dev/null; then
        skip "${CC:-cc} cannot build with -fsanitize=address here"
    fi
    PROBE_BIN=$asan ASAN_OPTIONS=verify_asan_link_order=0 \
        SOCKLAB_FAULT_MAXIO=1 run -0 probe stream unix rw 100
    expect maxread 1
    expect intact yes
}
