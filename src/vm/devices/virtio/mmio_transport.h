// The virtio-mmio transport, register layout version 2 (virtio 1.2, 4.2): the device's window on
// the bus, feature negotiation, the queues' set-up, notifications and the interrupt. Every value
// the driver writes is checked: a queue set-up that breaks the spec, a broken ring or a failing
// device sets DEVICE_NEEDS_RESET and the VMM carries on; a notification before DRIVER_OK is
// dropped. Register accesses come from vCPU threads; device work runs on the I/O thread, which a
// queue notification reaches through an eventfd (on KVM, the same eventfd as an ioeventfd, so the
// vCPU does not even exit).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "vm/devices/bus_device.h"
#include "vm/devices/event_loop.h"
#include "vm/devices/virtio/virtio_device.h"

namespace vessel::vm::virtio {

class MmioTransport final : public BusDevice, private DeviceContext {
  public:
    static Result<std::unique_ptr<MmioTransport>> create(VirtioDevice& device,
                                                         const GuestMemory& memory,
                                                         InterruptLine& interrupt, EventLoop& loop,
                                                         const Logger& log);
    ~MmioTransport() override;

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

    // What the transport signals when the driver writes `queue` to QueueNotify.
    int notify_fd(uint16_t queue) const { return queues_[queue].kick.fd(); }
    size_t queue_count() const { return queues_.size(); }
    uint32_t status() const { return status_.load(); }

  private:
    struct Queue {
        EventFd kick;
        EventLoop::Token kick_watch = 0;
        uint16_t max_size = 0;
        QueueLayout layout;
        bool ready = false;
        std::optional<SplitQueue> ring;
    };

    MmioTransport(VirtioDevice& device, const GuestMemory& memory, InterruptLine& interrupt,
                  EventLoop& loop, const Logger& log)
        : device_(device), memory_(memory), interrupt_(interrupt), loop_(loop), log_(log) {}

    void write_status(uint32_t value);
    void write_queue_register(uint64_t offset, uint32_t value);
    void reset_device();
    void activate_device();
    void raise(uint32_t bits);
    void on_kick(uint16_t index);

    // DeviceContext, for the device while it is active.
    SplitQueue* queue(uint16_t index) override;
    void signal_used(uint16_t index) override;
    void notify_again(uint16_t index) override { queues_[index].kick.signal(); }
    void config_changed() override;
    void needs_reset(const Error& why) override;
    Result<WatchId> watch(int fd, uint32_t events, std::function<void(uint32_t)> handler) override;
    Result<> modify_watch(WatchId id, uint32_t events) override;
    void unwatch(WatchId id) override;
    const GuestMemory& memory() const override { return memory_; }

    VirtioDevice& device_;
    const GuestMemory& memory_;
    InterruptLine& interrupt_;
    EventLoop& loop_;
    const Logger& log_;
    uint64_t offered_ = 0;

    // Lock order: registers_, then (through EventLoop::unwatch) the loop's dispatch, then work_,
    // then interrupt_. The I/O thread takes only the last two.
    std::mutex registers_;  // the driver-visible registers below, on vCPU threads
    uint32_t device_features_select_ = 0;
    uint32_t driver_features_select_ = 0;
    uint64_t driver_features_ = 0;
    uint32_t queue_select_ = 0;
    std::vector<Queue> queues_;

    std::mutex work_;  // the device's state and the rings, while the device runs
    bool active_ = false;
    std::vector<EventLoop::Token> device_watches_;

    std::mutex interrupt_mutex_;
    uint32_t interrupt_status_ = 0;

    std::atomic<uint32_t> status_{0};
    std::atomic<uint32_t> config_generation_{0};
    std::atomic<bool> reported_reset_{false};
};

}  // namespace vessel::vm::virtio
