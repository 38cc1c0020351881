"""bench/launch: see run. Prints medians and the ratio (target: Vessel <= 0.5 x LXC)."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

bin_dir, rounds = sys.argv[1], int(sys.argv[2])
if os.geteuid() != 0:
    sys.exit("bench/launch needs root")
for tool in ("lxc-create", "lxc-start", "lxc-attach", "lxc-destroy"):
    if not shutil.which(tool):
        sys.exit(f"{tool} is missing: make deps installs Debian's lxc")

work = tempfile.mkdtemp(prefix="vessel-bench-launch-")
# lxc-start leaves an lxc.pivot cgroup behind: removed at the end unless it was there before.
lxc_pivots = [f"/sys/fs/cgroup/{h}/lxc.pivot" for h in os.listdir("/sys/fs/cgroup")]
lxc_pivots_before = {p for p in lxc_pivots if os.path.isdir(p)}
sock = f"{work}/vessel.sock"
env = dict(os.environ, VESSEL_SOCKET=sock)
vessel = [f"{bin_dir}/vessel"]
lxc_conf = f"{work}/lxc.conf"
# The same as the Vessel side: no network (vesseld runs with --bridge ""), no LSM profile.
with open(lxc_conf, "w") as f:
    f.write("lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n")


def run(argv, **kw):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, **kw)


def timed(steps):
    start = time.perf_counter()
    for argv in steps:
        run(argv)
    return (time.perf_counter() - start) * 1000


daemon = subprocess.Popen(
    [f"{bin_dir}/vesseld", "--socket", sock, "--state-dir", f"{work}/state", "--cgroup-parent",
     f"vessel-bench-{os.getpid()}", "--bridge", ""],
    stdout=subprocess.DEVNULL, stderr=open(f"{work}/vesseld.log", "w"), env=env)
try:
    for _ in range(200):
        if subprocess.run(vessel + ["list"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    vessel_ms, lxc_ms = [], []
    for i in range(rounds):
        name = f"bench{os.getpid()}-{i}"
        vessel_ms.append(timed([vessel + ["launch", "busybox", name],
                                vessel + ["exec", name, "--", "true"]]))
        run(vessel + ["delete", "--force", name])
        lxc_ms.append(timed([["lxc-create", "-n", name, "-t", "busybox", "-f", lxc_conf],
                             ["lxc-start", "-n", name],
                             ["lxc-attach", "-n", name, "--", "/bin/true"]]))
        run(["lxc-destroy", "-f", "-n", name])
    v, l = statistics.median(vessel_ms), statistics.median(lxc_ms)
    print(f"launch: busybox container to a command run in it, {rounds} rounds each, interleaved")
    print(f"{'':10}{'median ms':>12}{'min ms':>10}{'max ms':>10}")
    print(f"{'vessel':10}{v:12.1f}{min(vessel_ms):10.1f}{max(vessel_ms):10.1f}")
    print(f"{'lxc':10}{l:12.1f}{min(lxc_ms):10.1f}{max(lxc_ms):10.1f}")
    print(f"vessel/lxc: {v / l:.2f} (target <= 0.50)")

    # The API with 100 instances: GET /1.0/instances?recursion=1, what `vessel list` asks.
    names = [f"api{os.getpid()}-{i}" for i in range(100)]
    for name in names:
        run(vessel + ["launch", "busybox", name])
    request = b"GET /1.0/instances?recursion=1 HTTP/1.1\r\nHost: vessel\r\nConnection: close\r\n\r\n"
    latencies = []
    for _ in range(300):
        start = time.perf_counter()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(sock)
            client.sendall(request)
            data = b""
            while chunk := client.recv(65536):
                data += chunk
        latencies.append((time.perf_counter() - start) * 1000)
    body = json.loads(data.split(b"\r\n\r\n", 1)[1])
    count = len(body.get("metadata", body)) if isinstance(body, dict) else len(body)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"API GET /1.0/instances?recursion=1 with {count} instances, 300 requests: "
          f"median {statistics.median(latencies):.2f} ms, p99 {p99:.2f} ms")
    for name in names:
        run(vessel + ["delete", "--force", name])
finally:
    daemon.terminate()
    daemon.wait()
    shutil.rmtree(work, ignore_errors=True)
    for pivot in lxc_pivots:
        if pivot not in lxc_pivots_before:
            try:
                os.rmdir(pivot)
            except OSError:
                pass
    # The cgroup parent vesseld's containers shared (empty now).
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        try:
            os.rmdir(f"/sys/fs/cgroup/{hierarchy}/vessel-bench-{os.getpid()}")
        except OSError:
            pass
