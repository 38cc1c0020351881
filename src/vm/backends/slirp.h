// User-mode networking with libslirp, as QEMU's `-netdev user`: no root, no TAP. The guest gets
// 10.0.2.15 by DHCP, the host's loopback is 10.0.2.2, DNS is 10.0.2.3; outbound TCP and UDP are
// sockets of the process running the stack, and host port forwards on 127.0.0.1 reach servers in
// the guest. The stack runs in its own process, `vessel-slirp`, which exchanges Ethernet frames
// with the VMM over a SOCK_SEQPACKET socket (one frame per message): the VMM stays a static binary
// with no network sockets of its own, and a flaw in the TCP/IP emulation is not the VMM's.
#pragma once

#include <functional>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/device_options.h"

namespace vessel::vm {

// Runs the stack on `frames` until the peer closes it. `started` is called once the forwards are
// listening, before the first frame; an error means the stack could not start (a forward's host
// port is taken), or the socket failed.
Result<> run_slirp(int frames, const std::vector<PortForward>& forwards, const Logger& log,
                   const std::function<void()>& started);

}  // namespace vessel::vm
