// virtio-rng (virtio 1.2, 5.4): the guest's entropy source, filled from the host's getrandom. One
// request queue, no configuration.
#pragma once

#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

class RngDevice final : public VirtioDevice {
  public:
    DeviceId id() const override { return DeviceId::entropy; }
    std::string name() const override { return "virtio-rng"; }
    uint64_t features() const override { return 0; }
    std::vector<uint16_t> queue_max_sizes() const override { return {256}; }
    uint64_t read_config(uint64_t, unsigned) override { return 0; }
    Result<> activate(DeviceContext& context, uint64_t negotiated) override;
    void queue_notified(uint16_t queue) override;
    void reset() override { context_ = nullptr; }

  private:
    DeviceContext* context_ = nullptr;
};

}  // namespace vessel::vm::virtio
