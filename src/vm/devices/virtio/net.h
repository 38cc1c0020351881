// virtio-net (virtio 1.2, 5.1): one receive and one transmit queue on a NetBackend. Mergeable
// receive buffers, so a 64 KiB segment fits however the guest sized its buffers; with a TAP the
// checksum and TSO offloads pass through in the virtio net header, with the user-mode backend
// frames are plain. A frame that fits nowhere is dropped, as on a wire; a ring that breaks the
// rules needs a reset.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "vm/backends/net_backend.h"
#include "vm/boot/device_options.h"
#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

class NetDevice final : public VirtioDevice {
  public:
    NetDevice(std::unique_ptr<NetBackend> backend, MacAddress mac, std::string name);

    DeviceId id() const override { return DeviceId::net; }
    std::string name() const override { return name_; }
    uint64_t features() const override;
    std::vector<uint16_t> queue_max_sizes() const override { return {256, 256}; }
    uint64_t read_config(uint64_t offset, unsigned size) override;
    Result<> activate(DeviceContext& context, uint64_t negotiated) override;
    void queue_notified(uint16_t queue) override;
    void reset() override;

    // The largest frame either way, Ethernet header included (a 64 KiB TSO segment).
    static constexpr size_t kMaxFrame = 65550;

  private:
    void receive_frames();
    // Places the frame held in the bounce buffer; false when the guest has no room for it yet.
    bool deliver_frame();
    void transmit();
    void set_receive_watch(bool on);

    std::unique_ptr<NetBackend> backend_;
    MacAddress mac_;
    std::string name_;
    DeviceContext* context_ = nullptr;
    bool mergeable_ = false;
    DeviceContext::WatchId receive_watch_ = 0;
    bool receive_watched_ = false;
    std::vector<uint8_t> bounce_;  // header + frame
    size_t held_ = 0;              // bytes of a frame waiting in bounce_ for receive buffers
    std::vector<uint8_t> transmit_buffer_;
};

}  // namespace vessel::vm::virtio
