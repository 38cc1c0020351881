#include "vm/boot/device_options.h"

#include <sys/random.h>

#include <charconv>

namespace vessel::vm {

namespace {

// Splits "a,b,c" at commas.
std::vector<std::string_view> fields(std::string_view text) {
    std::vector<std::string_view> parts;
    size_t position = 0;
    while (position <= text.size()) {
        size_t end = std::min(text.find(',', position), text.size());
        parts.push_back(text.substr(position, end - position));
        position = end + 1;
    }
    return parts;
}

template <typename T>
std::optional<T> number(std::string_view text) {
    T value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

std::string resolved(std::string_view path, std::string_view relative_to) {
    if (relative_to.empty() || path.starts_with('/')) return std::string(path);
    return fmt::format("{}/{}", relative_to, path);
}

bool valid_interface_name(std::string_view name) {
    // IFNAMSIZ is 16 with the terminating zero.
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    for (char c : name)
        if (c == '/' || c == ':' || c == ',' || c <= ' ' || c == 0x7f) return false;
    return true;
}

}  // namespace

Result<DiskOption> parse_disk_option(std::string_view text, std::string_view relative_to) {
    auto parts = fields(text);
    if (parts[0].empty()) return fail("'{}': the disk image path is missing", text);
    DiskOption disk{.path = resolved(parts[0], relative_to), .read_only = false, .serial = {}};
    for (size_t i = 1; i < parts.size(); ++i) {
        std::string_view part = parts[i];
        if (part == "ro") {
            disk.read_only = true;
        } else if (part.starts_with("serial=")) {
            disk.serial = std::string(part.substr(7));
            if (disk.serial.empty() || disk.serial.size() > 20)
                return fail("'{}': serial must be 1 to 20 bytes", text);
        } else {
            return fail("'{}': unknown disk option '{}' (ro, serial=ID)", text, part);
        }
    }
    return disk;
}

Result<NetOption> parse_net_option(std::string_view text) {
    auto parts = fields(text);
    NetOption net;
    std::string_view backend = parts[0];
    if (backend == "user") {
        net.backend = NetOption::Backend::user;
    } else if (backend.starts_with("tap=") || backend.starts_with("bridge=")) {
        bool tap = backend.starts_with("tap=");
        net.backend = tap ? NetOption::Backend::tap : NetOption::Backend::bridge;
        net.interface = std::string(backend.substr(tap ? 4 : 7));
        if (!valid_interface_name(net.interface))
            return fail("'{}': '{}' is not a network interface name", text, net.interface);
    } else {
        return fail("'{}': unknown backend '{}' (tap=NAME, bridge=BRIDGE or user)", text, backend);
    }
    for (size_t i = 1; i < parts.size(); ++i) {
        std::string_view part = parts[i];
        if (part.starts_with("mac=")) {
            net.mac = TRY_CTX(parse_mac(part.substr(4)), "'{}'", text);
        } else if (part.starts_with("hostfwd=")) {
            if (net.backend != NetOption::Backend::user)
                return fail("'{}': hostfwd is for the user-mode backend only", text);
            net.forwards.push_back(TRY_CTX(parse_hostfwd(part.substr(8)), "'{}'", text));
        } else {
            return fail("'{}': unknown network option '{}' (mac=, hostfwd=)", text, part);
        }
    }
    return net;
}

Result<VsockOption> parse_vsock_option(std::string_view text, std::string_view relative_to) {
    size_t comma = text.find(',');
    if (comma == std::string_view::npos || comma + 1 == text.size())
        return fail("'{}' must read CID,SOCKET", text);
    auto cid = number<uint64_t>(text.substr(0, comma));
    if (!cid) return fail("'{}': CID '{}' is not a number", text, text.substr(0, comma));
    if (*cid < 3 || *cid > 0xffff'fffe)
        return fail("'{}': CID {} is reserved (use 3 to 4294967294)", text, *cid);
    return VsockOption{.guest_cid = *cid,
                       .socket_path = resolved(text.substr(comma + 1), relative_to)};
}

Result<PortForward> parse_hostfwd(std::string_view rule) {
    auto bad = [&] {
        return fail("hostfwd '{}' must read tcp:HOSTPORT-GUESTPORT, ports 1 to 65535", rule);
    };
    if (!rule.starts_with("tcp:")) return bad();
    std::string_view ports = rule.substr(4);
    size_t dash = ports.find('-');
    if (dash == std::string_view::npos) return bad();
    auto host = number<uint16_t>(ports.substr(0, dash));
    auto guest = number<uint16_t>(ports.substr(dash + 1));
    if (!host || !guest || *host == 0 || *guest == 0) return bad();
    return PortForward{.host_port = *host, .guest_port = *guest};
}

Result<MacAddress> parse_mac(std::string_view text) {
    MacAddress mac{};
    auto bad = [&] {
        return fail("MAC address '{}' is not six hex bytes like 52:54:00:12:34:56", text);
    };
    if (text.size() != 17) return bad();
    for (size_t i = 0; i < 6; ++i) {
        if (i > 0 && text[i * 3 - 1] != ':') return bad();
        auto [end, error] =
            std::from_chars(text.data() + i * 3, text.data() + i * 3 + 2, mac[i], 16);
        if (error != std::errc() || end != text.data() + i * 3 + 2) return bad();
    }
    if (mac[0] & 1) return fail("MAC address '{}' is a multicast address", text);
    return mac;
}

MacAddress random_mac() {
    MacAddress mac{};
    (void)::getrandom(mac.data(), mac.size(), 0);
    mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
    return mac;
}

std::string format_mac(const MacAddress& mac) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                       mac[4], mac[5]);
}

}  // namespace vessel::vm
