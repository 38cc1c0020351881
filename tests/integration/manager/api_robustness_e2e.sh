#!/usr/bin/env bash
# The API against clients and data that misbehave: exec streams that are bytes (not UTF-8), an exec
# whose client goes away, image sources that never end, JSON numbers no type holds, a flood of
# clients that trickle their requests, error messages made of bytes, and a CLI reading answers of
# the wrong shape. The daemon must answer each one sensibly and stay up. Needs root.
# Usage: api_robustness_e2e.sh VESSEL VESSELD
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"
python=/usr/bin/python3
if [[ ! -x $python ]]; then echo "SKIP: needs Debian's python3"; exit 77; fi

api() {  # api METHOD PATH [BODY]: prints the HTTP status, the body goes to $work/answer
  curl -s --unix-socket "$socket" -o "$work/answer" -w '%{http_code}' -X "$1" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "http://vessel$2"
}
answered() {  # answered STATUS TEXT METHOD PATH [BODY]
  local status=$1 text=$2; shift 2
  local got; got=$(api "$@")
  [[ $got == "$status" ]] && grep -qF -- "$text" "$work/answer" && return 0
  echo "HTTP $got: $(cat "$work/answer")"; return 1
}
daemon_alive() { kill -0 "$daemon_pid" && "$vessel_bin" list >/dev/null; }
in_container() {  # in_container NAME PATTERN: a process of NAME whose command line matches
  local pid
  for pid in $(cat "/sys/fs/cgroup/pids/$parent/$1/cgroup.procs" 2>/dev/null); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "$2" && return 0
  done
  return 1
}
threads_of_daemon() { ls "/proc/$daemon_pid/task" | wc -l; }
start_daemon
check "launch b1" "$vessel_bin" launch busybox b1

# Exec streams are bytes, both ways.
head -c 200000 /dev/urandom >"$work/random"
check "random bytes round-trip through cat, byte for byte" bash -c \
  "'$vessel_bin' exec -i b1 -- cat <'$work/random' >'$work/random.out' && cmp '$work/random' '$work/random.out'"
"$vessel_bin" exec b1 -- sh -c "printf '\\377\\376out\\200'; printf '\\300err\\377' >&2; exit 3" \
  >"$work/stdout" 2>"$work/stderr"
status=$?
printf '\377\376out\200' >"$work/stdout.want"
printf '\300err\377' >"$work/stderr.want"
check "invalid UTF-8 on stdout arrives as it was printed" cmp "$work/stdout" "$work/stdout.want"
check "invalid UTF-8 on stderr arrives as it was printed" cmp "$work/stderr" "$work/stderr.want"
check "and the exit status with it" test "$status" -eq 3
expect_error "an argument that is not UTF-8 is refused by the CLI, clearly" "command[1]: not valid UTF-8" \
  "$vessel_bin" exec b1 -- echo $'\xff'
check "the daemon took all that in its stride" daemon_alive

# Error messages that carry bytes: a refused tarball entry whose name is not UTF-8.
"$python" - "$work/badname.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                  errors="surrogateescape") as tar:
    entry = tarfile.TarInfo(b"dev-\xff\xfe".decode("utf-8", "surrogateescape"))
    entry.type, entry.devmajor, entry.devminor = tarfile.CHRTYPE, 1, 3
    tar.addfile(entry)
EOF
check "an import error naming a non-UTF-8 file is a 400 with its message" answered 400 \
  "device nodes are not allowed" POST /1.0/images "{\"source\":\"$work/badname.tar\",\"alias\":\"badname\"}"

# An exec whose client goes away ends in the daemon: no program left, no thread held.
threads_before=$(threads_of_daemon)
"$vessel_bin" exec b1 -- sleep 1000 &
cli=$!
check "the exec's program runs" eventually 10 in_container b1 '^sleep 1000'
kill -TERM "$cli"; wait "$cli" 2>/dev/null
program_gone() { ! in_container b1 '^sleep 1000'; }
no_runtime_exec() { ! pgrep -P "$daemon_pid" -f 'vessel-runc .* exec' >/dev/null; }
no_thread_held() { [[ $(threads_of_daemon) -le $threads_before ]]; }
check "killing the CLI ends the program in the container within seconds" eventually 5 program_gone
check "no vessel-runc exec is left in the daemon" eventually 5 no_runtime_exec
check "the daemon holds no thread for it" eventually 5 no_thread_held

# Image sources: regular files only; work for a client that left is cancelled.
expect_error "/dev/zero is refused at once, naming it" "rootfs tarball /dev/zero is not a regular file" \
  timeout 10 "$vessel_bin" image import /dev/zero --alias zero
expect_error "a VM kernel must be a regular file too" "kernel /dev/zero is not a regular file" \
  timeout 10 "$vessel_bin" image import --vm --kernel /dev/zero --alias zerovm
expect_error "so must be its initramfs" "initramfs $work is not a regular file" \
  timeout 10 "$vessel_bin" image import --vm --kernel "$work/random" --initrd "$work" --alias dirvm
truncate -s 400G "$work/huge.tar"
hashing() { pgrep -f "sha256sum -- $work/huge.tar" >/dev/null; }
"$vessel_bin" image import "$work/huge.tar" --alias huge >/dev/null 2>&1 &
cli=$!
check "importing a huge tarball starts hashing it" eventually 10 hashing
kill -TERM "$cli"; wait "$cli" 2>/dev/null
not_hashing() { ! hashing; }
check "the client left: the hashing stops within seconds" eventually 5 not_hashing
check "nothing was imported" bash -c "! '$vessel_bin' image list | grep -q huge && [[ -z \$(ls -A '$state/images' | grep '^.tmp-') ]]"
rm -f "$work/huge.tar"

# JSON numbers no type holds: 400 naming where they are, and the daemon carries on.
digits=$(printf '9%.0s' $(seq 5000))
check "1e999 in a launch body is a 400 naming it" answered 400 "config.limits.memory: number 1e999 is out of range" \
  POST /1.0/instances '{"name":"n1","source":{"alias":"busybox"},"config":{"limits.memory":1e999}}'
check "a 5000-digit integer in a limit is a 400 naming it" answered 400 "config.limits.cpu: number 99999" \
  POST /1.0/instances "{\"name\":\"n1\",\"source\":{\"alias\":\"busybox\"},\"config\":{\"limits.cpu\":$digits}}"
check "a number as a limit is a 400" answered 400 "value must be a string" \
  POST /1.0/instances '{"name":"n1","source":{"alias":"busybox"},"config":{"limits.memory":64}}'
check "a stop timeout past int64 is a 400 naming it" answered 400 "request body.timeout: must be an integer from" \
  PUT /1.0/instances/b1/state '{"action":"stop","timeout":18446744073709551615}'
check "a fractional stop timeout is a 400" answered 400 "request body.timeout: must be an integer" \
  PUT /1.0/instances/b1/state '{"action":"stop","timeout":2.5}'
check "an operation wait timeout past int64 is a 400" answered 400 "query timeout: must be an integer from 0 to 86400" \
  GET "/1.0/operations/none/wait?timeout=99999999999999999999"
check "an image alias that is a number is a 400" answered 400 "request body.alias: must be a string" \
  POST /1.0/images '{"source":"/x.tar","alias":5}'
check "nothing was launched by those" nothing_left n1
check "b1 still runs" bash -c "'$vessel_bin' list | grep -qE '^b1 +RUNNING'"
check "the daemon is alive" daemon_alive

# A flood of clients trickling their requests a byte every 2 s: vessel list answers throughout.
"$python" - "$socket" >"$work/flood.out" 2>&1 <<'EOF' &
import socket, sys, time
clients = []
for _ in range(200):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.send(b"G")
    clients.append(s)
end = time.time() + 14
while time.time() < end:
    time.sleep(2)
    for s in clients:
        try:
            s.send(b"E")
        except OSError:
            pass
answered = sum(1 for s in clients if s.recv(64, socket.MSG_DONTWAIT).startswith(b"HTTP/1.1 408"))
print(f"{answered} of {len(clients)} got 408")
EOF
flood=$!
sleep 1
slowest=0
for _ in $(seq 12); do
  began=$(date +%s%N)
  if ! timeout 5 "$vessel_bin" list >/dev/null; then slowest=5000; break; fi
  took=$(( ($(date +%s%N) - began) / 1000000 ))
  (( took > slowest )) && slowest=$took
  sleep 1
done
wait "$flood"
check "vessel list answered within 1.5 s throughout the flood (slowest: ${slowest} ms)" test "$slowest" -lt 1500
check "the tricklers were cut off with 408" grep -q "^200 of 200 got 408" "$work/flood.out"

# The CLI reads answers of the wrong shape (here from a stand-in daemon) as errors, not aborts.
"$python" - "$work/fake.sock" <<'EOF' &
import socket, struct, sys
def frame(kind, payload):
    return bytes([kind]) + struct.pack("<I", len(payload)) + payload
switched = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: vessel-frames\r\n\r\n"
# Streamed exec: a started program whose exit code is past int, one whose frame is over 1 MiB.
streams = {
    "/1.0/instances/z/exec": switched + frame(16, b'{"ok":true}') + frame(20, b'{"code":1e300}'),
    "/1.0/instances/w/exec": switched + frame(16, b'{"ok":true}') + b"\x11\xff\xff\xff\x7f",
}
answers = {
    "/1.0/instances/x": '{"type":"sync","metadata":{"name":"x","type":"container","config":{}}}',
    "/1.0/instances/x/state": '{"type":"sync","metadata":{"status":"running","pid":"12"}}',
    "/1.0/instances/y": '{"type":"sync","metadata":{"name":"y","type":"container","config":{}}}',
    "/1.0/instances/y/state": '{"type":"sync","metadata":{"status":"running","pid":4294967296}}',
    "/1.0/instances?recursion=1": '{"type":"sync","metadata":[{"name":7}]}',
}
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
while True:
    client, _ = server.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(4096)
    target = data.split(b" ")[1].decode()
    if target in streams:
        client.sendall(streams[target])
        client.close()
        continue
    body = answers.get(target, '{"type":"error","error":"unknown","error_code":404}').encode()
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n" % len(body) + body)
    client.close()
EOF
fake=$!
eventually 5 test -S "$work/fake.sock"
expect_error "a pid that is a string is an error naming it" "state.pid: must be an integer from" \
  "$vessel_bin" --socket "$work/fake.sock" info x
expect_error "a pid past int is an error naming it" "state.pid: must be an integer from -2147483648 to 2147483647" \
  "$vessel_bin" --socket "$work/fake.sock" info y
expect_error "an exec status past int is an error naming it" "exit.code: must be an integer from" \
  "$vessel_bin" --socket "$work/fake.sock" exec z -- true
expect_error "a frame over 1 MiB is refused before it is read" "over the limit" \
  "$vessel_bin" --socket "$work/fake.sock" exec w -- true
expect_error "a name that is a number is an error naming it" "instances[0].name: must be a string" \
  "$vessel_bin" --socket "$work/fake.sock" list
kill "$fake"

finish
