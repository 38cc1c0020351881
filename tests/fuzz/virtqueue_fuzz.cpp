// The split virtqueue and its descriptor-chain walker, alone: a queue layout (fixed, or raw
// values the create() checks must judge) and guest RAM from the input, then chains popped, read,
// written, given back and pushed as a device would. Every chain pop() returns must hold only
// buffers wholly inside guest RAM, readable ones before writable ones, with the byte counts it
// claims; a broken ring must stay broken.
#include <cstdlib>
#include <vector>

#include "fuzz_input.h"
#include "vm/devices/virtio/split_queue.h"

using namespace vessel;
using namespace vessel::vm::virtio;

namespace {

constexpr uint64_t kRamBase = 0x1000;  // not at 0: address 0 is outside RAM here
constexpr uint64_t kRamSize = 64 * 1024;

void check_chain(const vm::GuestMemory& memory, const DescriptorChain& chain) {
    uint64_t readable = 0, writable = 0;
    bool seen_writable = false;
    for (const Segment& segment : chain.segments()) {
        if (memory.host_pointer(segment.guest_address, segment.length) != segment.host ||
            (segment.length && !segment.host))
            std::abort();
        if (segment.device_writable) seen_writable = true;
        if (!segment.device_writable && seen_writable) std::abort();
        (segment.device_writable ? writable : readable) += segment.length;
    }
    if (readable != chain.readable_bytes() || writable != chain.writable_bytes()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    uint8_t options = input.take<uint8_t>();
    QueueFeatures features{.indirect = (options & 1) != 0, .event_idx = (options & 2) != 0};
    QueueLayout layout{.size = static_cast<uint16_t>(1u << (input.take<uint8_t>() % 7)),
                       .descriptors = kRamBase,
                       .driver = kRamBase + 0x400,
                       .device = kRamBase + 0x800};
    if (options & 4) {  // the driver's own numbers, checked by create()
        layout.size = input.take<uint16_t>();
        layout.descriptors = input.take<uint64_t>();
        layout.driver = input.take<uint64_t>();
        layout.device = input.take<uint64_t>();
    }
    uint16_t max_size = (options & 8) ? 16 : 256;
    uint8_t budget = input.take<uint8_t>();

    vm::RamLayout ram{kRamBase, kRamSize};
    auto memory = vm::GuestMemory::create(std::span(&ram, 1));
    if (!memory) std::abort();
    auto image = input.take_bytes(kRamSize);
    if (!image.empty() && !memory->write(kRamBase, image)) std::abort();

    auto queue = SplitQueue::create(*memory, layout, max_size, features);
    if (!queue) return 0;
    if (queue->size() > max_size) std::abort();
    std::vector<uint8_t> scratch(4096);
    for (int i = 0; i < budget % 64; ++i) {
        auto popped = queue->pop();
        if (!popped) {
            if (!queue->broken()) std::abort();
            // Broken for good: nothing more comes out of it.
            if (auto again = queue->pop(); again && *again) std::abort();
            break;
        }
        if (!*popped) {
            (void)queue->enable_notification();
            break;
        }
        const DescriptorChain& chain = **popped;
        check_chain(*memory, chain);
        ChainReader reader(chain);
        uint64_t read = 0;
        while (reader.remaining()) {
            auto want = std::min<uint64_t>(reader.remaining(), 1 + (i * 37) % scratch.size());
            if (i % 3 == 0) {
                for (const iovec& part : reader.take(want))
                    read += part.iov_len;
            } else {
                if (!reader.read(std::span(scratch).first(want))) std::abort();
                read += want;
            }
        }
        if (read != chain.readable_bytes()) std::abort();
        ChainWriter writer(chain);
        uint64_t room = writer.remaining();
        if (i % 2) {
            while (writer.remaining())
                if (!writer.write(std::span(scratch).first(
                        std::min<uint64_t>(writer.remaining(), scratch.size()))))
                    std::abort();
        } else {
            uint64_t filled = 0;
            for (const iovec& part : writer.peek(room / 2))
                filled += part.iov_len;
            writer.commit(filled);
        }
        if (writer.written() > room) std::abort();
        if (i % 5 == 4) {
            queue->unpop(1);  // walked again by the next pop()
            continue;
        }
        queue->push(chain.head(), static_cast<uint32_t>(writer.written()));
        (void)queue->needs_interrupt();
    }
    return 0;
}
