"""bench/api: see run."""
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

bin_dir, requests = sys.argv[1], int(sys.argv[2])
if os.geteuid() != 0:
    sys.exit("bench/api needs root")
work = tempfile.mkdtemp(prefix="vessel-bench-api-")
sock = f"{work}/vessel.sock"
env = dict(os.environ, VESSEL_SOCKET=sock)
client_env = dict(env, VESSEL_CONFIG_DIR=f"{work}/client")
vessel = [f"{bin_dir}/vessel"]
parent = f"vessel-bench-api-{os.getpid()}"


def run(argv, environment=env):
    return subprocess.run(argv, check=True, capture_output=True, env=environment).stdout.decode()


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("vessel")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


first_request_ms = {}


def latencies(connection, path, count):
    """Milliseconds per request on one kept-alive connection, after a warm-up. The first
    request's time is kept apart: LXD caches its metrics for 8 s, so only its first scrape
    collects them."""
    times = []
    for i in range(count + 10):
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"{path}: {response.status} {body[:200]!r}")
        if i == 0:
            first_request_ms[path] = (time.perf_counter() - start) * 1000
        if i >= 10:
            times.append((time.perf_counter() - start) * 1000)
    return sorted(times), body


def row(label, times, path=None):
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    first = f"{first_request_ms[path]:12.2f}" if path in first_request_ms else ""
    print(f"{label:44}{statistics.median(times):10.2f}{p99:10.2f}{first}")
    return statistics.median(times)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LXD_PRESEED = """storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root: {path: /, pool: default, type: disk}
"""


def lxd_anchor(count, requests, results):
    """The same calls to a private LXD (Debian's lxd package) with as many running busybox
    containers, in a state directory of its own (LXD_DIR) that goes afterwards."""
    if not shutil.which("lxd") or not shutil.which("lxc"):
        print("LXD: not installed (Debian's lxd and lxd-client): no anchor this run")
        return
    lxd_dir = tempfile.mkdtemp(prefix="vessel-bench-lxd-")
    lxd_env = dict(os.environ, LXD_DIR=lxd_dir)
    daemon = subprocess.Popen(["lxd", "--group", "root", "--logfile", f"{lxd_dir}/lxd.log"],
                              env=lxd_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run(["lxd", "waitready", "--timeout", "60"], lxd_env)
        subprocess.run(["lxd", "init", "--preseed"], input=LXD_PRESEED.encode(), env=lxd_env,
                       check=True, capture_output=True)
        image = f"{lxd_dir}/image"
        for directory in ("bin", "sbin", "etc", "dev", "proc", "sys", "tmp"):
            os.makedirs(f"{image}/rootfs/{directory}")
        shutil.copy("/bin/busybox", f"{image}/rootfs/bin/busybox")
        os.symlink("busybox", f"{image}/rootfs/bin/sh")
        os.symlink("../bin/busybox", f"{image}/rootfs/sbin/init")
        with open(f"{image}/metadata.yaml", "w") as f:
            f.write(f"architecture: x86_64\ncreation_date: {int(time.time())}\n"
                    "properties: {description: busybox, os: busybox}\n")
        run(["tar", "-C", image, "-czf", f"{image}/meta.tar.gz", "metadata.yaml"])
        run(["tar", "-C", f"{image}/rootfs", "-czf", f"{image}/rootfs.tar.gz", "."])
        run(["lxc", "image", "import", f"{image}/meta.tar.gz", f"{image}/rootfs.tar.gz",
             "--alias", "busybox"], lxd_env)
        for i in range(count):
            run(["lxc", "launch", "busybox", f"lxd{i}"], lxd_env)
        lxd_socket = f"{lxd_dir}/unix.socket"
        for path in ("/1.0/instances?recursion=1", "/1.0/metrics"):
            count_of = requests if "instances" in path else max(50, requests // 3)
            times, body = latencies(UnixConnection(lxd_socket), path, count_of)
            if "instances" in path:
                assert len(json.loads(body)["metadata"]) == count
            median = row(f"LXD,    unix socket   {path}", times, path)
            print(f"  vessel/LXD on the unix socket: {results[('vessel unix', path)] / median:.2f}")
    finally:
        subprocess.run(["lxd", "shutdown", "--timeout", "120"], env=lxd_env, capture_output=True)
        daemon.wait()
        with open("/proc/mounts") as mounts:
            for line in reversed(mounts.read().splitlines()):
                if lxd_dir in line.split()[1]:
                    subprocess.run(["umount", "-l", line.split()[1]], capture_output=True)
        shutil.rmtree(lxd_dir, ignore_errors=True)


daemon = subprocess.Popen(
    [f"{bin_dir}/vesseld", "--socket", sock, "--state-dir", f"{work}/state", "--cgroup-parent",
     parent, "--bridge", ""],
    stdout=subprocess.DEVNULL, stderr=open(f"{work}/vesseld.log", "w"), env=env)
names = [f"api{i}" for i in range(100)]
try:
    for _ in range(200):
        if subprocess.run(vessel + ["list"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    for name in names:
        run(vessel + ["launch", "busybox", name])
    port = free_port()
    run(vessel + ["config", "set", f"core.https_address=127.0.0.1:{port}"])
    token = run(vessel + ["config", "trust", "add", "--name", "bench"]).strip()
    run(vessel + ["remote", "add", "here", f"https://127.0.0.1:{port}", "--token", token],
        client_env)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(f"{work}/state/server.crt")
    context.load_cert_chain(f"{work}/client/client.crt", f"{work}/client/client.key")
    print(f"GET with {len(names)} running containers, {requests} requests on one kept-alive "
          f"connection each (after 10 to warm up)")
    print(f"{'':44}{'p50 ms':>10}{'p99 ms':>10}{'first ms':>12}")
    results = {}
    for path in ("/1.0/instances?recursion=1", "/1.0/metrics"):
        count = requests if "instances" in path else max(50, requests // 3)
        times, body = latencies(UnixConnection(sock), path, count)
        if "instances" in path:
            listed = len(json.loads(body)["metadata"])
            assert listed == len(names), f"listed {listed}"
        else:
            assert body.count(b"vessel_instance_running{") == len(names)
        results[("vessel unix", path)] = row(f"vessel, unix socket   {path}", times, path)
        https = http.client.HTTPSConnection("127.0.0.1", port, context=context)
        times, _ = latencies(https, path, count)
        results[("vessel https", path)] = row(f"vessel, HTTPS          {path}", times)

    lxd_anchor(len(names), requests, results)
finally:
    for name in names:
        subprocess.run(vessel + ["delete", "--force", name], env=env, capture_output=True)
    daemon.terminate()
    daemon.wait()
    shutil.rmtree(work, ignore_errors=True)
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        try:
            os.rmdir(f"/sys/fs/cgroup/{hierarchy}/{parent}")
        except OSError:
            pass
