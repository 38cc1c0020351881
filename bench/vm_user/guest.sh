#!/bin/sh
# bench/vm_user's driver inside the guest: /init runs it through vessel.run="/vm-user/run.sh" (the
# cpio built in bench/vm_user is appended to the test initramfs), then powers the guest off. Each
# workload's time is taken inside the guest by vm-user-time and printed as "VM_USER NAME SECONDS".
stopwatch=/vm-user/vm-user-time

# The kernel's crypto self-tests (the cryptomgr_test thread) may still run after /init starts; a
# workload timed beside them would be charged for their CPU.
waited=0
while grep -qsx cryptomgr_test /proc/[0-9]*/comm; do
    waited=$((waited + 1))
    if [ $waited -gt 1200 ]; then
        echo "VM_USER error cryptomgr_test still running after 120 s"
        exit 1
    fi
    sleep 0.1
done

# gzip's input: a few MiB that are in the initramfs anyway, prepared before any timing.
for _ in 1 2 3; do cat /bin/busybox; done >/tmp/vm-user-data

echo "VM_USER begin $($stopwatch --now)"
# shellcheck disable=SC2016 # the loop's variables are the inner shell's
$stopwatch shell_loop sh -c 'i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done'
$stopwatch intmark /vm-user/intmark
$stopwatch gzip sh -c 'gzip -c /tmp/vm-user-data >/dev/null'
echo "VM_USER end $($stopwatch --now)"
