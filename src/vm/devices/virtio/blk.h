// virtio-blk (virtio 1.2, 5.2): one request queue; read, write, flush, get-id, discard and
// write-zeroes on a BlockBackend. Every request is checked against the disk's capacity (no sector
// arithmetic can wrap) and its own buffers before the backend sees it; a request that breaks the
// rules fails with IOERR or UNSUPP and the device goes on.
#pragma once

#include <memory>
#include <string>

#include "vm/backends/block_backend.h"
#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

class BlockDevice final : public VirtioDevice {
  public:
    // `serial`: what GET_ID answers (at most 20 bytes, as /sys/block/vdX/serial shows it).
    BlockDevice(std::unique_ptr<BlockBackend> backend, std::string serial, std::string name);

    DeviceId id() const override { return DeviceId::block; }
    std::string name() const override { return name_; }
    uint64_t features() const override;
    std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize}; }
    uint64_t read_config(uint64_t offset, unsigned size) override;
    Result<> activate(DeviceContext& context, uint64_t negotiated) override;
    void queue_notified(uint16_t queue) override;
    void reset() override { context_ = nullptr; }

    static constexpr uint16_t kQueueSize = 256;

  private:
    uint8_t serve(const DescriptorChain& chain, ChainWriter& writer);
    uint8_t serve_ranges(uint32_t type, ChainReader& reader);

    std::unique_ptr<BlockBackend> backend_;
    std::string serial_;
    std::string name_;
    uint64_t capacity_sectors_;
    DeviceContext* context_ = nullptr;
};

}  // namespace vessel::vm::virtio
