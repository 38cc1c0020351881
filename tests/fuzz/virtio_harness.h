// A virtio device driven without a transport or an I/O thread, so that one fuzz input is one
// deterministic run: guest RAM and every queue's rings come from the input, the device is
// activated with fuzz-chosen features and kicked queue by queue on this thread. What the
// transport would do with a device's requests (interrupts, re-kicks, fd watches, resets) is
// recorded or done here at once.
#pragma once

#include <sys/epoll.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "fuzz_input.h"
#include "vm/devices/virtio/virtio_device.h"
#include "vm/memory/guest_memory.h"

namespace vessel::fuzz {

// Guest RAM: small, at guest address 0, so that descriptor addresses the fuzzer writes land in it
// often. Queue q's rings sit at q * kQueueStride (descriptors, then the available ring at +0x400,
// the used ring at +0x800); buffers may be anywhere.
inline constexpr uint64_t kRamSize = 64 * 1024;
inline constexpr uint64_t kQueueStride = 0x1000;

class VirtioHarness final : public vm::virtio::DeviceContext {
  public:
    // Input layout: a byte of ring features (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX), 4 bytes masking
    // the device's own features, a byte of log2(queue size) per queue, a byte of kicks (each a
    // queue index), then guest RAM from address 0.
    static std::unique_ptr<VirtioHarness> create(vm::virtio::VirtioDevice& device,
                                                 FuzzInput& input);

    // Activates the device and delivers the kicks; at most `rounds` extra passes for re-kicks
    // (notify_again) and ready watches. Returns false when activation failed.
    bool run(int rounds = 8);

    // DeviceContext.
    vm::virtio::SplitQueue* queue(uint16_t index) override {
        return index < queues_.size() && queues_[index] ? &*queues_[index] : nullptr;
    }
    void signal_used(uint16_t index) override {
        if (auto* q = queue(index)) (void)q->needs_interrupt();
    }
    void notify_again(uint16_t index) override { rekick_.push_back(index); }
    void config_changed() override {}
    void needs_reset(const Error& why) override {
        if (why.message().empty()) std::abort();  // a reset always says which rule broke
        needs_reset_ = true;
    }
    Result<WatchId> watch(int fd, uint32_t events, std::function<void(uint32_t)> handler) override;
    Result<> modify_watch(WatchId id, uint32_t events) override;
    void unwatch(WatchId id) override { watches_.erase(id); }
    const vm::GuestMemory& memory() const override { return memory_; }

    bool broke() const { return needs_reset_; }

  private:
    VirtioHarness(vm::virtio::VirtioDevice& device, vm::GuestMemory memory)
        : device_(device), memory_(std::move(memory)) {}
    // Runs every watch whose fd is ready now (poll with no wait), as the I/O thread would.
    void dispatch_ready_watches();

    struct Watch {
        int fd;
        uint32_t events;
        std::function<void(uint32_t)> handler;
    };

    vm::virtio::VirtioDevice& device_;
    vm::GuestMemory memory_;
    uint64_t negotiated_ = 0;
    std::vector<std::optional<vm::virtio::SplitQueue>> queues_;
    std::vector<uint16_t> kicks_;
    std::vector<uint16_t> rekick_;
    std::map<WatchId, Watch> watches_;
    WatchId next_watch_ = 1;
    bool needs_reset_ = false;
};

}  // namespace vessel::fuzz
