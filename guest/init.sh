#!/bin/sh
# /init of the Vessel test guests (both the riscv64 and the x86_64 initramfs).
#
# Conventions (tests and the demo rely on them):
#   "vessel-guest: init started"   printed once proc/sys/dev/tmp are mounted: the boot marker.
#   vessel.run="CMDS"              on the kernel command line: run CMDS with `sh -c` (CMDS must not
#                                  contain a double quote), then print "vessel-guest: run exit=N"
#                                  and power off.
#   vessel.run64=BASE64            the same, for commands that need quotes: base64 of CMDS.
#   vessel.end=reboot              end with `reboot -f` instead of `poweroff -f` (a VMM without a
#                                  power-off device can catch the reset instead).
#   neither vessel.run form        an interactive shell on the console; power off when it exits.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
umask 022

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
mkdir -p /dev/pts /dev/shm /tmp /run
mount -t devpts devpts /dev/pts 2>/dev/null || true
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
hostname vessel-guest

echo "vessel-guest: init started"

# /proc/cmdline keeps the quotes the bootloader passed, so a quoted value survives intact; the
# kernel does not hand dotted parameters to init as arguments or environment.
cmdline=" $(cat /proc/cmdline) "
run=""
case "$cmdline" in
*" vessel.run64="*)
    encoded=${cmdline#* vessel.run64=}
    encoded=${encoded%% *}
    run=$(echo "$encoded" | base64 -d) || { echo "vessel-guest: vessel.run64 is not valid base64"; run="false"; }
    ;;
*' vessel.run="'*)
    run=${cmdline#* vessel.run=\"}
    run=${run%%\"*}
    ;;
*" vessel.run="*)
    run=${cmdline#* vessel.run=}
    run=${run%% *}
    ;;
esac

end="poweroff"
case "$cmdline" in
*" vessel.end=reboot "*) end="reboot" ;;
esac

if [ -n "$run" ]; then
    sh -c "$run"
    status=$?
    echo "vessel-guest: run exit=$status"
else
    echo "vessel-guest: no vessel.run on the kernel command line, starting a shell"
    # cttyhack gives the shell a real controlling tty so job control and ^C work.
    if command -v cttyhack >/dev/null 2>&1; then
        setsid cttyhack sh
    else
        sh
    fi
fi

sync
echo "vessel-guest: $end"
$end -f
# Only reached when the platform cannot power off: keep init alive rather than panic.
while :; do sleep 3600; done
