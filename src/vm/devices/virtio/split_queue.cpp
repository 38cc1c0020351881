#include "vm/devices/virtio/split_queue.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "vm/devices/virtio/virtio_spec.h"

namespace vessel::vm::virtio {

namespace {

struct Descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

// The rings are shared with guest vCPUs that write them concurrently: every field is read and
// written whole, with the orderings the spec's memory barriers ask for.
uint16_t load16(const uint8_t* at, int order = __ATOMIC_RELAXED) {
    return __atomic_load_n(reinterpret_cast<const uint16_t*>(at), order);
}
void store16(uint8_t* at, uint16_t value, int order = __ATOMIC_RELAXED) {
    __atomic_store_n(reinterpret_cast<uint16_t*>(at), value, order);
}
void store32(uint8_t* at, uint32_t value) {
    __atomic_store_n(reinterpret_cast<uint32_t*>(at), value, __ATOMIC_RELAXED);
}

// A descriptor copied out of the table once: the guest may rewrite the table meanwhile, the
// device only ever uses the copy it checked.
Descriptor copy_descriptor(const uint8_t* table, uint32_t index) {
    Descriptor descriptor;
    std::memcpy(&descriptor, table + size_t{index} * sizeof(Descriptor), sizeof descriptor);
    return descriptor;
}

uint8_t* area(const GuestMemory& memory, uint64_t gpa, uint64_t length) {
    return memory.host_pointer(gpa, length);
}

}  // namespace

ChainReader::ChainReader(const DescriptorChain& chain)
    : segments_(chain.readable_segments()), remaining_(chain.readable_bytes()) {}

bool ChainReader::read(std::span<uint8_t> out) {
    if (out.size() > remaining_) return false;
    size_t done = 0;
    while (done < out.size()) {
        const Segment& segment = segments_[index_];
        size_t chunk = std::min<size_t>(out.size() - done, segment.length - offset_);
        std::memcpy(out.data() + done, segment.host + offset_, chunk);
        done += chunk;
        offset_ += static_cast<uint32_t>(chunk);
        if (offset_ == segment.length) {
            ++index_;
            offset_ = 0;
        }
    }
    remaining_ -= out.size();
    return true;
}

std::vector<iovec> ChainReader::take(uint64_t bytes) {
    std::vector<iovec> vectors;
    bytes = std::min(bytes, remaining_);
    remaining_ -= bytes;
    while (bytes > 0) {
        const Segment& segment = segments_[index_];
        uint32_t chunk = static_cast<uint32_t>(std::min<uint64_t>(bytes, segment.length - offset_));
        vectors.push_back({.iov_base = segment.host + offset_, .iov_len = chunk});
        bytes -= chunk;
        offset_ += chunk;
        if (offset_ == segment.length) {
            ++index_;
            offset_ = 0;
        }
    }
    return vectors;
}

ChainWriter::ChainWriter(const DescriptorChain& chain)
    : memory_(chain.memory()),
      segments_(chain.writable_segments()),
      remaining_(chain.writable_bytes()) {}

bool ChainWriter::write(std::span<const uint8_t> data) {
    if (data.size() > remaining_) return false;
    size_t done = 0;
    while (done < data.size()) {
        const Segment& segment = segments_[index_];
        size_t chunk = std::min<size_t>(data.size() - done, segment.length - offset_);
        std::memcpy(segment.host + offset_, data.data() + done, chunk);
        memory_.device_wrote(segment.guest_address + offset_, chunk);
        done += chunk;
        offset_ += static_cast<uint32_t>(chunk);
        if (offset_ == segment.length) {
            ++index_;
            offset_ = 0;
        }
    }
    remaining_ -= data.size();
    written_ += data.size();
    return true;
}

std::vector<iovec> ChainWriter::peek(uint64_t bytes) const {
    std::vector<iovec> vectors;
    bytes = std::min(bytes, remaining_);
    size_t index = index_;
    uint32_t offset = offset_;
    while (bytes > 0) {
        const Segment& segment = segments_[index];
        uint32_t chunk = static_cast<uint32_t>(std::min<uint64_t>(bytes, segment.length - offset));
        vectors.push_back({.iov_base = segment.host + offset, .iov_len = chunk});
        bytes -= chunk;
        ++index;
        offset = 0;
    }
    return vectors;
}

void ChainWriter::commit(uint64_t bytes) {
    bytes = std::min(bytes, remaining_);
    remaining_ -= bytes;
    written_ += bytes;
    while (bytes > 0) {
        const Segment& segment = segments_[index_];
        uint32_t chunk = static_cast<uint32_t>(std::min<uint64_t>(bytes, segment.length - offset_));
        memory_.device_wrote(segment.guest_address + offset_, chunk);
        bytes -= chunk;
        offset_ += chunk;
        if (offset_ == segment.length) {
            ++index_;
            offset_ = 0;
        }
    }
}

Result<SplitQueue> SplitQueue::create(const GuestMemory& memory, const QueueLayout& layout,
                                      uint16_t max_size, QueueFeatures features) {
    uint16_t size = layout.size;
    if (size == 0 || size > max_size || !std::has_single_bit(size))
        return fail("queue size {} is not a power of two from 1 to {}", size, max_size);
    // Section 2.7: descriptor table 16-byte aligned, available ring 2, used ring 4; the rings
    // include the event-index fields whether or not that feature is negotiated.
    uint64_t descriptor_bytes = uint64_t{16} * size;
    uint64_t available_bytes = 6 + uint64_t{2} * size;
    uint64_t used_bytes = 6 + uint64_t{8} * size;
    if (layout.descriptors % 16 || layout.driver % 2 || layout.device % 4)
        return fail("queue areas are misaligned (descriptors {:#x}, driver {:#x}, device {:#x})",
                    layout.descriptors, layout.driver, layout.device);
    uint8_t* descriptors = area(memory, layout.descriptors, descriptor_bytes);
    uint8_t* available = area(memory, layout.driver, available_bytes);
    uint8_t* used = area(memory, layout.device, used_bytes);
    if (!descriptors || !available || !used)
        return fail(
            "queue areas lie outside guest RAM (descriptors {:#x}, driver {:#x}, device "
            "{:#x}, size {})",
            layout.descriptors, layout.driver, layout.device, size);
    // Both indexes start at zero, as the driver's do (section 2.7.13): a ring whose available
    // index is already far ahead is caught at the first pop().
    return SplitQueue(memory, size, descriptors, available, used, features);
}

Result<std::optional<DescriptorChain>> SplitQueue::fail_queue(Error error) {
    broken_ = true;
    return std::unexpected(std::move(error));
}

Result<std::optional<DescriptorChain>> SplitQueue::pop() {
    if (broken_) return std::unexpected(Error("the queue is broken until the device is reset"));
    // Acquire: the ring entries and descriptors the driver wrote before bumping idx are visible.
    uint16_t available_index = load16(available_ + 2, __ATOMIC_ACQUIRE);
    uint16_t pending = static_cast<uint16_t>(available_index - last_available_);
    if (pending == 0) return std::optional<DescriptorChain>{};
    if (pending > size_)
        return fail_queue(Error(fmt::format(
            "available index {} is {} ahead of the device's {}, more than the queue's size {}",
            available_index, pending, last_available_, size_)));
    uint16_t head = load16(available_ + 4 + 2 * (last_available_ % size_));
    auto chain = walk(head);
    if (!chain) return fail_queue(chain.error());
    ++last_available_;
    return std::optional<DescriptorChain>(std::move(*chain));
}

Result<DescriptorChain> SplitQueue::walk(uint16_t head) const {
    if (head >= size_) return fail("descriptor head {} is beyond the queue's size {}", head, size_);
    DescriptorChain chain;
    chain.head_ = head;
    chain.memory_ = memory_;
    const uint8_t* table = descriptors_;
    uint32_t table_size = size_;
    uint32_t index = head;
    uint32_t walked = 0;
    bool in_indirect = false;
    for (;;) {
        // A chain visits each descriptor of its table at most once: more steps than the table
        // has entries is a loop (or a chain longer than the spec allows).
        if (++walked > table_size)
            return fail("descriptor chain from {} is longer than its table of {} (a loop?)", head,
                        table_size);
        Descriptor descriptor = copy_descriptor(table, index);
        if (descriptor.flags & descriptor::indirect) {
            if (!features_.indirect)
                return fail("descriptor {} is indirect, which was not negotiated", index);
            if (in_indirect)
                return fail("descriptor {} of an indirect table points at another table", index);
            if (descriptor.flags & descriptor::next)
                return fail("indirect descriptor {} also has NEXT set", index);
            if (descriptor.length == 0 || descriptor.length % sizeof(Descriptor) != 0 ||
                descriptor.length / sizeof(Descriptor) > kMaxIndirectDescriptors)
                return fail("indirect table of {} bytes is empty, ragged or larger than {} entries",
                            descriptor.length, kMaxIndirectDescriptors);
            table = memory_->host_pointer(descriptor.address, descriptor.length);
            if (!table)
                return fail("indirect table at {:#x} ({} bytes) lies outside guest RAM",
                            descriptor.address, descriptor.length);
            table_size = descriptor.length / sizeof(Descriptor);
            index = 0;
            walked = 0;
            in_indirect = true;
            continue;
        }
        bool writable = descriptor.flags & descriptor::write;
        if (!writable && chain.writable_ > 0)
            return fail("descriptor {} is device-readable but follows a device-writable one",
                        index);
        if (descriptor.length > 0) {
            uint8_t* host = memory_->host_pointer(descriptor.address, descriptor.length);
            if (!host)
                return fail("buffer at {:#x} ({} bytes) lies outside guest RAM", descriptor.address,
                            descriptor.length);
            chain.segments_.push_back({.host = host,
                                       .guest_address = descriptor.address,
                                       .length = descriptor.length,
                                       .device_writable = writable});
            (writable ? chain.writable_ : chain.readable_) += descriptor.length;
            if (!writable) chain.readable_count_ = chain.segments_.size();
        }
        if (!(descriptor.flags & descriptor::next)) return chain;
        if (descriptor.next >= table_size)
            return fail("descriptor {} links to {}, beyond its table of {}", index, descriptor.next,
                        table_size);
        index = descriptor.next;
    }
}

void SplitQueue::push(uint16_t head, uint32_t written) {
    uint8_t* element = used_ + 4 + 8 * (used_index_ % size_);
    store32(element, head);
    store32(element + 4, written);
    ++used_index_;
    // Release: the element is visible before the index that publishes it.
    store16(used_ + 2, used_index_, __ATOMIC_RELEASE);
    pushed_since_signal_ = true;
}

bool SplitQueue::needs_interrupt() {
    if (!pushed_since_signal_) return false;
    pushed_since_signal_ = false;
    // The used index store must be ordered before reading the driver's wish (section 2.7.10).
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!features_.event_idx) {
        signalled_used_ = used_index_;
        return !(load16(available_) & descriptor::avail_no_interrupt);
    }
    uint16_t used_event = load16(available_ + 4 + 2 * size_);
    uint16_t old = signalled_used_;
    signalled_used_ = used_index_;
    // vring_need_event: the driver's event index lies in (old, new].
    return static_cast<uint16_t>(used_index_ - used_event - 1) <
           static_cast<uint16_t>(used_index_ - old);
}

bool SplitQueue::enable_notification() {
    if (features_.event_idx) store16(used_ + 4 + 8 * size_, last_available_);
    // Publish the wish before looking again, or a buffer made in between could go unnoticed.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return load16(available_ + 2, __ATOMIC_ACQUIRE) != last_available_;
}

}  // namespace vessel::vm::virtio
