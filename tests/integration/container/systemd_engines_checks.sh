#!/bin/sh
# In the systemd guest of systemd_cgroup.sh, after vessel-runc's own checks: the two engines that
# drive it with the systemd cgroup driver on real hosts. Podman with `--cgroup-manager systemd`
# (its default where systemd is PID 1), and containerd's CRI plugin with `SystemdCgroup = true`
# driven as a kubelet with the systemd driver does (pods under kubepods-*.slice). Prints CHECK
# lines as checks.sh does; the files it uses are under /opt/vessel (VESSEL_CRI, the images).
V=/opt/vessel
check() { if [ "$2" = "$3" ]; then echo "CHECK $1 ok"; else echo "CHECK $1 FAIL: got [$2] want [$3]"; fi; }
loaded() { systemctl list-units --all --plain --no-legend "$1" | grep -c "^$1" || true; }
since() { echo "$((($(date +%s%N) - $1) / 1000000)) ms"; }

# ---- Podman: each container a libpod-<id>.scope in machine.slice, made by vessel-runc.
P="podman --runtime $V/vessel-runc --cgroup-manager systemd --storage-driver vfs --events-backend file"
# run [OPTION...] -- COMMAND...: podman's --rootfs takes the first word after it as the root.
run() {
    opts=
    while [ "$1" != -- ]; do opts="$opts $1"; shift; done
    shift
    $P run --network none --log-driver k8s-file $opts --rootfs $V/bundle/rootfs "$@"
}
start=$(date +%s%N)
check podman-run "$(run --rm -- echo hello-from-podman 2>&1)" hello-from-podman
echo "SD podman run --rm took $(since "$start")"
id=$(run -d --name p1 --memory 32m --memory-swap 32m --pids-limit 20 -- sleep 300 2>/run/p1.err) ||
    echo "CHECK podman-run-detached FAIL: $(cat /run/p1.err)"
unit=libpod-$id.scope
check podman-runtime "$($P inspect -f '{{.OCIRuntime}}' p1)" $V/vessel-runc
check podman-unit-active "$(systemctl is-active "$unit")" active
check podman-unit-slice "$(systemctl show -P Slice "$unit")" machine.slice
check podman-unit-delegate "$(systemctl show -P Delegate "$unit")" yes
check podman-unit-MemoryMax "$(systemctl show -P MemoryMax "$unit")" 33554432
check podman-unit-TasksMax "$(systemctl show -P TasksMax "$unit")" 20
pid=$($P inspect -f '{{.State.Pid}}' p1)
check podman-init-cgroup "$(sed -n 's/^0:://p' /proc/"$pid"/cgroup)" "/machine.slice/$unit"
check podman-file-memory.max "$(cat /sys/fs/cgroup/machine.slice/"$unit"/memory.max 2>&1)" 33554432
check podman-exec "$($P exec p1 echo in-p1 2>&1)" in-p1
# Podman 4.3's update has no --pids-limit.
$P update --memory 64m --memory-swap 64m p1 >/run/pu.out 2>&1 ||
    echo "CHECK podman-update FAIL: $(cat /run/pu.out)"
check podman-update-unit-MemoryMax "$(systemctl show -P MemoryMax "$unit")" 67108864
check podman-update-file-memory.max "$(cat /sys/fs/cgroup/machine.slice/"$unit"/memory.max 2>&1)" 67108864
check podman-update-keeps-pids.max "$(cat /sys/fs/cgroup/machine.slice/"$unit"/pids.max 2>&1)" 20
$P stop -t 1 p1 >/dev/null 2>&1
check podman-stopped "$($P inspect -f '{{.State.Status}}' p1)" exited
$P rm p1 >/dev/null
check podman-unit-gone "$(loaded "$unit")" 0
check podman-dir-gone "$(ls -d /sys/fs/cgroup/machine.slice/"$unit" 2>/dev/null | wc -l)" 0
# Over its memory limit: killed, as with Debian's runc. Podman 4.3's conmon leaves OOMKilled unset
# in this guest for both runtimes, even when a process outlives the kill and the scope stays (the
# CRI below sets it then), and when the killed process was the only one, whether it is set is a
# race with systemd removing the emptied scope. So the exit statuses are asserted, and what
# Podman reports for a container that outlives the kill is compared with runc's.
oom_result() {  # oom_result RUNTIME COMMAND...: "EXIT-CODE OOMKILLED" of a container over its limit
    runtime=$1
    shift
    $P --runtime "$runtime" run --name oom --network none --log-driver k8s-file --memory 32m \
        --memory-swap 32m --rootfs $V/bundle/rootfs "$@" >/dev/null 2>&1
    $P inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' oom
    $P rm oom >/dev/null
}
eat="dd if=/dev/zero of=/dev/null bs=256M count=1"
oom_vessel=$(oom_result $V/vessel-runc $eat)
check podman-oom-killed "${oom_vessel% *}" 137
oom_runc=$(oom_result /usr/sbin/runc $eat)
check podman-oom-exit-as-runc "${oom_vessel% *}" "${oom_runc% *}"
survivor="$eat; status=\$?; sleep 3; exit \$status"
oom_vessel=$(oom_result $V/vessel-runc sh -c "$survivor")
check podman-oom-survivor "${oom_vessel% *}" 137
check podman-oom-survivor-as-runc "$oom_vessel" "$(oom_result /usr/sbin/runc sh -c "$survivor")"
check podman-no-scope-left "$(systemctl list-units --all --plain --no-legend 'libpod-*' | wc -l)" 0

echo "SD podman checks done"

# ---- containerd's CRI plugin with SystemdCgroup = true and a `vessel` runtime handler.
C=/run/vessel-cri
# containerd copies the host's resolv.conf into each pod; the image's points at resolved's stub,
# which only a running resolved writes.
if [ ! -e /etc/resolv.conf ]; then
    mkdir -p "$(dirname "$(readlink -m /etc/resolv.conf)")"
    echo "nameserver 127.0.0.53" >"$(readlink -m /etc/resolv.conf)"
fi
mkdir -p $C/logs
cat >$C/config.toml <<TOML
version = 2
root = "/var/lib/vessel-cri"
state = "$C/state"
[grpc]
  address = "$C/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/vessel-pause:test"
  disable_apparmor = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "vessel"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.vessel]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.vessel.options]
        BinaryName = "$V/vessel-runc"
        SystemdCgroup = true
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = true
TOML
containerd --config $C/config.toml >$C/containerd.log 2>&1 &
containerd_pid=$!
cri() { $V/vessel-cri --socket $C/containerd.sock "$@"; }
for i in $(seq 1 300); do cri Version >/dev/null 2>&1 && break; sleep 0.2; done
check cri-version "$(cri Version 2>&1 | jq -r .runtime_api_version)" v1
for image in pause busybox; do
    ctr -a $C/containerd.sock -n k8s.io images import $V/$image.tar >/dev/null 2>&1 ||
        echo "CHECK cri-import-$image FAIL"
done
# As the kubelet's systemd driver asks: the pod's slice as cgroup_parent; host network (the guest
# has no CNI set up, and the network is not what is tested here).
pod_config() {  # pod_config UID
    echo "{\"metadata\": {\"name\": \"sd-$1\", \"uid\": \"$1\", \"namespace\": \"vessel-test\"},
      \"log_directory\": \"/run/vessel-cri/logs\",
      \"linux\": {\"cgroup_parent\": \"kubepods-besteffort-pod$1.slice\",
                \"security_context\": {\"namespace_options\": {\"network\": \"NODE\"}}}}"
}
run_pod() {  # run_pod UID HANDLER: prints the sandbox id
    cri RunPodSandbox "{\"config\": $(pod_config "$1"), \"runtime_handler\": \"$2\"}" 2>/run/pod.err |
        jq -r .pod_sandbox_id
}
start=$(date +%s%N)
pod=$(run_pod vt1 vessel)
echo "SD RunPodSandbox took $(since "$start")"
[ -n "$pod" ] || echo "CHECK cri-run-pod FAIL: $(cat /run/pod.err)"
slice=/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podvt1.slice
check cri-pause-scope "$(systemctl show -P ControlGroup "cri-containerd-$pod.scope")" "$slice/cri-containerd-$pod.scope"
create() {  # create POD UID NAME MEMORY_LIMIT ARGS_JSON: prints the container's id
    in_pod=$1 uid=$2
    shift 2
    config="{\"metadata\": {\"name\": \"$1\"}, \"image\": {\"image\": \"localhost/vessel-busybox:test\"},
             \"command\": $3, \"log_path\": \"$1.log\",
             \"linux\": {\"resources\": {\"memory_limit_in_bytes\": $2}}}"
    cri CreateContainer "{\"pod_sandbox_id\": \"$in_pod\", \"config\": $config, \"sandbox_config\": $(pod_config "$uid")}" |
        jq -r .container_id
}
status() { cri ContainerStatus "{\"container_id\": \"$1\"}" | jq -r ".status.$2"; }
main=$(create "$pod" vt1 main 67108864 '["sleep", "1000"]')
cri StartContainer "{\"container_id\": \"$main\"}" >/dev/null
check cri-running "$(status "$main" state)" CONTAINER_RUNNING
scope=cri-containerd-$main.scope
check cri-unit-active "$(systemctl is-active "$scope")" active
check cri-unit-cgroup "$(systemctl show -P ControlGroup "$scope")" "$slice/$scope"
check cri-unit-MemoryMax "$(systemctl show -P MemoryMax "$scope")" 67108864
check cri-file-memory.max "$(cat /sys/fs/cgroup$slice/$scope/memory.max 2>&1)" 67108864
check cri-scope-has-init "$(wc -l </sys/fs/cgroup$slice/$scope/cgroup.procs)" 1
# The container has a cgroup namespace rooted at its scope, whose cgroup.procs it sees at
# /sys/fs/cgroup: the init, and the exec'd sh and grep.
exec_out=$(cri ExecSync "{\"container_id\": \"$main\", \"cmd\": [\"sh\", \"-c\", \"grep -c . /sys/fs/cgroup/cgroup.procs; cat /proc/self/cgroup\"], \"timeout\": 30}" |
    jq -r '.stdout | @base64d')
check cri-exec-in-scope "$(echo $exec_out)" "3 0::/"
# Over its memory limit: as with Podman above, the OOMKilled reason is a race (the shim watches
# the scope's memory.events) when the killed process was the only one, and certain when one
# outlives the kill.
oom_status() {  # oom_status POD UID NAME ARGS_JSON: "REASON EXIT-CODE" of a container over its limit
    id=$(create "$1" "$2" "$3" 33554432 "$4")
    cri StartContainer "{\"container_id\": \"$id\"}" >/dev/null
    for i in $(seq 1 150); do [ "$(status "$id" state)" = CONTAINER_EXITED ] && break; sleep 0.2; done
    echo "$(status "$id" reason) $(status "$id" exit_code)"
}
eat_json='["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"]'
survivor_json="[\"sh\", \"-c\", \"$survivor\"]"
runc_pod=$(run_pod vt2 runc)
oom_vessel=$(oom_status "$pod" vt1 oom "$eat_json")
check cri-oom-killed "${oom_vessel#* }" 137
oom_runc=$(oom_status "$runc_pod" vt2 oom "$eat_json")
check cri-oom-exit-as-runc "${oom_vessel#* }" "${oom_runc#* }"
oom_vessel=$(oom_status "$pod" vt1 oom-survivor "$survivor_json")
check cri-oom-survivor "$oom_vessel" "OOMKilled 137"
check cri-oom-survivor-as-runc "$oom_vessel" "$(oom_status "$runc_pod" vt2 oom-survivor "$survivor_json")"
cri StopPodSandbox "{\"pod_sandbox_id\": \"$runc_pod\"}" >/dev/null
cri RemovePodSandbox "{\"pod_sandbox_id\": \"$runc_pod\"}" >/dev/null
cri StopPodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null
check cri-pod-stopped "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" | jq -r .status.state)" SANDBOX_NOTREADY
cri RemovePodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null
check cri-pod-removed "$(cri PodSandboxStatus "{\"pod_sandbox_id\": \"$pod\"}" 2>/dev/null)" ""
check cri-no-scope-left "$(systemctl list-units --all --plain --no-legend 'cri-containerd-*' | wc -l)" 0
check cri-no-cgroup-left "$(find /sys/fs/cgroup$slice -mindepth 1 -type d 2>/dev/null | wc -l)" 0
echo "SD CRI checks done"
kill $containerd_pid
wait $containerd_pid
