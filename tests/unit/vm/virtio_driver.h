// A test's stand-in for a guest's virtio driver: lays out a split queue in guest memory and
// writes descriptors and ring entries exactly as the test says, hostile ones included.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/log.h"
#include "vm/devices/event_loop.h"
#include "vm/devices/virtio/mmio_transport.h"
#include "vm/devices/virtio/split_queue.h"
#include "vm/devices/virtio/virtio_spec.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::virtio::testing {

inline constexpr uint64_t kRamBase = 0x8000'0000;
inline constexpr uint64_t kRamSize = 4 << 20;

inline GuestMemory make_ram() {
    RamLayout layout{kRamBase, kRamSize};
    return GuestMemory::create(std::span(&layout, 1)).value();
}

struct DescriptorSpec {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};

class TestDriver {
  public:
    // Queue 0's rings at fixed places near the start of RAM (other queues' further on, see
    // `queue`); buffers from kBuffers on.
    static constexpr uint64_t kDescriptors = kRamBase + 0x1000;
    static constexpr uint64_t kAvailable = kRamBase + 0x9000;
    static constexpr uint64_t kUsed = kRamBase + 0xa000;
    static constexpr uint64_t kBuffers = kRamBase + 0x10'0000;
    static constexpr uint64_t kQueueStride = 0x1'0000;

    TestDriver(const GuestMemory& memory, uint16_t size, uint16_t queue = 0)
        : memory_(memory), size_(size), offset_(queue * kQueueStride) {}

    QueueLayout layout() const {
        return {.size = size_,
                .descriptors = kDescriptors + offset_,
                .driver = kAvailable + offset_,
                .device = kUsed + offset_};
    }
    // Zeroes the rings, as a driver's fresh allocation after a reset.
    void clear_rings() {
        ASSERT_TRUE(memory_.write(kAvailable + offset_, std::vector<uint8_t>(6 + 2u * size_)));
        ASSERT_TRUE(memory_.write(kUsed + offset_, std::vector<uint8_t>(6 + 8u * size_)));
    }

    void set_descriptor(uint64_t table, uint16_t index, const DescriptorSpec& d) {
        uint8_t raw[16];
        std::memcpy(raw, &d.address, 8);
        std::memcpy(raw + 8, &d.length, 4);
        std::memcpy(raw + 12, &d.flags, 2);
        std::memcpy(raw + 14, &d.next, 2);
        ASSERT_TRUE(memory_.write(table + 16u * index, raw));
    }
    void set_descriptor(uint16_t index, const DescriptorSpec& d) {
        set_descriptor(kDescriptors + offset_, index, d);
    }

    // Makes `head` available and bumps the index by `step` (1 for a well-behaved driver).
    void make_available(uint16_t head, uint16_t step = 1) {
        uint16_t index = available_index();
        uint64_t ring = kAvailable + offset_;
        ASSERT_TRUE(memory_.store<uint16_t>(ring + 4 + 2 * (index % size_), head));
        ASSERT_TRUE(memory_.store<uint16_t>(ring + 2, static_cast<uint16_t>(index + step)));
    }
    uint16_t available_index() const {
        return memory_.load<uint16_t>(kAvailable + offset_ + 2).value();
    }
    void set_available_flags(uint16_t flags) {
        ASSERT_TRUE(memory_.store(kAvailable + offset_, flags));
    }
    void set_used_event(uint16_t event) {
        ASSERT_TRUE(memory_.store<uint16_t>(kAvailable + offset_ + 4 + 2 * size_, event));
    }

    uint16_t used_index() const { return memory_.load<uint16_t>(kUsed + offset_ + 2).value(); }
    std::pair<uint32_t, uint32_t> used_element(uint16_t slot) const {
        uint64_t at = kUsed + offset_ + 4 + 8 * (slot % size_);
        return {memory_.load<uint32_t>(at).value(), memory_.load<uint32_t>(at + 4).value()};
    }
    uint16_t available_event() const {
        return memory_.load<uint16_t>(kUsed + offset_ + 4 + 8 * size_).value();
    }
    // Waits (a few seconds at most) until the device has used `count` buffers in all.
    bool wait_used(uint16_t count) const {
        for (int i = 0; i < 1000 && used_index() != count; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return used_index() == count;
    }

  private:
    const GuestMemory& memory_;
    uint16_t size_;
    uint64_t offset_;
};

class Line : public InterruptLine {
  public:
    void set_level(bool asserted) override { level = asserted; }
    std::atomic<bool> level{false};
};

// A device behind a real MmioTransport and I/O thread, and the register writes of Linux's
// virtio_mmio driver to bring it up.
class TransportHarness {
  public:
    explicit TransportHarness(const GuestMemory& memory) : memory_(memory) {
        loop_ = EventLoop::create().value();
        EXPECT_TRUE(loop_->start());
    }
    ~TransportHarness() {
        transport_.reset();
        loop_->stop();
    }

    void attach(VirtioDevice& device) {
        transport_ = MmioTransport::create(device, memory_, line, *loop_, log_).value();
    }
    MmioTransport& transport() { return *transport_; }
    EventLoop& loop() { return *loop_; }

    uint32_t get(uint64_t offset) { return static_cast<uint32_t>(transport_->read(offset, 4)); }
    void set(uint64_t offset, uint32_t value) { transport_->write(offset, 4, value); }

    // Reset, ACKNOWLEDGE, DRIVER, the features, FEATURES_OK.
    void negotiate(uint64_t features) {
        set(mmio::status_register, 0);
        set(mmio::status_register, status::acknowledge);
        set(mmio::status_register, status::acknowledge | status::driver);
        set(mmio::driver_features_sel, 0);
        set(mmio::driver_features, static_cast<uint32_t>(features));
        set(mmio::driver_features_sel, 1);
        set(mmio::driver_features, static_cast<uint32_t>(features >> 32));
        set(mmio::status_register, status::acknowledge | status::driver | status::features_ok);
    }
    void set_up_queue(uint16_t index, const QueueLayout& layout) {
        set(mmio::queue_sel, index);
        set(mmio::queue_num, layout.size);
        set(mmio::queue_desc_low, static_cast<uint32_t>(layout.descriptors));
        set(mmio::queue_desc_high, static_cast<uint32_t>(layout.descriptors >> 32));
        set(mmio::queue_driver_low, static_cast<uint32_t>(layout.driver));
        set(mmio::queue_driver_high, static_cast<uint32_t>(layout.driver >> 32));
        set(mmio::queue_device_low, static_cast<uint32_t>(layout.device));
        set(mmio::queue_device_high, static_cast<uint32_t>(layout.device >> 32));
        set(mmio::queue_ready, 1);
    }
    void driver_ok() {
        set(mmio::status_register,
            status::acknowledge | status::driver | status::features_ok | status::driver_ok);
    }
    // The whole bring-up with VERSION_1 and the given queues.
    void bring_up(std::initializer_list<const TestDriver*> queues) {
        negotiate(feature::version_1);
        uint16_t index = 0;
        for (const TestDriver* queue : queues)
            set_up_queue(index++, queue->layout());
        driver_ok();
    }
    void notify(uint16_t queue) { set(mmio::queue_notify, queue); }

    Line line;

  private:
    const GuestMemory& memory_;
    Logger log_ = Logger::borrowing(2, LogFormat::text, LogLevel::error);
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<MmioTransport> transport_;
};

inline bool wait_until(const std::function<bool()>& condition) {
    for (int i = 0; i < 1000; ++i) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return condition();
}

}  // namespace vessel::vm::virtio::testing
