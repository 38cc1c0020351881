#!/bin/bash
# Kubernetes' path to a runtime: containerd's CRI plugin, a RuntimeClass handler, the runc shim,
# the runtime binary. A private containerd (lib.sh) gets handlers `vessel` (vessel-runc), `runc`
# and `crun`; this script drives one of them through CRI calls as the kubelet makes them
# (vessel-cri) and asserts what a pod's containers see. CMake runs it for `vessel` and for
# Debian's `runc` with the same assertions: a check runc passes and vessel fails is a vessel bug.
# Usage: cri.sh HANDLER VESSEL_RUNC VESSEL_CRI VESSEL_PAUSE
set -uo pipefail
handler=$1
VESSEL_RUNC=$(readlink -f "$2") VESSEL_CRI=$(readlink -f "$3") VESSEL_PAUSE=$(readlink -f "$4")
for tool in containerd ctr jq ip /usr/lib/cni/bridge /usr/lib/cni/host-local; do
    command -v $tool >/dev/null || { echo "FAIL: $tool missing (make deps installs it)"; exit 1; }
done
. "$(dirname "$0")/lib.sh"
trap cri_teardown EXIT
failures=0
check() {  # check DESCRIPTION WANT GOT
    if [[ "$2" == "$3" ]]; then echo "ok: $1"; else echo "FAIL: $1: want '$2', got '$3'"; failures=$((failures + 1)); fi
}
fatal() { echo "FAIL: $*"; echo "--- containerd log (tail):"; tail -40 "$cri_work/containerd.log"; exit 1; }

cri_setup || exit 1
echo "handler $handler, work directory $cri_work"

check "Version: the CRI API is v1" v1 "$(cri Version | jq -r .runtime_api_version)"
check "ImageStatus: the imported busybox image" "$cri_busybox_image" \
    "$(cri ImageStatus "{\"image\": {\"image\": \"$cri_busybox_image\"}}" | jq -r '.image.repo_tags[0]')"
check "ListImages: pause and busybox" 2 \
    "$(cri ListImages | jq "[.images[].repo_tags[] | select(. == \"$cri_pause_image\" or . == \"$cri_busybox_image\")] | length")"

# ---- helpers

pod_config() {  # pod_config NAME: a PodSandboxConfig as JSON
    jq -nc --arg name "$1" --arg logs "$cri_work/logs/$1" --arg parent "$cri_cgroup_parent" \
        '{metadata: {name: $name, uid: ("uid-" + $name), namespace: "vessel-test"},
          hostname: ("vessel-" + $name), log_directory: $logs,
          dns_config: {servers: ["10.231.0.53"], searches: ["vessel.test"], options: ["ndots:3"]},
          linux: {cgroup_parent: $parent}}'
}
run_pod() {  # run_pod NAME: prints the sandbox id
    local config id
    config=$(pod_config "$1")
    mkdir -p "$cri_work/logs/$1"
    id=$(cri RunPodSandbox "{\"config\": $config, \"runtime_handler\": \"$handler\"}" | jq -r .pod_sandbox_id) || return 1
    [[ -n $id ]] || return 1
    cri_pods+=("$id")
    echo "$id"
}
# create POD_NAME POD_ID NAME LINUX_JSON ARGS...: creates (not starts) a container; prints its id.
create() {
    local pod_name=$1 pod=$2 name=$3 linux=$4
    shift 4
    local args config
    args=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
    config=$(jq -nc --arg name "$name" --arg image "$cri_busybox_image" --argjson args "$args" \
        --argjson linux "$linux" \
        '{metadata: {name: $name}, image: {image: $image}, command: $args, log_path: ($name + ".log"),
          linux: $linux}')
    cri CreateContainer "{\"pod_sandbox_id\": \"$pod\", \"config\": $config,
                          \"sandbox_config\": $(pod_config "$pod_name")}" | jq -r .container_id
}
start() { cri StartContainer "{\"container_id\": \"$1\"}" >/dev/null; }
run() {  # run POD_NAME POD_ID NAME LINUX_JSON ARGS...: create and start; prints the id
    local id
    id=$(create "$@") && [[ -n $id ]] && start "$id" && echo "$id"
}
status() { cri ContainerStatus "{\"container_id\": \"$1\"}" | jq -r ".status.$2"; }
wait_exited() {  # up to 30 s: a loaded 2-core machine can be slow
    for _ in $(seq 1 300); do [[ $(status "$1" state) == CONTAINER_EXITED ]] && return 0; sleep 0.1; done
    return 1
}
# log POD NAME STREAM: the container's lines on STREAM (stdout or stderr) from its CRI log file,
# whose lines read "TIMESTAMP STREAM F TEXT" (F: a full line, P: a partial one).
log() { awk -v s="$3" '$2 == s && $3 == "F" { sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); print }' "$cri_work/logs/$1/$2.log" 2>/dev/null; }
wait_log() {  # wait_log POD NAME STREAM: until the container wrote something on STREAM
    for _ in $(seq 1 300); do [[ -n $(log "$@") ]] && return 0; sleep 0.1; done
    return 1
}
exec_sync() {  # exec_sync ID ARGS...: JSON {stdout, stderr, exit_code} with the bytes decoded
    local id=$1
    shift
    cri ExecSync "{\"container_id\": \"$id\", \"cmd\": $(printf '%s\n' "$@" | jq -R . | jq -sc .), \"timeout\": 20}" |
        jq -c '{stdout: (.stdout | @base64d), stderr: (.stderr | @base64d), exit_code}'
}
no_linux='{}'

# A handler containerd was not configured with is refused by name, and leaves no pod behind.
refusal=$(cri RunPodSandbox "{\"config\": $(pod_config refused), \"runtime_handler\": \"no-such-handler\"}" 2>&1)
check "RunPodSandbox: an unknown handler is refused" 1 "$?"
check "RunPodSandbox: the refusal names the handler" 1 "$(grep -c 'no-such-handler' <<<"$refusal")"

# ---- one pod: hostname, DNS, logs, exec, shared network namespace

pod=$(run_pod a) || fatal "RunPodSandbox with handler $handler"
check "PodSandboxStatus: ready" SANDBOX_READY "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" | jq -r .status.state)"
check "PodSandboxStatus: runtime handler" "$handler" "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" | jq -r .status.runtime_handler)"
check "PodSandboxStatus: a pod IP from our CNI bridge" 10.231 \
    "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" | jq -r .status.network.ip | cut -d. -f1-2)"

# The late lines come from a child after the first process has exec'd: the streams stay the
# container's for everything it starts, not only for its first writes.
main=$(run a "$pod" main "$no_linux" sh -c \
    'echo to stdout; echo to stderr >&2; (sleep 0.5; echo late stdout; echo late stderr >&2) & exec sleep 1000') ||
    fatal "CreateContainer + StartContainer (main)"
check "ContainerStatus: running" CONTAINER_RUNNING "$(status "$main" state)"
wait_log a main stdout
check "log: stdout line in the CRI log" "to stdout" "$(log a main stdout | head -1)"
wait_log a main stderr
check "log: stderr line in the CRI log (no terminal)" "to stderr" "$(log a main stderr | head -1)"
for _ in $(seq 1 200); do [[ $(log a main stderr | wc -l) == 2 ]] && break; sleep 0.1; done
check "log: a child's later stdout line" "to stdout|late stdout" "$(log a main stdout | paste -sd'|')"
check "log: a child's later stderr line" "to stderr|late stderr" "$(log a main stderr | paste -sd'|')"

check "hostname is the pod's" vessel-a "$(exec_sync "$main" hostname | jq -r .stdout | tr -d '\n')"
resolv=$(exec_sync "$main" cat /etc/resolv.conf | jq -r .stdout)
check "resolv.conf: the pod's nameserver" "nameserver 10.231.0.53" "$(grep -x 'nameserver 10.231.0.53' <<<"$resolv")"
check "resolv.conf: the pod's search domain" "search vessel.test" "$(grep -x 'search vessel.test' <<<"$resolv")"
check "resolv.conf: the pod's options" "options ndots:3" "$(grep -x 'options ndots:3' <<<"$resolv")"

out=$(exec_sync "$main" sh -c 'echo exec out; echo exec err >&2; exit 3')
check "ExecSync: stdout" "exec out" "$(jq -r .stdout <<<"$out" | tr -d '\n')"
check "ExecSync: stderr" "exec err" "$(jq -r .stderr <<<"$out" | tr -d '\n')"
check "ExecSync: exit code" 3 "$(jq -r .exit_code <<<"$out")"

stream_out=$(cri exec-stream "$main" sh -c 'echo stream out; echo stream err >&2; exit 5' 2>"$cri_work/stream.err")
check "Exec (streaming): exit status" 5 "$?"
check "Exec (streaming): stdout" "stream out" "$stream_out"
check "Exec (streaming): stderr" "stream err" "$(grep -x 'stream err' "$cri_work/stream.err")"
cri exec-stream "$main" sh -c 'head -c 1048576 /dev/zero | tr "\0" x' >"$cri_work/big"
check "Exec (streaming): 1 MiB of output arrives whole (many websocket frames)" "1048576 0" \
    "$(wc -c <"$cri_work/big") $(tr -d x <"$cri_work/big" | wc -c)"

peer=$(run a "$pod" peer "$no_linux" sleep 1000) || fatal "second container in the pod"
net_main=$(exec_sync "$main" readlink /proc/self/ns/net | jq -r .stdout)
net_peer=$(exec_sync "$peer" readlink /proc/self/ns/net | jq -r .stdout)
check "two containers of a pod share the network namespace" "$net_main" "$net_peer"
[[ $net_main == "$(readlink /proc/self/ns/net)" ]] && { echo "FAIL: the pod uses the host's network namespace"; failures=$((failures + 1)); }
check "ListContainers: both in the pod" 2 \
    "$(cri ListContainers "{\"filter\": {\"pod_sandbox_id\": \"$pod\"}}" | jq '.containers | length')"

# ---- exit codes, OOM, restart

exiter=$(run a "$pod" exiter "$no_linux" sh -c 'echo run; exit 7') || fatal "exiter"
wait_exited "$exiter"
check "ContainerStatus: exit code after the process exits" 7 "$(status "$exiter" exit_code)"
cri RemoveContainer "{\"container_id\": \"$exiter\"}" >/dev/null
check "RemoveContainer" 0 "$?"
rm -f "$cri_work/logs/a/exiter.log"
again=$(run a "$pod" exiter "$no_linux" sh -c 'echo run again; exit 8') || fatal "exiter created again after removal"
wait_exited "$again"
check "a container created again after removal runs: exit code" 8 "$(status "$again" exit_code)"
check "a container created again after removal runs: output" "run again" "$(log a exiter stdout)"

oom=$(run a "$pod" oom '{"resources": {"memory_limit_in_bytes": 33554432}}' \
    dd if=/dev/zero of=/dev/null bs=256M count=1) || fatal "oom container"
wait_exited "$oom"
check "ContainerStatus: a container over its memory limit is OOMKilled" OOMKilled "$(status "$oom" reason)"
check "ContainerStatus: its exit code is SIGKILL's" 137 "$(status "$oom" exit_code)"

# A command that is not in the image: StartContainer fails, naming it, and the pod goes on.
missing=$(create a "$pod" missing "$no_linux" /bin/no-such-program)
refusal=$(start "$missing" 2>&1)
check "StartContainer of a missing program fails" 1 "$?"
check "StartContainer of a missing program: the error names it" 1 "$(grep -c 'no-such-program' <<<"$refusal")"
check "StartContainer of a missing program: the container is not running" 1 \
    "$(status "$missing" state | grep -cE 'CONTAINER_(CREATED|EXITED)')"
echo "   (the refusal: $refusal)"

# ---- security context

ro=$(run a "$pod" readonly '{"security_context": {"readonly_rootfs": true}}' \
    sh -c 'touch /probe 2>/dev/null && echo writable || echo read-only; exec sleep 1000') || fatal "readonly"
wait_log a readonly stdout
check "readonlyRootFilesystem: writing / fails" read-only "$(log a readonly stdout)"

user=$(run a "$pod" user '{"security_context": {"run_as_user": {"value": 1234}, "run_as_group": {"value": 1234}}}' \
    sh -c 'echo $(id -u):$(id -g); exec sleep 1000') || fatal "runAsUser"
wait_log a user stdout
check "runAsUser/runAsGroup: id -u and id -g" 1234:1234 "$(log a user stdout)"
check "runAsUser: exec'd processes too" 1234 "$(exec_sync "$user" id -u | jq -r .stdout | tr -d '\n')"

caps=$(run a "$pod" caps '{"security_context": {"capabilities": {"add_capabilities": ["NET_ADMIN"], "drop_capabilities": ["CHOWN"]}}}' \
    sh -c 'grep CapEff /proc/self/status; exec sleep 1000') || fatal "capabilities"
wait_log a caps stdout
effective=$(log a caps stdout | awk '{print $2}')
check "capabilities: NET_ADMIN added (bit 12 of CapEff $effective)" 1 "$(((0x${effective:-0} >> 12) & 1))"
check "capabilities: CHOWN dropped (bit 0 of CapEff $effective)" 0 "$(((0x${effective:-1} >> 0) & 1))"

seccomp=$(run a "$pod" seccomp '{"security_context": {"seccomp": {"profile_type": "RuntimeDefault"}}}' \
    sh -c 'unshare -U true 2>&1; echo "status $?"; exec sleep 1000') || fatal "seccomp RuntimeDefault"
unconfined=$(run a "$pod" unconfined '{"security_context": {"seccomp": {"profile_type": "Unconfined"}}}' \
    sh -c 'unshare -U true 2>&1; echo "status $?"; exec sleep 1000') || fatal "seccomp Unconfined"
wait_log a seccomp stdout && wait_log a unconfined stdout
check "seccomp RuntimeDefault: unshare(CLONE_NEWUSER) fails with EPERM" \
    "unshare: unshare(0x10000000): Operation not permitted|status 1" "$(log a seccomp stdout | paste -sd'|')"
check "seccomp Unconfined: the same unshare succeeds (the check above is the profile's doing)" \
    "status 0" "$(log a unconfined stdout)"

# ---- mount propagation: Bidirectional (rshared), on a shared host directory as kubelet's volume
# directories are; what the container mounts below it must appear on the host.

volume=$cri_work/volume
mkdir -p "$volume/inside"
mount --bind "$volume" "$volume" && mount --make-shared "$volume"
bidir_config=$(jq -nc --arg image "$cri_busybox_image" --arg volume "$volume" \
    '{metadata: {name: "bidir"}, image: {image: $image}, log_path: "bidir.log",
      command: ["sh", "-c", "mount -t tmpfs from-container /volume/inside && echo mounted; exec sleep 1000"],
      mounts: [{container_path: "/volume", host_path: $volume, propagation: "PROPAGATION_BIDIRECTIONAL"}],
      linux: {security_context: {capabilities: {add_capabilities: ["SYS_ADMIN"]},
                                 seccomp: {profile_type: "Unconfined"}}}}')
bidir=$(cri CreateContainer "{\"pod_sandbox_id\": \"$pod\", \"config\": $bidir_config,
                              \"sandbox_config\": $(pod_config a)}" | jq -r .container_id)
start "$bidir" || fatal "Bidirectional mount container"
wait_log a bidir stdout
check "Bidirectional: the container mounted below the volume" mounted "$(log a bidir stdout)"
check "Bidirectional: its mount is on the host" 1 \
    "$(grep -c " $volume/inside .* - tmpfs from-container " /proc/self/mountinfo)"
check "Bidirectional: none of the container's own mounts is" 0 \
    "$(grep -c " $cri_work/state/io.containerd.runtime.v2.task/k8s.io/$bidir/rootfs/" /proc/self/mountinfo)"
cri StopContainer "{\"container_id\": \"$bidir\", \"timeout\": 1}" >/dev/null
umount -l "$volume/inside" 2>/dev/null; umount -l "$volume"

# ---- stop and remove

cri StopContainer "{\"container_id\": \"$main\", \"timeout\": 1}" >/dev/null
check "StopContainer" CONTAINER_EXITED "$(status "$main" state)"
cri StopPodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null
check "StopPodSandbox: not ready" SANDBOX_NOTREADY "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" | jq -r .status.state)"
check "StopPodSandbox: no container left running" 0 \
    "$(cri ListContainers "{\"filter\": {\"pod_sandbox_id\": \"$pod\", \"state\": {\"state\": \"CONTAINER_RUNNING\"}}}" | jq '.containers | length')"
cri RemovePodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null
check "RemovePodSandbox" 0 "$?"
cri_pods=()
check "RemovePodSandbox: the pod is gone" "" "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" 2>/dev/null)"
check "RemovePodSandbox: no cgroup left under the pods' parent" "" \
    "$(find /sys/fs/cgroup/*"$cri_cgroup_parent" -mindepth 1 -type d 2>/dev/null)"
check "RemovePodSandbox: no mount of the pod left" "" "$(grep -E "$pod|$cri_work/(state|root)/" /proc/self/mountinfo)"
check "RemovePodSandbox: no shim left" "" "$(pgrep -f "containerd-shim-runc-v2 .*-id $pod")"
check "RemovePodSandbox: no runtime state left" "" "$(ls "$cri_work/runtime-root/$handler/k8s.io" 2>/dev/null)"

if ((failures)); then
    echo "--- containerd log (errors):"
    grep -E 'level=(error|warning)' "$cri_work/containerd.log" | tail -30
fi
exit $((failures > 0))
