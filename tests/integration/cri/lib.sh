# Shared by cri.sh and bench/cri: a private containerd with its CRI plugin (socket, root, state,
# runtime roots, CNI configuration and bridge all under one work directory) and our two images.
# Source it, set VESSEL_RUNC, VESSEL_CRI, VESSEL_PAUSE, then call cri_setup; cri_teardown undoes
# everything cri_setup did.

cri_work=$(mktemp -d /tmp/vessel-cri-XXXXXX)
cri_tag=${cri_work##*-}
cri_socket=$cri_work/containerd.sock
cri_bridge=vcri-$cri_tag                 # 11 characters: under the 15 of an interface name
cri_cgroup_parent=/vessel-cri-$cri_tag   # every pod's cgroups go below it
cri_pause_image=localhost/vessel-pause:test
cri_busybox_image=localhost/vessel-busybox:test
cri_containerd_pid=

cri() { "$VESSEL_CRI" --socket "$cri_socket" "$@"; }

# crun refuses this host's hybrid cgroup layout; like bench/container_run, its calls see an empty
# cgroup2 controller list in a mount namespace of their own (slave: nothing leaks to the host).
cri_write_crun_wrapper() {
    : >"$cri_work/empty"
    cat >"$cri_work/crun" <<SH
#!/bin/sh
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
    exec unshare -m --propagation slave sh -c 'mount --bind $cri_work/empty /sys/fs/cgroup/unified/cgroup.controllers && exec /usr/bin/crun "\$@"' crun "\$@"
fi
exec /usr/bin/crun "\$@"
SH
    chmod +x "$cri_work/crun"
}

cri_images() {
    local here
    here=$(dirname "${BASH_SOURCE[0]}")
    mkdir -p "$cri_work/pause/dev" "$cri_work/pause/proc" "$cri_work/pause/sys" "$cri_work/pause/etc"
    cp "$VESSEL_PAUSE" "$cri_work/pause/pause"
    "$here/oci_image.sh" "$cri_work/pause" "$cri_pause_image" "$cri_work/pause.tar" /pause || return 1
    local root=$cri_work/busybox
    mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/root"
    cp /bin/busybox "$root/bin/"
    for applet in $(/bin/busybox --list); do [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"; done
    # containerd bind-mounts these; a read-only root cannot grow the mount points itself.
    touch "$root/etc/hosts" "$root/etc/hostname" "$root/etc/resolv.conf"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
    echo 'root:x:0:' >"$root/etc/group"
    "$here/oci_image.sh" "$root" "$cri_busybox_image" "$cri_work/busybox.tar" /bin/sh || return 1
    for image in pause busybox; do
        ctr -a "$cri_socket" -n k8s.io images import "$cri_work/$image.tar" >/dev/null 2>"$cri_work/import.err" ||
            { echo "FAIL: ctr images import $image:"; cat "$cri_work/import.err"; return 1; }
    done
}

cri_setup() {
    cri_write_crun_wrapper
    mkdir -p "$cri_work/cni"
    # A bridge of our own with host-local addresses: each pod gets its own network namespace with
    # lo and eth0; no gateway, no masquerading, nothing changed in the host's routes or firewall.
    cat >"$cri_work/cni/10-vessel.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "vessel-cri-$cri_tag",
 "plugins": [{"type": "bridge", "bridge": "$cri_bridge", "isGateway": false, "ipMasq": false,
              "ipam": {"type": "host-local", "dataDir": "$cri_work/cni-ipam",
                       "ranges": [[{"subnet": "10.231.$((RANDOM % 250)).0/24"}]]}}]}
JSON
    local handler binary
    {
        cat <<TOML
version = 2
root = "$cri_work/root"
state = "$cri_work/state"
[grpc]
  address = "$cri_socket"
[ttrpc]
  address = "$cri_socket.ttrpc"
[debug]
  address = "$cri_work/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$cri_pause_image"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  # The kubelet gives sandboxes an oom_score_adj of -998; lowering it needs CAP_SYS_RESOURCE,
  # which the development hosts lack (shared/notes/host-facts.md). Clamping it to containerd's
  # own score is containerd's option for such hosts (rootless or nested nodes).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cri_work/cni"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
TOML
        for handler in vessel runc crun; do
            case $handler in
                vessel) binary=$VESSEL_RUNC ;;
                runc) binary=/usr/sbin/runc ;;
                crun) binary=$cri_work/crun ;;
            esac
            cat <<TOML
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$handler]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$handler.options]
        BinaryName = "$binary"
        Root = "$cri_work/runtime-root/$handler"
        SystemdCgroup = false
TOML
        done
    } >"$cri_work/config.toml"
    containerd --config "$cri_work/config.toml" >"$cri_work/containerd.log" 2>&1 &
    cri_containerd_pid=$!
    for _ in $(seq 1 150); do cri Version >/dev/null 2>&1 && break; sleep 0.1; done
    cri Version >/dev/null 2>&1 || { echo "FAIL: containerd's CRI did not answer"; tail -30 "$cri_work/containerd.log"; return 1; }
    if grep -E 'failed to load cni|cni config load failed|failed to load plugin io.containerd.grpc.v1.cri' "$cri_work/containerd.log"; then
        echo "FAIL: containerd could not load its CRI plugin or CNI configuration"
        return 1
    fi
    cri_images
}

# Every pod: stopped, removed. Then containerd, our bridge, mounts and cgroups.
cri_teardown() {
    local pod
    if [[ -n $cri_containerd_pid ]]; then
        for pod in "${cri_pods[@]}"; do
            cri StopPodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null 2>&1
            cri RemovePodSandbox "{\"pod_sandbox_id\": \"$pod\"}" >/dev/null 2>&1
        done
        kill "$cri_containerd_pid" 2>/dev/null && wait "$cri_containerd_pid" 2>/dev/null
    fi
    grep -o " $cri_work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
    ip link del "$cri_bridge" 2>/dev/null
    local dir
    for dir in /sys/fs/cgroup/*"$cri_cgroup_parent"; do
        [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$cri_work"
    return 0
}
cri_pods=()
