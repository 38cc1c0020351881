#!/bin/bash
# vessel-vmm --gdb with a real gdb (gdb-multiarch) in batch mode against a bare-metal guest, on
# both engines: held at the first instruction (--gdb-wait), a breakpoint, a step, registers and
# memory read and written, write and read watchpoints, a hardware breakpoint, and on to the
# guest's own power-off; Ctrl-C on a running guest, detach (the guest runs on) and kill (the VMM
# exits); the unix socket (spoken to from gdb's Python); and every bad --gdb input as one line and
# status 1. Every gdb and VMM is bounded in time: a hang fails the case instead of the test.
# Usage: gdb_test.sh VMM GDB_GUEST_ELF SPIN_ELF GDB
set -uo pipefail
vmm=$1 guest=$(realpath "$2") spin=$(realpath "$3") gdb=$4
work=$(mktemp -d)
vmm_pid=
cleanup() {
    [[ -n $vmm_pid ]] && kill -KILL "$vmm_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# start_vmm NAME ARGS...: vessel-vmm -v --gdb PORT ARGS in the background on a free port (another
# one when it reports the port in use); returns once it listens. Sets port and vmm_pid.
start_vmm() {
    local name=$1
    shift
    for _ in $(seq 1 20); do
        port=$((20000 + RANDOM % 30000))
        "$vmm" -v --gdb "$port" "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
        vmm_pid=$!
        for _ in $(seq 1 400); do
            grep -q "waiting for a debugger" "$work/$name.err" && return 0
            kill -0 "$vmm_pid" 2>/dev/null || break
            sleep 0.05
        done
        wait "$vmm_pid" 2>/dev/null
        vmm_pid=
        if ! grep -q "in use" "$work/$name.err"; then
            fail "$name: vessel-vmm did not listen: $(cat "$work/$name.err")"
            return 1
        fi
    done
    fail "$name: no free port found"
    return 1
}

# wait_for_vmm: sets vmm_exit to vessel-vmm's exit status, waiting up to 30 s (124 when it had to
# be killed). In this shell, not a subshell: only vessel-vmm's parent can wait for it, and an exited
# VMM stays a zombie (kill -0 finds it) until this shell reaps it.
wait_for_vmm() {
    local waited_ms=0
    while kill -0 "$vmm_pid" 2>/dev/null && ((waited_ms < 30000)); do
        [[ $(awk '{ print $3 }' "/proc/$vmm_pid/stat" 2>/dev/null) == Z ]] && break
        sleep 0.05
        waited_ms=$((waited_ms + 50))
    done
    if ((waited_ms >= 30000)); then
        kill -KILL "$vmm_pid"
        wait "$vmm_pid" 2>/dev/null
        vmm_exit=124
    else
        wait "$vmm_pid"
        vmm_exit=$?
    fi
    vmm_pid=
}

# run_gdb NAME ELF COMMANDS...: gdb in batch mode, connected to the current port.
run_gdb() {
    local name=$1 elf=$2
    shift 2
    local args=()
    for command in "$@"; do args+=(-ex "$command"); done
    timeout -s KILL 90 "$gdb" -nx -batch -ex 'set pagination off' -ex 'set confirm off' \
        -ex "target remote 127.0.0.1:$port" "${args[@]}" "$elf" >"$work/$name.gdb" 2>&1
}

# expect_in NAME PATTERN...: each extended regex PATTERN is in NAME's gdb output, in this order.
expect_in() {
    local name=$1 rest
    shift
    rest=$(cat "$work/$name.gdb")
    for pattern in "$@"; do
        local line
        line=$(grep -Enm1 -- "$pattern" <<<"$rest" | cut -d: -f1)
        if [[ -z $line ]]; then
            fail "$name: gdb never printed (after the previous check) '$pattern'; its output:"
            sed 's/^/  | /' "$work/$name.gdb"
            return
        fi
        rest=$(tail -n +$((line + 1)) <<<"$rest")
    done
    echo "ok: $name"
}

expect_status() {
    local name=$1 want=$2
    wait_for_vmm
    if [[ $vmm_exit -ne $want ]]; then
        fail "$name: vessel-vmm exited $vmm_exit, not $want; its stderr:"
        sed 's/^/  | /' "$work/$name.err"
    fi
}

# A whole session, on each engine: the debug path must not depend on which one runs the guest.
for engine in interp jit; do
    name=session-$engine
    start_vmm "$name" --engine "$engine" --bios "$guest" --gdb-wait --timeout 200 || continue
    run_gdb "$name" "$guest" \
        'info threads' \
        'print $pc' \
        'break loop' 'continue' 'print $pc' \
        'stepi' 'print $pc' 'print/x $s0' \
        'x/s &message' \
        'set var *(char*)&message = 0x56' 'x/s &message' \
        'set var $a3 = 0x1234' 'print/x $a3' \
        'print/x $mhartid' 'print/x $misa' \
        'delete' \
        'watch *(long*)&counter' 'continue' 'print $pc' \
        'delete' \
        'rwatch *(char*)&message' 'continue' \
        'delete' \
        'hbreak finish' 'continue' 'print $pc' \
        'delete' \
        'continue'
    expect_in "$name" \
        'Thread 1 \(hart 0, M-mode\)' \
        '<_start>' \
        'Breakpoint 1 at' 'Breakpoint 1, loop' '<loop>' \
        '<loop\+[0-9]+>' '= 0x1$' \
        '"vessel"' \
        '"Vessel"' \
        '= 0x1234$' \
        '= 0x0$' '= 0x800000000014112d$' \
        'Hardware watchpoint 2: \*\(long\*\)&counter' 'Old value = 0' 'New value = 1' \
        '<after_store>' \
        'Hardware read watchpoint 3: \*\(char\*\)&message' "Value = 86 'V'" \
        'Hardware assisted breakpoint 4 at' 'finish' '<finish>' \
        'exited normally'
    expect_status "$name" 0
done

# Attaching to a running guest stops it; Ctrl-C (SIGINT to gdb in its 'continue', which sends
# the protocol's 0x03) stops it again; detach lets it run on.
name=interrupt
if start_vmm "$name" --bios "$spin" --timeout 200; then
    "$gdb" -nx -batch -ex "target remote 127.0.0.1:$port" -ex 'print $pc' -ex 'continue' \
        -ex 'print $pc' -ex 'detach' "$spin" </dev/null >"$work/$name.gdb" 2>&1 &
    gdb_pid=$!
    sleep 2
    kill -INT "$gdb_pid"
    for _ in $(seq 1 400); do
        kill -0 "$gdb_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$gdb_pid" 2>/dev/null
    wait "$gdb_pid" 2>/dev/null
    expect_in "$name" '<_start>' 'received signal SIGINT' '<_start>' 'detached'
    sleep 0.3
    if kill -0 "$vmm_pid" 2>/dev/null; then
        kill -KILL "$vmm_pid"
        wait "$vmm_pid" 2>/dev/null
        vmm_pid=
    else
        fail "$name: the guest did not run on after detach"
    fi
fi

# Detach from a guest stopped at a breakpoint: the breakpoint goes, the guest runs to its end.
name=detach
if start_vmm "$name" --bios "$guest" --gdb-wait --timeout 200; then
    run_gdb "$name" "$guest" 'break after_store' 'continue' 'detach'
    expect_in "$name" 'Breakpoint 1, after_store' 'detached'
    expect_status "$name" 0
fi

# kill ends the VMM: stopped by the host.
name=kill
if start_vmm "$name" --bios "$guest" --gdb-wait --timeout 200; then
    run_gdb "$name" "$guest" 'kill'
    expect_in "$name" 'killed'
    expect_status "$name" 5
fi

# A unix socket, spoken to at the protocol level from gdb's Python (gdb itself has no unix
# sockets): the stop reply, then a detach; the socket goes away with the VMM.
name=unix
sock=$work/gdb.sock
"$vmm" --gdb "$sock" --gdb-wait --bios "$guest" --timeout 200 </dev/null >/dev/null \
    2>"$work/$name.err" &
vmm_pid=$!
for _ in $(seq 1 200); do
    [[ -S $sock ]] && break
    sleep 0.05
done
cat >"$work/unix.py" <<EOF
import socket, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect("$sock")
def exchange(data):
    s.sendall(data)
    reply = b""
    while not (reply.count(b"#") and len(reply) >= reply.index(b"#") + 3):
        reply += s.recv(4096)
    print(reply.decode())
exchange(b"\$?#3f")
exchange(b"+\$D#44")
EOF
timeout -s KILL 60 "$gdb" -nx -batch -ex "source $work/unix.py" >"$work/$name.gdb" 2>&1
expect_in "$name" '^\+\$T05thread:1;#' '^\+\$OK#9a'
expect_status "$name" 0
[[ -e $sock ]] && fail "$name: the socket outlived the VMM"

# The virt board: two harts as two threads, hart 1 not started by the guest yet; kill ends the VMM
# as a host stop (status 5).
name=board
if start_vmm "$name" --kernel "$spin" --cpus 2 --gdb-wait --timeout 200; then
    run_gdb "$name" "$spin" 'info threads' 'thread 2' 'print $pc' 'kill'
    expect_in "$name" 'Thread 1 \(hart 0, S-mode\)' 'Thread 2 \(hart 1, M-mode, not running\)' \
        'Switching to thread 2' 'killed'
    expect_status "$name" 5
fi

# Bad input: one line naming the problem, status 1.
expect_error() {
    local pattern=$1
    shift
    timeout -s KILL 20 "$vmm" "$@" </dev/null >/dev/null 2>"$work/err"
    local status=$? lines
    lines=$(wc -l <"$work/err")
    if [[ $status -ne 1 || $lines -ne 1 ]] || ! grep -Eq -- "$pattern" "$work/err"; then
        fail "vessel-vmm $* -> status $status, stderr:"
        sed 's/^/  | /' "$work/err"
    else
        echo "ok: vessel-vmm $* -> $(cat "$work/err")"
    fi
}
expect_error "^vessel-vmm: --gdb: 'abc' is neither a TCP port" --gdb abc --bios "$guest"
expect_error "^vessel-vmm: --gdb: '' is neither" --gdb '' --bios "$guest"
expect_error '^vessel-vmm: --gdb: port 0 is not between 1 and 65535$' --gdb 0 --bios "$guest"
expect_error '^vessel-vmm: --gdb: port 65536 is not' --gdb 65536 --bios "$guest"
expect_error '^vessel-vmm: --gdb: port 99999999999999999999 is not' --gdb 99999999999999999999 \
    --bios "$guest"
expect_error '^vessel-vmm: --gdb: .* a unix socket path has at most 107 bytes' \
    --gdb "/$(printf 'x%.0s' $(seq 1 120))" --bios "$guest"
expect_error '^vessel-vmm: --gdb-wait: needs --gdb$' --gdb-wait --bios "$guest"
touch "$work/taken"
expect_error "^vessel-vmm: --gdb: listen on $work/taken: Address already in use" \
    --gdb "$work/taken" --bios "$guest"
printf '{"bios": "%s", "gdb": "nope"}\n' "$guest" >"$work/vm.json"
expect_error "^vessel-vmm: $work/vm.json: gdb: --gdb: 'nope' is neither" --config "$work/vm.json"
printf '{"bios": "%s", "gdb-wait": true}\n' "$guest" >"$work/vm.json"
expect_error "^vessel-vmm: $work/vm.json: gdb-wait: needs \"gdb\"" --config "$work/vm.json"
# A port another VMM holds.
if start_vmm holder --bios "$guest" --gdb-wait --timeout 200; then
    expect_error "^vessel-vmm: --gdb: listen on 127.0.0.1:$port: Address already in use" \
        --gdb "$port" --bios "$guest"
    kill -KILL "$vmm_pid"
    wait "$vmm_pid" 2>/dev/null
    vmm_pid=
fi
# The config file's "gdb" takes a port number and "gdb-wait" holds the hart: a gdb that connects
# finds it at its entry.
name=config
for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    printf '{"bios": "%s", "gdb": %d, "gdb-wait": true, "timeout": 200}\n' "$guest" "$port" \
        >"$work/vm.json"
    "$vmm" -v --config "$work/vm.json" </dev/null >/dev/null 2>"$work/$name.err" &
    vmm_pid=$!
    for _ in $(seq 1 400); do
        grep -q "waiting for a debugger" "$work/$name.err" && break
        kill -0 "$vmm_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$vmm_pid" 2>/dev/null && break
    wait "$vmm_pid" 2>/dev/null
done
run_gdb "$name" "$guest" 'print $pc' 'continue'
expect_in "$name" '<_start>' 'exited normally'
expect_status "$name" 0

exit $((failures > 0))
