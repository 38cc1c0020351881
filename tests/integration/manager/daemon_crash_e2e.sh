#!/usr/bin/env bash
# vesseld dies in the middle of launches, starts and deletes (at named steps through
# VESSEL_TEST_CRASH_AT, and by kill -9 during concurrent launches). Instances outlive the daemon:
# after its restart each is listed as what it really is, a running one is exec-able and stoppable,
# half-done launches are finished (their monitor runs) or rolled back without a trace, half-done
# deletions are finished. Needs root.
# Usage: daemon_crash_e2e.sh VESSEL VESSELD
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"


listed_as() {  # listed_as NAME STATE
  "$vessel_bin" list | grep -qE "^$1 +$2 "
}
no_leftover_files() {  # no_leftover_files NAME: no temporary file or exec scratch in its directory
  [[ -z $(find "$state/instances/$1" -maxdepth 1 \( -name '*.tmp.*' -o -name 'exec-*' \)) ]]
}
veths_on_bridge() { ls "/sys/class/net/$bridge/brif" 2>/dev/null | wc -l; }

start_daemon
# The network is set up by the first launch; later checks count its veths.
check "a first container" "$vessel_bin" launch busybox first

# Killed before the launch had a monitor: rolled back, and the name is free again.
for point in launch-row-inserted launch-created start-plan-written; do
  crash_at "$point" "$vessel_bin" launch busybox k1
  check "killed at $point: the launch was rolled back" nothing_left k1
  check "killed at $point: the name can be launched again" "$vessel_bin" launch busybox k1
  check "killed at $point: and exec'd into" "$vessel_bin" exec k1 -- true
  check "killed at $point: delete" "$vessel_bin" delete --force k1
done

# At a restart, an unfinished atomic write of a process that died is swept, one whose writer
# still runs (a monitor started just before vesseld died, writing its identity) is left to it.
stop_daemon
sleep 60 & live_writer=$!
true & dead_writer=$!; wait "$dead_writer"
touch "$state/instances/first/monitor-pid.json.tmp.$live_writer" \
  "$state/instances/first/config.json.tmp.$dead_writer"
start_daemon
check "a restart sweeps the temporary file of a dead writer" \
  test ! -e "$state/instances/first/config.json.tmp.$dead_writer"
check "and leaves the one of a live writer" \
  test -e "$state/instances/first/monitor-pid.json.tmp.$live_writer"
kill "$live_writer"; wait "$live_writer" 2>/dev/null
rm -f "$state/instances/first/monitor-pid.json.tmp.$live_writer"

# Killed once the monitor was started: the launch is finished, the container is RUNNING.
for point in monitor-spawned start-monitor-ready; do
  crash_at "$point" "$vessel_bin" launch busybox k2
  check "killed at $point: the container is listed RUNNING" listed_as k2 RUNNING
  check "killed at $point: exec works" bash -c "[[ \$('$vessel_bin' exec k2 -- hostname) == k2 ]]"
  check "killed at $point: info names its init" bash -c "'$vessel_bin' info k2 | grep -qE '^PID: [0-9]+'"
  check "killed at $point: no temporary file left" no_leftover_files k2
  check "killed at $point: stop" "$vessel_bin" stop k2
  check "killed at $point: STOPPED with its exit status" bash -c "'$vessel_bin' info k2 | grep -q 'Last exit: exit status 0'"
  check "killed at $point: start again" "$vessel_bin" start k2
  check "killed at $point: delete" "$vessel_bin" delete --force k2
  check "killed at $point: nothing left" nothing_left k2
done

# A start (of a created, stopped container) killed once its monitor ran; then a frozen one.
check "launch k3" "$vessel_bin" launch busybox k3
check "stop k3" "$vessel_bin" stop k3
crash_at monitor-spawned "$vessel_bin" start k3
check "a start killed after its monitor: RUNNING" listed_as k3 RUNNING
check "and exec works" "$vessel_bin" exec k3 -- true
# Frozen behind vesseld's back while it was down: the database says running, the cgroup says
# frozen, and the cgroup wins.
stop_daemon
check "pause k3 while vesseld is down" "$runtime_bin" --root "$state/runtime" pause k3
start_daemon
check "after the restart k3 is FROZEN" listed_as k3 FROZEN
check "unfreeze k3" "$vessel_bin" unfreeze k3
check "and it answers exec again" "$vessel_bin" exec k3 -- true

# A delete killed after the files went, before the row did: finished at the restart.
crash_at delete-destroyed "$vessel_bin" delete --force k3
check "a delete killed half-way is finished" nothing_left k3

# The real thing: kill -9 at several moments during 10 concurrent launches. Whatever each launch
# had reached, after the restart nothing is CREATING, everything listed runs and answers exec, and
# what is not listed left nothing behind.
for delay in 0.1 0.25 0.4; do
  pids=()
  for i in $(seq 1 10); do "$vessel_bin" launch busybox "n$i" >/dev/null 2>&1 & pids+=($!); done
  sleep "$delay"
  kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
  daemon_pid=
  for pid in "${pids[@]}"; do wait "$pid"; done
  start_daemon
  "$vessel_bin" list >"$work/list"
  check "kill -9 after ${delay}s: no instance is left CREATING" bash -c "! grep -q CREATING '$work/list'"
  check "kill -9 after ${delay}s: none is listed STOPPED" bash -c "! grep -qE '^n[0-9]+ +STOPPED' '$work/list'"
  running=0
  for i in $(seq 1 10); do
    if grep -qE "^n$i +RUNNING " "$work/list"; then
      running=$((running + 1))
      check "kill -9 after ${delay}s: n$i runs and answers exec" "$vessel_bin" exec "n$i" -- true
      check "kill -9 after ${delay}s: n$i has no temporary file" no_leftover_files "n$i"
    else
      check "kill -9 after ${delay}s: n$i was rolled back without a trace" nothing_left "n$i"
    fi
  done
  # Every container cgroup belongs to a listed instance, and every running one has its veth.
  cgroups=$(find /sys/fs/cgroup/pids/"$parent" -mindepth 1 -maxdepth 1 -type d | wc -l)
  check "kill -9 after ${delay}s: one cgroup per running container ($running + first)" test "$cgroups" -eq $((running + 1))
  check "kill -9 after ${delay}s: one veth per running container" test "$(veths_on_bridge)" -eq $((running + 1))
  pids=()
  for i in $(seq 1 10); do
    grep -qE "^n$i " "$work/list" && { "$vessel_bin" delete --force "n$i" >/dev/null 2>&1 & pids+=($!); }
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  check "kill -9 after ${delay}s: the survivors stop and delete" bash -c "! '$vessel_bin' list | grep -q '^n'"
done

check "the first container ran through it all" "$vessel_bin" exec first -- true
finish
