// The managed container network: a Linux bridge with the gateway address, NAT to the host's
// uplinks (an nftables table of its own) and DHCP/DNS (a dnsmasq bound to the bridge), as Incus's
// default `incusbr0`. One veth per container, attached by an OCI hook (net_attach.h).
//
// Everything it adds to the host is named after the bridge, recorded in its directory and removed
// by destroy(): the bridge (and with it every veth still plugged in), the table
// `ip vessel_<bridge>`, the dnsmasq process, and ip_forward if it switched that on. ensure() is
// idempotent, so a restarted vesseld repairs what is missing (dnsmasq outlives vesseld, as the
// containers do).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/json.h"

namespace vessel::manager {

struct BridgeConfig {
    std::string name = "vessel0";
    std::string gateway = "10.87.0.1";  // the bridge's address; the subnet is its /24
    std::string directory;              // <state>/networks/<name>: leases, pid, network.json
};

// What `vessel network list` shows of the managed network.
struct NetworkView {
    std::string name;
    std::string gateway;
    std::string subnet;
    bool up = false;                            // the bridge exists
    bool dhcp = false;                          // its dnsmasq runs
    std::map<std::string, std::string> leases;  // MAC -> address
};

class BridgeNetwork {
  public:
    // Checks the name (an interface name) and the address (an IPv4 address ending in .1).
    static Result<BridgeNetwork> make(BridgeConfig config);

    const BridgeConfig& config() const { return config_; }

    Result<> ensure();
    // Refused with EBUSY while a container's veth is plugged in, unless `force`.
    Result<> destroy(bool force);
    // Set up by ensure() and not destroyed since.
    bool exists() const;
    // Its bridge and its dnsmasq are there (file reads only: cheap enough for every launch).
    bool healthy() const;
    NetworkView describe() const;
    // MAC -> address of every lease dnsmasq holds (one read of its lease file).
    std::map<std::string, std::string> leases() const;

    // The container-side MAC and the host-side veth name of an instance: derived from its name,
    // so that vesseld finds its lease again after a restart without storing them.
    static std::string mac_for(const std::string& instance);
    static std::string host_interface_for(const std::string& instance);

  private:
    explicit BridgeNetwork(BridgeConfig config) : config_(std::move(config)) {}
    std::string subnet() const;  // "10.87.0.0/24"
    std::string prefix() const;  // "10.87.0."
    std::string table() const { return "vessel_" + config_.name; }
    Result<> ensure_bridge() const;
    Result<> ensure_nat() const;
    Result<> ensure_dnsmasq() const;
    std::optional<pid_t> running_dnsmasq() const;

    BridgeConfig config_;
};

}  // namespace vessel::manager
