// A TAP interface as a NIC's host side: an existing one by name, or a new one attached to a
// bridge (the manager's vessel0, say), which the kernel removes when the VMM exits. Frames carry
// the virtio net header (IFF_VNET_HDR), so the guest's checksum and TSO offloads cost nothing.
#pragma once

#include <memory>
#include <string>

#include "base/unique_fd.h"
#include "vm/backends/net_backend.h"

namespace vessel::vm {

class TapBackend final : public NetBackend {
  public:
    // `name` must already exist as a TAP interface (`ip tuntap add NAME mode tap`).
    static Result<std::unique_ptr<TapBackend>> open_existing(const std::string& name);
    // A new TAP, up and attached to the existing bridge `bridge`.
    static Result<std::unique_ptr<TapBackend>> create_on_bridge(const std::string& bridge);

    const std::string& name() const { return name_; }
    bool vnet_header() const override { return true; }
    int receive_fd() const override { return fd_.get(); }
    Result<size_t> receive(std::span<const iovec> buffers) override;
    Result<> send(std::span<const iovec> frame) override;
    Result<> set_offloads(bool checksum, bool tso4, bool tso6, bool ecn) override;

  private:
    TapBackend(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
    static Result<std::unique_ptr<TapBackend>> attach(const std::string& name, bool must_exist);

    UniqueFd fd_;
    std::string name_;
};

}  // namespace vessel::vm
