// The VMM's side of the user-mode network: it starts `vessel-slirp` (found beside vessel-vmm) on
// one end of a SOCK_SEQPACKET pair and keeps the other as the NIC's backend, one Ethernet frame a
// message. The helper says "ready" (or why it cannot start) before any frame flows, and exits when
// the VMM's end closes, however the VMM ends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/process.h"
#include "base/unique_fd.h"
#include "vm/backends/net_backend.h"
#include "vm/boot/device_options.h"

namespace vessel::vm {

class UserNetworkBackend final : public NetBackend {
  public:
    // `helper`: the vessel-slirp binary.
    static Result<std::unique_ptr<UserNetworkBackend>> start(
        const std::string& helper, const std::vector<PortForward>& forwards);
    ~UserNetworkBackend() override;

    bool vnet_header() const override { return false; }
    int receive_fd() const override { return socket_.get(); }
    Result<size_t> receive(std::span<const iovec> buffers) override;
    Result<> send(std::span<const iovec> frame) override;
    Result<> set_offloads(bool, bool, bool, bool) override { return {}; }

  private:
    UserNetworkBackend(UniqueFd socket, Child helper)
        : socket_(std::move(socket)), helper_(std::move(helper)) {}

    UniqueFd socket_;
    Child helper_;
};

// The first message vessel-slirp sends: "ready", or "error: <why>".
inline constexpr const char* kUserNetworkReady = "ready";

}  // namespace vessel::vm
