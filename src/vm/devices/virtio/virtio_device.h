// A virtio device as its transport drives it: what it offers (id, features, queues, config space)
// and what it does once the driver is ready. The same device works behind any transport and any
// CPU engine; it sees guest memory, its queues and an interrupt, nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "vm/devices/virtio/split_queue.h"
#include "vm/devices/virtio/virtio_spec.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::virtio {

// What a device sees of its transport between DRIVER_OK and the next reset.
class DeviceContext {
  public:
    virtual ~DeviceContext() = default;
    // The queue, or nullptr when the driver did not enable it.
    virtual SplitQueue* queue(uint16_t index) = 0;
    // After push()es to `index`: interrupts the driver if it asked for that.
    virtual void signal_used(uint16_t index) = 0;
    // Kicks `index` again: a device that stops after a budget of chains, so that one busy queue
    // cannot starve the other devices on the I/O thread, comes back to the rest this way.
    virtual void notify_again(uint16_t index) = 0;
    // The configuration space changed: the generation moves on and the driver is interrupted.
    virtual void config_changed() = 0;
    // The device cannot go on (a broken queue, a failed backend): DEVICE_NEEDS_RESET, logged once.
    virtual void needs_reset(const Error& why) = 0;
    // Runs `handler` on the I/O thread with the device's lock held whenever `fd` has `events`; the
    // watch ends at the next reset or at unwatch(). `fd` must stay open until then.
    using WatchId = uint64_t;
    virtual Result<WatchId> watch(int fd, uint32_t events,
                                  std::function<void(uint32_t)> handler) = 0;
    virtual Result<> modify_watch(WatchId id, uint32_t events) = 0;
    // From the I/O thread only (a handler, queue_notified): a vCPU thread holding the device's
    // lock would wait for a handler that waits for that lock.
    virtual void unwatch(WatchId id) = 0;
    virtual const GuestMemory& memory() const = 0;
};

class VirtioDevice {
  public:
    virtual ~VirtioDevice() = default;
    virtual DeviceId id() const = 0;
    // For messages: "virtio-blk vda".
    virtual std::string name() const = 0;
    // Device-specific feature bits; the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX.
    virtual uint64_t features() const = 0;
    // One entry per queue: its largest size (a power of two).
    virtual std::vector<uint16_t> queue_max_sizes() const = 0;
    // The configuration space, little-endian; bytes beyond it read as 0, writes there are ignored.
    // Called on vCPU threads: a device whose config changes at run time synchronises it.
    virtual uint64_t read_config(uint64_t offset, unsigned size) = 0;
    virtual void write_config(uint64_t /*offset*/, unsigned /*size*/, uint64_t /*value*/) {}
    // DRIVER_OK, with the negotiated features. An error sets DEVICE_NEEDS_RESET.
    virtual Result<> activate(DeviceContext& context, uint64_t negotiated) = 0;
    // The driver kicked `queue` (on the I/O thread, the device's lock held).
    virtual void queue_notified(uint16_t queue) = 0;
    // The driver reset the device: every watch has ended; forget the context and queue state.
    virtual void reset() = 0;
};

// Chains one notification serves before the device yields the I/O thread (and notifies itself
// again): enough to drain a queue under load in one go, few enough that a guest that refills as
// fast as it is served cannot hold the thread.
inline constexpr int kChainsPerNotification = 256;

}  // namespace vessel::vm::virtio
