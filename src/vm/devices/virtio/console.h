// virtio-console (virtio 1.2, 5.3), one port: the guest's hvc0. What the guest writes goes to the
// host output at once; host input waits in a bounded buffer for the receive buffers the guest
// offers. Like the UART it stands in for, it knows nothing of the CPU engine.
#pragma once

#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vm/devices/event_loop.h"
#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

class ConsoleDevice final : public VirtioDevice {
  public:
    using Output = std::function<void(std::span<const uint8_t>)>;

    static Result<std::unique_ptr<ConsoleDevice>> create(Output output);

    DeviceId id() const override { return DeviceId::console; }
    std::string name() const override { return "virtio-console"; }
    uint64_t features() const override { return 0; }
    // receiveq0 and transmitq0.
    std::vector<uint16_t> queue_max_sizes() const override { return {64, 64}; }
    uint64_t read_config(uint64_t offset, unsigned size) override;
    Result<> activate(DeviceContext& context, uint64_t negotiated) override;
    void queue_notified(uint16_t queue) override;
    void reset() override;

    // Host input from any thread: takes as many bytes as the buffer has room for and returns
    // that count; the caller offers the rest again later.
    size_t receive(std::span<const uint8_t> bytes);

    static constexpr size_t kInputBuffer = 64 * 1024;

  private:
    explicit ConsoleDevice(Output output, EventFd input_ready)
        : output_(std::move(output)), input_ready_(std::move(input_ready)) {}
    void deliver_input();
    void transmit();

    Output output_;
    EventFd input_ready_;
    DeviceContext* context_ = nullptr;
    std::mutex input_mutex_;
    std::deque<uint8_t> input_;
};

}  // namespace vessel::vm::virtio
