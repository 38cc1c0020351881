// A split virtqueue (virtio 1.2, 2.7) in guest memory, seen from the device. Everything in the
// rings is the guest's to write at any moment, so nothing read from them is trusted: the layout is
// checked once when the driver enables the queue, and each chain is copied out of the rings and
// checked before the device sees it (indexes in range, no loops, no chain longer than the queue,
// no indirect table inside another, every buffer wholly inside guest RAM, device-writable buffers
// after device-readable ones). A ring that breaks a rule marks the queue broken: the device stops
// using it and asks for a reset, and no host memory outside guest RAM is ever touched.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::virtio {

// One buffer of a chain: a host pointer into guest RAM, checked at pop time.
struct Segment {
    uint8_t* host;
    uint64_t guest_address;
    uint32_t length;
    bool device_writable;
};

class DescriptorChain {
  public:
    uint16_t head() const { return head_; }
    std::span<const Segment> segments() const { return segments_; }
    // Device-readable segments come first (checked at pop time), device-writable ones after.
    std::span<const Segment> readable_segments() const {
        return std::span(segments_).first(readable_count_);
    }
    std::span<const Segment> writable_segments() const {
        return std::span(segments_).subspan(readable_count_);
    }
    uint64_t readable_bytes() const { return readable_; }
    uint64_t writable_bytes() const { return writable_; }
    const GuestMemory& memory() const { return *memory_; }

  private:
    friend class SplitQueue;
    const GuestMemory* memory_ = nullptr;
    uint16_t head_ = 0;
    std::vector<Segment> segments_;
    size_t readable_count_ = 0;
    uint64_t readable_ = 0;
    uint64_t writable_ = 0;
};

// Reads a chain's device-readable part in order. The chain must outlive it.
class ChainReader {
  public:
    explicit ChainReader(const DescriptorChain& chain);
    uint64_t remaining() const { return remaining_; }
    // All of `out`, or false (and nothing consumed) when fewer bytes remain.
    bool read(std::span<uint8_t> out);
    template <typename T>
    std::optional<T> read_object() {
        T value;
        if (!read(std::span(reinterpret_cast<uint8_t*>(&value), sizeof value))) return std::nullopt;
        return value;
    }
    // Up to `bytes` of what remains as iovecs (for writev/pwritev straight from guest memory),
    // consumed.
    std::vector<iovec> take(uint64_t bytes);

  private:
    std::span<const Segment> segments_;  // the chain's device-readable ones
    size_t index_ = 0;
    uint32_t offset_ = 0;
    uint64_t remaining_ = 0;
};

// Writes a chain's device-writable part in order, counting what it wrote for the used ring. The
// chain must outlive it.
class ChainWriter {
  public:
    explicit ChainWriter(const DescriptorChain& chain);
    uint64_t remaining() const { return remaining_; }
    uint64_t written() const { return written_; }
    bool write(std::span<const uint8_t> data);
    template <typename T>
    bool write_object(const T& value) {
        return write(std::span(reinterpret_cast<const uint8_t*>(&value), sizeof value));
    }
    // Up to `bytes` of the remaining space as iovecs (for readv/preadv into guest memory); the
    // caller reports how much it filled with commit().
    std::vector<iovec> peek(uint64_t bytes) const;
    void commit(uint64_t bytes);

  private:
    const GuestMemory& memory_;  // told what was written (GuestMemory::device_wrote)
    std::span<const Segment> segments_;  // the chain's device-writable ones
    size_t index_ = 0;
    uint32_t offset_ = 0;
    uint64_t remaining_ = 0;
    uint64_t written_ = 0;
};

struct QueueLayout {
    uint16_t size = 0;
    uint64_t descriptors = 0;  // QueueDesc
    uint64_t driver = 0;       // the available ring (QueueDriver)
    uint64_t device = 0;       // the used ring (QueueDevice)
};

struct QueueFeatures {
    bool indirect = false;   // VIRTIO_F_RING_INDIRECT_DESC negotiated
    bool event_idx = false;  // VIRTIO_F_RING_EVENT_IDX negotiated
};

class SplitQueue {
  public:
    // The largest table an indirect descriptor may point at, as QEMU allows.
    static constexpr uint32_t kMaxIndirectDescriptors = 1024;

    // Checks the layout the driver wrote: a power-of-two size no larger than `max_size`, each area
    // aligned as the spec asks and wholly in guest RAM.
    static Result<SplitQueue> create(const GuestMemory& memory, const QueueLayout& layout,
                                     uint16_t max_size, QueueFeatures features);

    uint16_t size() const { return size_; }
    bool broken() const { return broken_; }

    // The next chain the driver made available, nullopt when there is none, an error naming the
    // broken rule (the queue is then broken for good: the device must ask for a reset).
    Result<std::optional<DescriptorChain>> pop();
    // Gives back the last `count` chains pop() returned, unused (a frame that needs more receive
    // buffers than are available waits whole); the next pop() walks them again.
    void unpop(uint16_t count) { last_available_ = static_cast<uint16_t>(last_available_ - count); }
    // Hands a chain back with `written` bytes in its device-writable part.
    void push(uint16_t head, uint32_t written);
    // After push(): whether the driver wants an interrupt for what was pushed since last asked.
    bool needs_interrupt();
    // Asks the driver to notify the device of the next available buffer; true when buffers are
    // already available (process again, or a kick could be lost).
    bool enable_notification();

  private:
    SplitQueue(const GuestMemory& memory, uint16_t size, uint8_t* descriptors, uint8_t* available,
               uint8_t* used, QueueFeatures features)
        : memory_(&memory),
          size_(size),
          descriptors_(descriptors),
          available_(available),
          used_(used),
          features_(features) {}
    Result<DescriptorChain> walk(uint16_t head) const;
    Result<std::optional<DescriptorChain>> fail_queue(Error error);

    const GuestMemory* memory_;
    uint16_t size_;
    uint8_t* descriptors_;
    uint8_t* available_;
    uint8_t* used_;
    QueueFeatures features_;
    uint16_t last_available_ = 0;
    uint16_t used_index_ = 0;
    uint16_t signalled_used_ = 0;
    bool pushed_since_signal_ = false;
    bool broken_ = false;
};

}  // namespace vessel::vm::virtio
