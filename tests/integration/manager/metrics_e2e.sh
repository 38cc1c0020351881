#!/usr/bin/env bash
# GET /1.0/metrics (docs/remote.md): a running container's and the riscv64/busybox VM's figures
# in Prometheus's text format on the unix socket, checked by promtool, and Debian's prometheus
# scraping vesseld for real over HTTPS with a trusted client certificate, its query API
# returning both instances' memory series.
# usage: metrics_e2e.sh VESSEL VESSELD
set -u
vessel_bin=$1 vesseld_bin=$2
source "$(dirname "$0")/lib.sh"
for tool in prometheus promtool curl openssl; do
  command -v $tool >/dev/null || { echo "FAIL - $tool is not installed (make deps)"; exit 1; }
done
prometheus_pid=
trap '[[ -n $prometheus_pid ]] && kill $prometheus_pid 2>/dev/null; cleanup' EXIT
use_riscv64_guests
start_daemon

check "launch c1 with a memory limit" "$vessel_bin" launch busybox c1 -c limits.memory=64MiB
check "c1 writes to its disk and sends a packet" \
  "$vessel_bin" exec c1 -- sh -c 'dd if=/dev/urandom of=/root/f bs=64k count=16 2>/dev/null && sync; ping -c 1 -W 1 '"$gateway"' >/dev/null; true'
check "launch the riscv64 VM v1" "$vessel_bin" launch riscv64/busybox v1 --vm -c limits.memory=128MiB
check "v1 reads its disk" "$vessel_bin" exec v1 -- sh -c 'cat /bin/busybox >/dev/null'

check "the unix socket serves the metrics" \
  bash -c "curl -sS --max-time 30 --unix-socket '$socket' http://vessel/1.0/metrics >'$work/metrics'"
has() { grep -qE "$1" "$work/metrics" || { echo "no line matches $1"; return 1; }; }
check "in the text format, as promtool reads it" bash -c "promtool check metrics <'$work/metrics'"
check "c1's memory in use" has '^vessel_memory_usage_bytes\{name="c1",type="container"\} [1-9]'
check "c1's limit is 64 MiB" has '^vessel_memory_limit_bytes\{name="c1",type="container"\} 67108864$'
check "c1's processes" has '^vessel_processes\{name="c1",type="container"\} [1-9]'
check "c1's CPU time" has '^vessel_cpu_seconds_total\{name="c1",type="container",mode="(user|system)"\} [0-9]'
check "c1's eth0 sent its packet" has '^vessel_network_transmit_bytes_total\{name="c1",type="container",interface="eth0"\} [1-9]'
check "v1's memory as its guest sees it" has '^vessel_memory_usage_bytes\{name="v1",type="vm"\} [1-9]'
check "v1's guest memory is under its 128 MiB" \
  bash -c "(( \$(sed -n 's/^vessel_memory_limit_bytes{name=\"v1\",type=\"vm\"} //p' '$work/metrics') <= 128 << 20 ))"
check "what v1 costs the host" has '^vessel_vmm_memory_bytes\{name="v1",type="vm"\} [1-9]'
check "v1's processes" has '^vessel_processes\{name="v1",type="vm"\} [1-9]'
check "v1's CPU time" has '^vessel_cpu_seconds_total\{name="v1",type="vm",mode="user"\} [0-9.]*[1-9]'
check "v1's disk reads" has '^vessel_disk_read_bytes_total\{name="v1",type="vm",device="vda"\} [1-9]'
check "API latencies" has '^vessel_api_request_duration_seconds_bucket\{method="GET",le="\+Inf"\} [1-9]'
check "the launches" has '^vessel_operations_total\{kind="launch",status="success"\} 2$'
check "vesseld's own process" has '^process_resident_memory_bytes [1-9]'
check "a stopped instance is listed without figures" bash -c \
  "'$vessel_bin' stop c1 && curl -sS --unix-socket '$socket' http://vessel/1.0/metrics >'$work/stopped' && grep -q '^vessel_instance_running{name=\"c1\",type=\"container\"} 0$' '$work/stopped' && ! grep -q '^vessel_memory_usage_bytes{name=\"c1\"' '$work/stopped'"
check "start c1 again" "$vessel_bin" start c1

# --- Prometheus scrapes it over HTTPS, with a certificate the server trusts, and checks the
# server's certificate against the one vesseld made.
port=$(free_port)
web=$(free_port)
check "the HTTPS listener" "$vessel_bin" config set core.https_address "127.0.0.1:$port"
token=$("$vessel_bin" config trust add --name prometheus 2>/dev/null)
check "a client certificate for prometheus, trusted with a token" \
  env VESSEL_CONFIG_DIR="$work/prometheus-client" "$vessel_bin" remote add here "https://127.0.0.1:$port" --token "$token"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vessel
    scheme: https
    metrics_path: /1.0/metrics
    tls_config:
      ca_file: $state/server.crt
      cert_file: $work/prometheus-client/client.crt
      key_file: $work/prometheus-client/client.key
    static_configs:
      - targets: ["127.0.0.1:$port"]
YAML
check "promtool accepts the configuration" promtool check config "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
  --web.listen-address="127.0.0.1:$web" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
query() {  # query PROMQL: the query API's result list is not empty
  curl -sS --max-time 5 "http://127.0.0.1:$web/api/v1/query" --data-urlencode "query=$1" |
    grep -q '"result":\[{'
}
check "prometheus sees the target up" eventually 60 query 'up{job="vessel"} == 1'
check "prometheus has c1's memory series" eventually 30 query 'vessel_memory_usage_bytes{name="c1",type="container"} > 0'
check "prometheus has v1's memory series" eventually 30 query 'vessel_memory_usage_bytes{name="v1",type="vm"} > 0'
check "... and v1's CPU time" eventually 30 query 'vessel_cpu_seconds_total{name="v1",mode="user"} > 0'
if (( failures > 0 )); then tail -20 "$work/prometheus.log"; fi
kill "$prometheus_pid"; wait "$prometheus_pid" 2>/dev/null; prometheus_pid=

check "delete both" "$vessel_bin" delete --force c1 v1
check "nothing of c1 is left" nothing_left c1
check "nothing of v1 is left" nothing_left v1
finish
