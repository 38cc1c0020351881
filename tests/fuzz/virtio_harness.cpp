#include "virtio_harness.h"

#include <poll.h>

#include <bit>

namespace vessel::fuzz {

using namespace vm::virtio;

std::unique_ptr<VirtioHarness> VirtioHarness::create(VirtioDevice& device, FuzzInput& input) {
    uint8_t ring_features = input.take<uint8_t>();
    uint64_t negotiated = feature::version_1;
    if (ring_features & 1) negotiated |= feature::ring_indirect_desc;
    if (ring_features & 2) negotiated |= feature::ring_event_idx;
    // The fuzzer picks among what the device offers, as a driver does.
    negotiated |= device.features() & input.take<uint32_t>();
    auto max_sizes = device.queue_max_sizes();
    std::vector<QueueLayout> layouts;
    for (size_t q = 0; q < max_sizes.size(); ++q) {
        // log2 of the size, up to the device's maximum and what fits a 1 KiB descriptor table.
        unsigned shift = input.take<uint8_t>() % 7;
        uint16_t size = static_cast<uint16_t>(std::min<unsigned>(1u << shift, max_sizes[q]));
        uint64_t base = q * kQueueStride;
        layouts.push_back(
            {.size = size, .descriptors = base, .driver = base + 0x400, .device = base + 0x800});
    }
    std::vector<uint16_t> kicks;
    uint8_t kick_byte = input.take<uint8_t>();
    for (int i = 0; i < 4; ++i)
        kicks.push_back(static_cast<uint16_t>((kick_byte >> (2 * i)) & 3));

    vm::RamLayout ram{0, kRamSize};
    auto memory = vm::GuestMemory::create(std::span(&ram, 1));
    if (!memory) std::abort();
    auto image = input.take_bytes(kRamSize);
    if (!image.empty() && !memory->write(0, image)) std::abort();

    // On the heap: the queues and the device keep pointers to the harness and its memory.
    std::unique_ptr<VirtioHarness> harness(new VirtioHarness(device, std::move(*memory)));
    harness->negotiated_ = negotiated;
    harness->kicks_ = std::move(kicks);
    QueueFeatures features{.indirect = (negotiated & feature::ring_indirect_desc) != 0,
                           .event_idx = (negotiated & feature::ring_event_idx) != 0};
    for (size_t q = 0; q < layouts.size(); ++q) {
        auto ring = SplitQueue::create(harness->memory_, layouts[q], max_sizes[q], features);
        // Our layout always satisfies the rules: a refusal would be a bug in the checks.
        if (!ring) std::abort();
        harness->queues_.emplace_back(std::move(*ring));
    }
    return harness;
}

bool VirtioHarness::run(int rounds) {
    if (!device_.activate(*this, negotiated_)) return false;
    // What the host has ready goes first (a connection accepted, then its first bytes read), so
    // that the guest's packets in RAM can answer it.
    dispatch_ready_watches();
    dispatch_ready_watches();
    for (uint16_t q : kicks_)
        if (queue(q)) device_.queue_notified(q);
    for (int round = 0; round < rounds; ++round) {
        dispatch_ready_watches();
        auto again = std::exchange(rekick_, {});
        if (again.empty() && round > 0) break;
        for (uint16_t q : again)
            if (queue(q)) device_.queue_notified(q);
    }
    device_.reset();
    return true;
}

Result<DeviceContext::WatchId> VirtioHarness::watch(int fd, uint32_t events,
                                                    std::function<void(uint32_t)> handler) {
    WatchId id = next_watch_++;
    watches_[id] = Watch{fd, events, std::move(handler)};
    return id;
}

Result<> VirtioHarness::modify_watch(WatchId id, uint32_t events) {
    auto it = watches_.find(id);
    if (it == watches_.end()) return fail("no watch {}", id);
    it->second.events = events;
    return {};
}

void VirtioHarness::dispatch_ready_watches() {
    // A copy of the ids: a handler may add or end watches.
    std::vector<WatchId> ids;
    for (const auto& [id, watch] : watches_)
        ids.push_back(id);
    for (WatchId id : ids) {
        auto it = watches_.find(id);
        if (it == watches_.end()) continue;
        pollfd p{.fd = it->second.fd, .events = 0, .revents = 0};
        if (it->second.events & EPOLLIN) p.events |= POLLIN;
        if (it->second.events & EPOLLOUT) p.events |= POLLOUT;
        if (::poll(&p, 1, 0) <= 0) continue;
        uint32_t ready = 0;
        if (p.revents & POLLIN) ready |= EPOLLIN;
        if (p.revents & POLLOUT) ready |= EPOLLOUT;
        if (p.revents & POLLHUP) ready |= EPOLLHUP;
        if (p.revents & POLLERR) ready |= EPOLLERR;
        auto handler = it->second.handler;  // the handler may unwatch itself
        handler(ready);
    }
}

}  // namespace vessel::fuzz
