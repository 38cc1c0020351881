// The devices a VM gets beyond its console, as `vessel-vmm` flags and vm.json keys spell them:
//   --disk PATH[,ro][,serial=ID]                                   (repeatable)
//   --net tap=NAME|bridge=BRIDGE|user[,mac=MAC][,hostfwd=tcp:HOST-GUEST]...   (repeatable)
//   --vsock CID,SOCKET
//   --rng
// Parsing only: every error names the option and its text; files, interfaces and sockets are
// opened when the machine is built.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel::vm {

struct DiskOption {
    std::string path;
    bool read_only = false;
    std::string serial;  // at most 20 bytes (what virtio-blk's GET_ID answers)
};

using MacAddress = std::array<uint8_t, 6>;

struct PortForward {
    uint16_t host_port;   // on the host's loopback
    uint16_t guest_port;  // on the guest's user-mode address
};

struct NetOption {
    enum class Backend { tap, bridge, user };
    Backend backend = Backend::user;
    std::string interface;  // the TAP's or the bridge's name
    std::optional<MacAddress> mac;
    std::vector<PortForward> forwards;  // user-mode only
};

struct VsockOption {
    uint64_t guest_cid = 0;
    std::string socket_path;
};

// `relative_to`: the directory a relative path is taken from ("" for the working directory).
Result<DiskOption> parse_disk_option(std::string_view text, std::string_view relative_to = {});
Result<NetOption> parse_net_option(std::string_view text);
Result<VsockOption> parse_vsock_option(std::string_view text, std::string_view relative_to = {});
// "tcp:HOSTPORT-GUESTPORT", as QEMU's hostfwd (the host side on 127.0.0.1).
Result<PortForward> parse_hostfwd(std::string_view rule);

// "52:54:00:12:34:56"; a multicast address is refused.
Result<MacAddress> parse_mac(std::string_view text);
// A random locally administered unicast address.
MacAddress random_mac();
std::string format_mac(const MacAddress& mac);

}  // namespace vessel::vm
