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


def latencies(connection, path, count):
    """Milliseconds per request on one kept-alive connection, after a warm-up."""
    times = []
    for i in range(count + 10):
        start = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"{path}: {response.status} {body[:200]!r}")
        if i >= 10:
            times.append((time.perf_counter() - start) * 1000)
    return sorted(times), body


def row(label, times):
    p99 = times[max(0, int(len(times) * 0.99) - 1)]
    print(f"{label:44}{statistics.median(times):10.2f}{p99:10.2f}")
    return statistics.median(times)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    print(f"{'':44}{'p50 ms':>10}{'p99 ms':>10}")
    results = {}
    for path in ("/1.0/instances?recursion=1", "/1.0/metrics"):
        count = requests if "instances" in path else max(50, requests // 3)
        times, body = latencies(UnixConnection(sock), path, count)
        if "instances" in path:
            listed = len(json.loads(body)["metadata"])
            assert listed == len(names), f"listed {listed}"
        else:
            assert body.count(b"vessel_instance_running{") == len(names)
        results[("vessel unix", path)] = row(f"vessel, unix socket   {path}", times)
        https = http.client.HTTPSConnection("127.0.0.1", port, context=context)
        times, _ = latencies(https, path, count)
        results[("vessel https", path)] = row(f"vessel, HTTPS          {path}", times)

    lxd_socket = next((p for p in ("/var/lib/incus/unix.socket", "/var/lib/lxd/unix.socket",
                                   "/var/snap/lxd/common/lxd/unix.socket")
                       if os.path.exists(p)), None)
    if lxd_socket is None:
        print("LXD/Incus: no daemon on this host (its unix socket is absent): no anchor this run")
    else:
        for path in ("/1.0/instances?recursion=1", "/1.0/metrics"):
            count = requests if "instances" in path else max(50, requests // 3)
            try:
                times, body = latencies(UnixConnection(lxd_socket), path, count)
            except SystemExit as refused:
                print(f"{lxd_socket} {path}: {refused}")
                continue
            listed = len(json.loads(body)["metadata"]) if "instances" in path else None
            label = f"{os.path.basename(os.path.dirname(lxd_socket))}, unix socket {path}"
            median = row(label + (f" ({listed} instances)" if listed is not None else ""), times)
            print(f"  vessel/{os.path.basename(os.path.dirname(lxd_socket))}: "
                  f"{results[('vessel unix', path)] / median:.2f}")
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
