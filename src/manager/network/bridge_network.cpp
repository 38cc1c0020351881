#include "manager/network/bridge_network.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/file.h"
#include "base/process.h"
#include "manager/instance/instance.h"

namespace vessel::manager {

namespace {

uint64_t name_hash(const std::string& text, uint64_t seed) {
    uint64_t hash = 1469598103934665603ULL ^ seed;  // FNV-1a
    for (unsigned char c : text)
        hash = (hash ^ c) * 1099511628211ULL;
    return hash;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

}  // namespace

Result<BridgeNetwork> BridgeNetwork::make(BridgeConfig config) {
    if (config.name.empty() || config.name.size() > 15 ||
        config.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
        return fail_errno(EINVAL, fmt::format("network name {}: 1 to 15 lower-case letters, "
                                              "digits or dashes (an interface name)",
                                              config.name));
    in_addr address{};
    if (::inet_pton(AF_INET, config.gateway.c_str(), &address) != 1 ||
        !config.gateway.ends_with(".1"))
        return fail_errno(EINVAL,
                          fmt::format("network address {}: an IPv4 address ending in .1 (the "
                                      "gateway of its /24)",
                                      config.gateway));
    return BridgeNetwork(std::move(config));
}

std::string BridgeNetwork::prefix() const {
    return config_.gateway.substr(0, config_.gateway.size() - 1);
}

std::string BridgeNetwork::subnet() const {
    return prefix() + "0/24";
}

std::string BridgeNetwork::mac_for(const std::string& instance) {
    uint64_t hash = name_hash(instance, 0x6d6163);
    // 02: locally administered, unicast.
    return fmt::format("02:76:{:02x}:{:02x}:{:02x}:{:02x}", (hash >> 24) & 0xff,
                       (hash >> 16) & 0xff, (hash >> 8) & 0xff, hash & 0xff);
}

std::string BridgeNetwork::host_interface_for(const std::string& instance) {
    return fmt::format("vsl{:08x}", name_hash(instance, 0x766574) & 0xffffffff);
}

bool BridgeNetwork::exists() const {
    return path_exists(config_.directory + "/network.json");
}

bool BridgeNetwork::healthy() const {
    return exists() && path_exists("/sys/class/net/" + config_.name) && running_dnsmasq();
}

Result<> BridgeNetwork::ensure_bridge() const {
    const std::string& bridge = config_.name;
    if (!path_exists("/sys/class/net/" + bridge))
        TRY(run_checked({"ip", "link", "add", bridge, "type", "bridge"}));
    auto addresses = TRY(run_checked({"ip", "-4", "-o", "addr", "show", "dev", bridge}));
    if (addresses.find(" " + config_.gateway + "/24 ") == std::string::npos)
        TRY(run_checked({"ip", "addr", "add", config_.gateway + "/24", "dev", bridge}));
    TRY(run_checked({"ip", "link", "set", bridge, "up"}));
    return {};
}

Result<> BridgeNetwork::ensure_nat() const {
    // Replaced as a whole: a restarted vesseld gets exactly these rules, never duplicates.
    std::string rules = fmt::format(
        "table ip {0}\n"
        "delete table ip {0}\n"
        "table ip {0} {{\n"
        "  chain postrouting {{\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr {1} ip daddr != {1} masquerade\n"
        "  }}\n"
        "  chain forward {{\n"
        "    type filter hook forward priority filter; policy accept;\n"
        "    iifname \"{2}\" accept\n"
        "    oifname \"{2}\" ct state established,related accept\n"
        "  }}\n"
        "}}\n",
        table(), subnet(), config_.name);
    TRY(run_checked({"nft", "-f", "-"}, std::chrono::seconds(30), rules));
    // Routing between the bridge and the uplinks needs forwarding on; remember to undo it.
    auto forwarding = trimmed(TRY(read_file("/proc/sys/net/ipv4/ip_forward")));
    if (forwarding != "1") {
        TRY(write_file_atomic(config_.directory + "/ip_forward_was_off", ""));
        TRY(write_existing_file("/proc/sys/net/ipv4/ip_forward", "1"));
    }
    return {};
}

std::optional<pid_t> BridgeNetwork::running_dnsmasq() const {
    auto text = read_file(config_.directory + "/dnsmasq.pid");
    if (!text) return std::nullopt;
    pid_t pid = std::atoi(text->c_str());
    if (pid <= 0) return std::nullopt;
    // The pid file may be stale and the pid reused: it must be a dnsmasq serving this bridge.
    auto cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
    if (!cmdline || cmdline->find("--interface=" + config_.name) == std::string::npos)
        return std::nullopt;
    return pid;
}

Result<> BridgeNetwork::ensure_dnsmasq() const {
    if (running_dnsmasq()) return {};
    const std::string& dir = config_.directory;
    TRY(run_checked(
        {"dnsmasq", "--conf-file=/dev/null", "--pid-file=" + dir + "/dnsmasq.pid",
         "--dhcp-leasefile=" + dir + "/leases", "--bind-interfaces", "--interface=" + config_.name,
         "--except-interface=lo", "--listen-address=" + config_.gateway,
         fmt::format("--dhcp-range={}2,{}254,1h", prefix(), prefix()),
         // No ping before an offer (3 s per lease): nothing else hands out addresses here.
         "--no-ping", "--dhcp-authoritative", "--dhcp-no-override", "--no-hosts", "--domain=vessel",
         "--local=/vessel/", "--strict-order"}));
    // dnsmasq writes its pid file after it has forked into the background.
    for (int attempt = 0; attempt < 100 && !running_dnsmasq(); ++attempt)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!running_dnsmasq()) return fail("dnsmasq for {} did not start", config_.name);
    return {};
}

Result<> BridgeNetwork::ensure() {
    TRY(make_directories(config_.directory, 0700));
    auto set_up = [&]() -> Result<> {
        TRY(ensure_bridge());
        TRY(ensure_nat());
        TRY(ensure_dnsmasq());
        Json record = {{"name", config_.name}, {"gateway", config_.gateway}, {"subnet", subnet()}};
        return write_file_atomic(config_.directory + "/network.json", record.dump(2));
    };
    if (auto done = set_up(); !done) {
        // A network that was not there before must not be left half made.
        if (!exists()) (void)destroy(true);
        return std::unexpected(done.error().context("set up network " + config_.name));
    }
    return {};
}

Result<> BridgeNetwork::destroy(bool force) {
    std::string ports = "/sys/class/net/" + config_.name + "/brif";
    if (!force) {
        size_t plugged = 0;
        if (DIR* dir = ::opendir(ports.c_str())) {
            while (dirent* entry = ::readdir(dir))
                plugged += entry->d_name[0] != '.';
            ::closedir(dir);
        }
        if (plugged > 0)
            return fail_errno(EBUSY,
                              fmt::format("network {} is in use by {} container(s): stop them "
                                          "first",
                                          config_.name, plugged));
    }
    if (auto pid = running_dnsmasq()) {
        ::kill(*pid, SIGTERM);
        for (int attempt = 0; attempt < 100 && running_dnsmasq(); ++attempt)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Each step on its own: what is already gone is not an error.
    auto tables = run_checked({"nft", "list", "tables", "ip"});
    if (tables && tables->find("table ip " + table() + "\n") != std::string::npos)
        TRY(run_checked({"nft", "delete", "table", "ip", table()}));
    if (path_exists("/sys/class/net/" + config_.name))
        TRY(run_checked({"ip", "link", "del", config_.name}));
    if (path_exists(config_.directory + "/ip_forward_was_off"))
        TRY(write_existing_file("/proc/sys/net/ipv4/ip_forward", "0"));
    return remove_instance_tree(config_.directory);
}

std::map<std::string, std::string> BridgeNetwork::leases() const {
    std::map<std::string, std::string> found;
    auto text = read_file(config_.directory + "/leases");
    if (!text) return found;
    size_t start = 0;
    while (start < text->size()) {
        size_t end = text->find('\n', start);
        if (end == std::string::npos) end = text->size();
        std::string line = text->substr(start, end - start);
        start = end + 1;
        // "<expiry> <mac> <ip> <hostname> <client id>"
        auto first = line.find(' '), second = line.find(' ', first + 1),
             third = line.find(' ', second + 1);
        if (third == std::string::npos) continue;
        found[line.substr(first + 1, second - first - 1)] =
            line.substr(second + 1, third - second - 1);
    }
    return found;
}

NetworkView BridgeNetwork::describe() const {
    return {.name = config_.name,
            .gateway = config_.gateway,
            .subnet = subnet(),
            .up = exists() && path_exists("/sys/class/net/" + config_.name),
            .dhcp = running_dnsmasq().has_value(),
            .leases = leases()};
}

}  // namespace vessel::manager
