#include "vm/devices/virtio/console.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace vessel::vm::virtio {

namespace {
constexpr uint16_t kReceive = 0;
constexpr uint16_t kTransmit = 1;
}  // namespace

Result<std::unique_ptr<ConsoleDevice>> ConsoleDevice::create(Output output) {
    return std::unique_ptr<ConsoleDevice>(
        new ConsoleDevice(std::move(output), TRY(EventFd::create())));
}

uint64_t ConsoleDevice::read_config(uint64_t offset, unsigned size) {
    // cols, rows (without VIRTIO_CONSOLE_F_SIZE: unused), max_nr_ports = 1, emerg_wr.
    uint8_t config[12] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    if (offset >= sizeof config || size > sizeof config - offset) return 0;
    uint64_t value = 0;
    std::memcpy(&value, config + offset, size);
    return value;
}

Result<> ConsoleDevice::activate(DeviceContext& context, uint64_t) {
    context_ = &context;
    auto watched = context.watch(input_ready_.fd(), EPOLLIN, [this](uint32_t) {
        input_ready_.drain();
        deliver_input();
    });
    if (!watched) return std::unexpected(watched.error());
    return {};
}

void ConsoleDevice::reset() {
    context_ = nullptr;
}

size_t ConsoleDevice::receive(std::span<const uint8_t> bytes) {
    size_t taken;
    {
        std::lock_guard lock(input_mutex_);
        taken = std::min(bytes.size(), kInputBuffer - input_.size());
        input_.insert(input_.end(), bytes.begin(), bytes.begin() + static_cast<long>(taken));
    }
    if (taken) input_ready_.signal();
    return taken;
}

void ConsoleDevice::queue_notified(uint16_t queue) {
    if (queue == kTransmit) transmit();
    // New receive buffers: input may be waiting for them.
    if (queue == kReceive) deliver_input();
}

void ConsoleDevice::transmit() {
    SplitQueue* queue = context_ ? context_->queue(kTransmit) : nullptr;
    if (!queue) return;
    int budget = kChainsPerNotification;
    std::vector<uint8_t> bytes;
    do {
        for (;;) {
            if (budget-- == 0) {
                context_->signal_used(kTransmit);
                context_->notify_again(kTransmit);
                return;
            }
            auto chain = queue->pop();
            if (!chain) {
                context_->needs_reset(chain.error());
                return;
            }
            if (!*chain) break;
            ChainReader reader(**chain);
            // A guest may hand over any length; it reaches the host in pieces of bounded size.
            while (reader.remaining() > 0) {
                bytes.resize(std::min<uint64_t>(reader.remaining(), 64 * 1024));
                reader.read(bytes);
                output_(bytes);
            }
            queue->push((*chain)->head(), 0);
        }
        context_->signal_used(kTransmit);
    } while (queue->enable_notification());
}

void ConsoleDevice::deliver_input() {
    SplitQueue* queue = context_ ? context_->queue(kReceive) : nullptr;
    if (!queue) return;
    std::lock_guard lock(input_mutex_);
    // Without a buffer the input waits for the guest's next kick of the receive queue.
    do {
        bool pushed = false;
        while (!input_.empty()) {
            auto chain = queue->pop();
            if (!chain) {
                context_->needs_reset(chain.error());
                return;
            }
            if (!*chain) break;
            ChainWriter writer(**chain);
            size_t count = std::min<uint64_t>(writer.remaining(), input_.size());
            std::vector<uint8_t> bytes(input_.begin(), input_.begin() + static_cast<long>(count));
            writer.write(bytes);
            input_.erase(input_.begin(), input_.begin() + static_cast<long>(count));
            queue->push((*chain)->head(), static_cast<uint32_t>(count));
            pushed = true;
        }
        if (pushed) context_->signal_used(kReceive);
    } while (!input_.empty() && queue->enable_notification());
}

}  // namespace vessel::vm::virtio
