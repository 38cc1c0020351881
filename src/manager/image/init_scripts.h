// What the images vesseld makes itself (busybox, debian/12) carry as their init and as
// udhcpc's lease script. Both use only `ip` and busybox's (or Debian's) udhcpc.
#pragma once

namespace vessel::manager {

// The init of the images vesseld makes: the network up (DHCP on eth0 when vesseld plugged one
// in), then idle until told to stop. Installed as /sbin/vessel-init.
inline constexpr const char* image_init_script = R"sh(#!/bin/sh
ip link set lo up 2>/dev/null
if [ -e /sys/class/net/eth0 ]; then
    udhcpc -i eth0 -b -t 20 -T 1 -s /usr/share/udhcpc/default.script -x "hostname:$(hostname)" >/dev/null 2>&1
fi
trap 'exit 0' TERM
while :; do sleep 3600 & wait $!; done
)sh";

// What udhcpc runs on each lease event (installed as /usr/share/udhcpc/default.script): address,
// default route and resolver.
inline constexpr const char* udhcpc_lease_script = R"sh(#!/bin/sh
case "$1" in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        ip route del default 2>/dev/null
        set -- $router
        ip route add default via "$1" dev "$interface"
    fi
    if [ -n "$dns" ]; then
        : >/etc/resolv.conf
        for server in $dns; do echo "nameserver $server" >>/etc/resolv.conf; done
        [ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
    fi
    ;;
esac
exit 0
)sh";

}  // namespace vessel::manager
