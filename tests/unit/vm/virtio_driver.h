// A test's stand-in for a guest's virtio driver: lays out a split queue in guest memory and
// writes descriptors and ring entries exactly as the test says, hostile ones included.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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
    // Rings at fixed places near the start of RAM; buffers from kBuffers on.
    static constexpr uint64_t kDescriptors = kRamBase + 0x1000;
    static constexpr uint64_t kAvailable = kRamBase + 0x9000;
    static constexpr uint64_t kUsed = kRamBase + 0xa000;
    static constexpr uint64_t kBuffers = kRamBase + 0x10'0000;

    TestDriver(const GuestMemory& memory, uint16_t size) : memory_(memory), size_(size) {}

    QueueLayout layout() const {
        return {.size = size_, .descriptors = kDescriptors, .driver = kAvailable, .device = kUsed};
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
        set_descriptor(kDescriptors, index, d);
    }

    // Makes `head` available and bumps the index by `step` (1 for a well-behaved driver).
    void make_available(uint16_t head, uint16_t step = 1) {
        uint16_t index = available_index();
        ASSERT_TRUE(memory_.store<uint16_t>(kAvailable + 4 + 2 * (index % size_), head));
        ASSERT_TRUE(memory_.store<uint16_t>(kAvailable + 2, static_cast<uint16_t>(index + step)));
    }
    uint16_t available_index() const { return memory_.load<uint16_t>(kAvailable + 2).value(); }
    void set_available_flags(uint16_t flags) { ASSERT_TRUE(memory_.store(kAvailable, flags)); }
    void set_used_event(uint16_t event) {
        ASSERT_TRUE(memory_.store<uint16_t>(kAvailable + 4 + 2 * size_, event));
    }

    uint16_t used_index() const { return memory_.load<uint16_t>(kUsed + 2).value(); }
    std::pair<uint32_t, uint32_t> used_element(uint16_t slot) const {
        uint64_t at = kUsed + 4 + 8 * (slot % size_);
        return {memory_.load<uint32_t>(at).value(), memory_.load<uint32_t>(at + 4).value()};
    }
    uint16_t available_event() const {
        return memory_.load<uint16_t>(kUsed + 4 + 8 * size_).value();
    }

  private:
    const GuestMemory& memory_;
    uint16_t size_;
};

}  // namespace vessel::vm::virtio::testing
