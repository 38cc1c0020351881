#include "vm/backends/tap.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"

namespace vessel::vm {

namespace {

constexpr int kVnetHeaderSize = 12;

ifreq request_for(const std::string& name) {
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return request;
}

Result<> bring_up(const std::string& name) {
    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!control) return fail_errno("socket");
    ifreq request = request_for(name);
    if (::ioctl(control.get(), SIOCGIFFLAGS, &request) != 0)
        return fail_errno(fmt::format("{}: read its flags", name));
    request.ifr_flags |= IFF_UP;
    if (::ioctl(control.get(), SIOCSIFFLAGS, &request) != 0)
        return fail_errno(fmt::format("{}: bring it up", name));
    return {};
}

Result<> add_to_bridge(const std::string& bridge, const std::string& tap) {
    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!control) return fail_errno("socket");
    ifreq request = request_for(bridge);
    request.ifr_ifindex = static_cast<int>(::if_nametoindex(tap.c_str()));
    if (request.ifr_ifindex == 0) return fail_errno(fmt::format("{}: no index", tap));
    if (::ioctl(control.get(), SIOCBRADDIF, &request) != 0)
        return fail_errno(fmt::format("attach {} to bridge {}", tap, bridge));
    return {};
}

bool valid_interface_name(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
    return true;
}

}  // namespace

Result<std::unique_ptr<TapBackend>> TapBackend::attach(const std::string& name, bool must_exist) {
    if (must_exist && !path_exists("/sys/class/net/" + name))
        return fail("tap {}: no such network interface", name);
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return fail_errno("tap: /dev/net/tun");
    ifreq request = request_for(name);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) {
        if (errno == EINVAL || errno == EBUSY)
            return fail("tap {}: not a TAP interface, or one in use by another VMM", name);
        return fail_errno(fmt::format("tap {}", name));
    }
    int header_size = kVnetHeaderSize;
    if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &header_size) != 0)
        return fail_errno(fmt::format("tap {}: set the virtio header size", name));
    // Until the guest says what it accepts: no offloads towards it.
    if (::ioctl(fd.get(), TUNSETOFFLOAD, 0) != 0)
        return fail_errno(fmt::format("tap {}: offloads", name));
    return std::unique_ptr<TapBackend>(new TapBackend(std::move(fd), request.ifr_name));
}

Result<std::unique_ptr<TapBackend>> TapBackend::open_existing(const std::string& name) {
    if (!valid_interface_name(name)) return fail("tap {}: not a valid interface name", name);
    return attach(name, true);
}

Result<std::unique_ptr<TapBackend>> TapBackend::create_on_bridge(const std::string& bridge) {
    if (!valid_interface_name(bridge)) return fail("bridge {}: not a valid interface name", bridge);
    if (!path_exists("/sys/class/net/" + bridge + "/bridge"))
        return fail("bridge {}: no such bridge", bridge);
    // The kernel picks the number; the interface lives as long as this descriptor.
    auto tap = TRY(attach("vtap%d", false));
    TRY_CTX(bring_up(tap->name()), "tap");
    TRY(add_to_bridge(bridge, tap->name()));
    return tap;
}

Result<size_t> TapBackend::receive(std::span<const iovec> buffers) {
    for (;;) {
        ssize_t got = ::readv(fd_.get(), buffers.data(), static_cast<int>(buffers.size()));
        if (got >= 0) return static_cast<size_t>(got);
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return size_t{0};
        return fail_errno(fmt::format("tap {}: read", name_));
    }
}

Result<> TapBackend::send(std::span<const iovec> frame) {
    for (;;) {
        if (::writev(fd_.get(), frame.data(), static_cast<int>(frame.size())) >= 0) return {};
        if (errno == EINTR) continue;
        // A full queue or a frame the host refuses: dropped, as on a wire.
        if (errno == EAGAIN || errno == EINVAL || errno == EIO) return {};
        return fail_errno(fmt::format("tap {}: write", name_));
    }
}

Result<> TapBackend::set_offloads(bool checksum, bool tso4, bool tso6, bool ecn) {
    unsigned flags = 0;
    if (checksum) {
        flags |= TUN_F_CSUM;
        if (tso4) flags |= TUN_F_TSO4;
        if (tso6) flags |= TUN_F_TSO6;
        if (ecn && (tso4 || tso6)) flags |= TUN_F_TSO_ECN;
    }
    if (::ioctl(fd_.get(), TUNSETOFFLOAD, flags) != 0)
        return fail_errno(fmt::format("tap {}: offloads", name_));
    return {};
}

}  // namespace vessel::vm
