#include "vm/devices/virtio/rng.h"

#include <sys/random.h>

#include <algorithm>

namespace vessel::vm::virtio {

namespace {
// A guest may offer any buffer size; one request gets at most this much, as the spec allows.
constexpr uint64_t kMaxPerRequest = 64 * 1024;
}  // namespace

Result<> RngDevice::activate(DeviceContext& context, uint64_t) {
    context_ = &context;
    return {};
}

void RngDevice::queue_notified(uint16_t index) {
    SplitQueue* queue = context_ ? context_->queue(index) : nullptr;
    if (!queue) return;
    int budget = kChainsPerNotification;
    do {
        for (;;) {
            if (budget-- == 0) {
                context_->signal_used(index);
                context_->notify_again(index);
                return;
            }
            auto chain = queue->pop();
            if (!chain) {
                context_->needs_reset(chain.error());
                return;
            }
            if (!*chain) break;
            ChainWriter writer(**chain);
            uint64_t wanted = std::min(writer.remaining(), kMaxPerRequest);
            uint64_t filled = 0;
            for (const iovec& vector : writer.peek(wanted)) {
                ssize_t got = ::getrandom(vector.iov_base, vector.iov_len, 0);
                if (got <= 0) break;
                filled += static_cast<uint64_t>(got);
                if (static_cast<size_t>(got) < vector.iov_len) break;
            }
            writer.commit(filled);
            queue->push((*chain)->head(), static_cast<uint32_t>(writer.written()));
        }
        context_->signal_used(index);
    } while (queue->enable_notification());
}

}  // namespace vessel::vm::virtio
