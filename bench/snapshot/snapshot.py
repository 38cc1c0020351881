"""bench/snapshot: see run. Prints medians and the Vessel/LXC ratio of each operation."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

bin_dir, rounds, guest_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if os.geteuid() != 0:
    sys.exit("bench/snapshot needs root")
for tool in ("lxc-create", "lxc-snapshot", "lxc-copy", "lxc-destroy"):
    if not shutil.which(tool):
        sys.exit(f"{tool} is missing: make deps installs Debian's lxc")

work = tempfile.mkdtemp(prefix="vessel-bench-snapshot-")
sock = f"{work}/vessel.sock"
env = dict(os.environ, VESSEL_SOCKET=sock)
vessel = [f"{bin_dir}/vessel"]
lxc_conf = f"{work}/lxc.conf"
with open(lxc_conf, "w") as f:
    f.write("lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n")
blob = f"{work}/blob"
with open(blob, "wb") as f:
    f.write(os.urandom(100 << 20))


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def timed(argv):
    start = time.perf_counter()
    run(argv)
    return (time.perf_counter() - start) * 1000


def guest_file(target, name):
    out = subprocess.run([guest_out, target, name], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def row(what, vessel_ms, lxc_ms=None):
    v = statistics.median(vessel_ms)
    line = f"{what:44}{v:10.1f}"
    if lxc_ms:
        l = statistics.median(lxc_ms)
        line += f"{l:10.1f}{v / l:10.2f}"
    print(line)


kernel = guest_file("riscv64-kernel", "Image")
rootfs = guest_file("riscv64-rootfs", "root.ext4")
guests = f"{work}/guests"
if kernel and rootfs:
    os.makedirs(guests)
    os.symlink(os.path.dirname(kernel), f"{guests}/riscv64-kernel")
    os.symlink(os.path.dirname(rootfs), f"{guests}/riscv64-rootfs")
parent = f"vessel-bench-{os.getpid()}"
daemon = subprocess.Popen(
    [f"{bin_dir}/vesseld", "--socket", sock, "--state-dir", f"{work}/state", "--cgroup-parent",
     parent, "--bridge", "", "--guest-cache", guests],
    stdout=subprocess.DEVNULL, stderr=open(f"{work}/vesseld.log", "w"), env=env)
lxc_name = f"bench{os.getpid()}"
try:
    for _ in range(200):
        if subprocess.run(vessel + ["list"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    # The same 100 MiB in both containers' writable part, both stopped.
    run(vessel + ["launch", "busybox", "c1"])
    run(vessel + ["file", "push", blob, "c1/root/blob"])
    run(vessel + ["stop", "c1"])
    run(["lxc-create", "-n", lxc_name, "-t", "busybox", "-f", lxc_conf])
    shutil.copy(blob, f"/var/lib/lxc/{lxc_name}/rootfs/root/blob")
    results = {k: ([], []) for k in ("create", "restore", "copy")}
    for i in range(rounds):
        results["create"][0].append(timed(vessel + ["snapshot", "create", "c1", f"s{i}"]))
        results["create"][1].append(timed(["lxc-snapshot", "-n", lxc_name]))
        results["restore"][0].append(timed(vessel + ["snapshot", "restore", "c1", f"s{i}"]))
        results["restore"][1].append(timed(["lxc-snapshot", "-n", lxc_name, "-r", f"snap{i}"]))
        results["copy"][0].append(timed(vessel + ["copy", "c1", f"k{i}", "--instance-only"]))
        results["copy"][1].append(timed(["lxc-copy", "-n", lxc_name, "-N", f"{lxc_name}-k{i}"]))
        run(vessel + ["delete", f"k{i}"])
        run(["lxc-destroy", "-n", f"{lxc_name}-k{i}"])
    # Export and import against the same job done by hand for LXC: tar of the container's
    # directory (LXC has no export of its own; this is what its users do), same compression.
    backups = {k: ([], []) for k in ("export gz", "import gz", "export zst", "import zst")}
    lxc_dir = f"/var/lib/lxc/{lxc_name}"
    for i in range(rounds):
        for compression, suffix, tar_flag in (("gz", "tar.gz", "-z"), ("zst", "tar.zst", "--zstd")):
            archive, lxc_archive = f"{work}/c1-{i}.{suffix}", f"{work}/lxc-{i}.{suffix}"
            backups[f"export {compression}"][0].append(
                timed(vessel + ["export", "c1", archive, "--instance-only"]))
            backups[f"export {compression}"][1].append(
                timed(["tar", "--numeric-owner", "--xattrs", tar_flag, "-cf", lxc_archive,
                       "-C", lxc_dir, "."]))
            backups[f"import {compression}"][0].append(timed(vessel + ["import", archive, f"m{i}"]))
            target = f"{work}/lxc-restored-{i}"
            os.makedirs(target)
            backups[f"import {compression}"][1].append(
                timed(["tar", "--numeric-owner", "--xattrs", tar_flag, "-xf", lxc_archive,
                       "-C", target]))
            run(vessel + ["delete", f"m{i}"])
            shutil.rmtree(target)
            os.unlink(archive)
            os.unlink(lxc_archive)
    run(vessel + ["start", "c1"])
    running = [timed(vessel + ["snapshot", "create", "c1", f"r{i}"]) for i in range(rounds)]
    run(vessel + ["delete", "--force", "c1"])

    print(f"snapshot: a busybox container with 100 MiB written, {rounds} rounds, interleaved "
          f"(ext4: full copies on both sides)")
    print(f"{'':44}{'vessel ms':>10}{'lxc ms':>10}{'ratio':>10}")
    row("snapshot create (stopped)", *results["create"])
    row("snapshot restore (stopped)", *results["restore"])
    row("copy (stopped, without snapshots)", *results["copy"])
    row("snapshot create (running, frozen meanwhile)", running)
    print(f"export and import of the same container (about 102 MiB of incompressible data) "
          f"against tar of the LXC container's directory; MiB/s is Vessel's")
    for what, (vessel_ms, lxc_ms) in backups.items():
        row(f"{what} ({100 * 1000 / statistics.median(vessel_ms):.0f} MiB/s)", vessel_ms, lxc_ms)

    if kernel and rootfs:
        run(vessel + ["launch", "riscv64/busybox", "v1", "--vm", "-c", "limits.disk=1GiB"])
        run(vessel + ["file", "push", blob, "v1/root/blob"])
        run(vessel + ["exec", "v1", "--", "sync"])
        run(vessel + ["stop", "v1"])
        create = [timed(vessel + ["snapshot", "create", "v1", f"s{i}"]) for i in range(rounds)]
        restore = [timed(vessel + ["snapshot", "restore", "v1", f"s{i}"]) for i in range(rounds)]
        disk = f"{work}/state/instances/v1/root.img"
        allocated = os.stat(disk).st_blocks * 512 >> 20
        print(f"VM riscv64/busybox, 1 GiB root disk with {allocated} MiB allocated "
              f"(100 MiB written), {rounds} rounds (no LXC equivalent)")
        row("VM snapshot create (stopped)", create)
        row("VM snapshot restore (stopped)", restore)
        exports, imports = [], []
        for i in range(rounds):
            exports.append(timed(vessel + ["export", "v1", f"{work}/v1-{i}.tar.zst", "--instance-only"]))
            imports.append(timed(vessel + ["import", f"{work}/v1-{i}.tar.zst", f"w{i}"]))
            run(vessel + ["delete", f"w{i}"])
            os.unlink(f"{work}/v1-{i}.tar.zst")
        row("VM export (zstd, the disk's holes left out)", exports)
        row("VM import", imports)
        run(vessel + ["delete", "v1"])
    else:
        print("VM: skipped (no riscv64 guest from make guest)")
finally:
    subprocess.run(vessel + ["delete", "--force", "c1", "v1"], env=env, capture_output=True)
    daemon.terminate()
    daemon.wait()
    subprocess.run(["lxc-destroy", "-f", "-s", "-n", lxc_name], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        try:
            os.rmdir(f"/sys/fs/cgroup/{hierarchy}/{parent}")
        except OSError:
            pass
