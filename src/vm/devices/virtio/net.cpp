#include "vm/devices/virtio/net.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

namespace vessel::vm::virtio {

namespace {

constexpr uint16_t kRx = 0, kTx = 1;
constexpr size_t kHeader = 12;  // struct virtio_net_hdr with num_buffers
constexpr size_t kNumBuffersOffset = 10;

namespace net_feature {
constexpr uint64_t checksum = 1ull << 0;
constexpr uint64_t guest_checksum = 1ull << 1;
constexpr uint64_t mac = 1ull << 5;
constexpr uint64_t guest_tso4 = 1ull << 7;
constexpr uint64_t guest_tso6 = 1ull << 8;
constexpr uint64_t guest_ecn = 1ull << 9;
constexpr uint64_t host_tso4 = 1ull << 11;
constexpr uint64_t host_tso6 = 1ull << 12;
constexpr uint64_t host_ecn = 1ull << 13;
constexpr uint64_t mergeable_rx_buffers = 1ull << 15;
constexpr uint64_t status = 1ull << 16;
}  // namespace net_feature

}  // namespace

NetDevice::NetDevice(std::unique_ptr<NetBackend> backend, MacAddress mac, std::string name)
    : backend_(std::move(backend)), mac_(mac), name_(std::move(name)) {}

uint64_t NetDevice::features() const {
    uint64_t offered = net_feature::mac | net_feature::status | net_feature::mergeable_rx_buffers;
    if (backend_->vnet_header())
        offered |= net_feature::checksum | net_feature::guest_checksum | net_feature::guest_tso4 |
                   net_feature::guest_tso6 | net_feature::guest_ecn | net_feature::host_tso4 |
                   net_feature::host_tso6 | net_feature::host_ecn;
    return offered;
}

uint64_t NetDevice::read_config(uint64_t offset, unsigned size) {
    // mac, status (VIRTIO_NET_S_LINK_UP), max_virtqueue_pairs.
    uint8_t config[10] = {mac_[0], mac_[1], mac_[2], mac_[3], mac_[4], mac_[5], 1, 0, 1, 0};
    if (offset >= sizeof config || size > sizeof config - offset) return 0;
    uint64_t value = 0;
    std::memcpy(&value, config + offset, size);
    return value;
}

Result<> NetDevice::activate(DeviceContext& context, uint64_t negotiated) {
    context_ = &context;
    mergeable_ = negotiated & net_feature::mergeable_rx_buffers;
    TRY_CTX(backend_->set_offloads(
                negotiated & net_feature::guest_checksum, negotiated & net_feature::guest_tso4,
                negotiated & net_feature::guest_tso6, negotiated & net_feature::guest_ecn),
            "{}", name_);
    bounce_.resize(kHeader + kMaxFrame);
    receive_watch_ =
        TRY(context.watch(backend_->receive_fd(), EPOLLIN, [this](uint32_t) { receive_frames(); }));
    receive_watched_ = true;
    return {};
}

void NetDevice::reset() {
    context_ = nullptr;
    receive_watch_ = 0;
    receive_watched_ = false;
    held_ = 0;
    (void)backend_->set_offloads(false, false, false, false);
    bounce_ = {};
    transmit_buffer_ = {};
}

void NetDevice::set_receive_watch(bool on) {
    if (on == receive_watched_ || !receive_watch_) return;
    if (context_->modify_watch(receive_watch_, on ? uint32_t{EPOLLIN} : 0u)) receive_watched_ = on;
}

void NetDevice::queue_notified(uint16_t queue) {
    if (queue == kTx) return transmit();
    // New receive buffers: frames held back can come in.
    set_receive_watch(true);
    receive_frames();
}

void NetDevice::receive_frames() {
    SplitQueue* queue = context_->queue(kRx);
    if (!queue) return set_receive_watch(false);
    bool pushed = false;
    for (int budget = kChainsPerNotification; budget > 0; --budget) {
        if (held_ == 0) {
            bool with_header = backend_->vnet_header();
            iovec target = with_header ? iovec{bounce_.data(), bounce_.size()}
                                       : iovec{bounce_.data() + kHeader, kMaxFrame};
            auto got = backend_->receive(std::span(&target, 1));
            if (!got) {
                // The host side failed, not the guest: stop listening to it.
                set_receive_watch(false);
                break;
            }
            if (*got == 0) break;
            if (!with_header) std::memset(bounce_.data(), 0, kHeader);
            held_ = with_header ? *got : *got + kHeader;
            if (held_ <= kHeader) {
                held_ = 0;
                continue;
            }
        }
        if (!deliver_frame()) {
            if (queue->broken()) return set_receive_watch(false);
            // No room: the frame waits, and the backend with it, for the guest's next buffers.
            if (queue->enable_notification()) continue;
            set_receive_watch(false);
            break;
        }
        pushed = true;
    }
    if (pushed && context_) context_->signal_used(kRx);
}

bool NetDevice::deliver_frame() {
    SplitQueue* queue = context_->queue(kRx);
    auto fail_ring = [&](const Error& error) {
        context_->needs_reset(error);
        held_ = 0;
        return false;
    };
    std::vector<DescriptorChain> chains;
    uint64_t room = 0;
    // Without mergeable buffers one chain must hold the whole frame.
    size_t most = mergeable_ ? queue->size() : 1;
    while (room < held_ && chains.size() < most) {
        auto chain = queue->pop();
        if (!chain) return fail_ring(chain.error());
        if (!*chain) {
            queue->unpop(static_cast<uint16_t>(chains.size()));
            return false;
        }
        room += (*chain)->writable_bytes();
        chains.push_back(std::move(**chain));
    }
    // A frame too big for what the guest offers, or a first buffer too small for the header, is
    // dropped; the buffers go back unused.
    if (room < held_ || chains.front().writable_bytes() < kHeader) {
        for (const auto& chain : chains)
            queue->push(chain.head(), 0);
        held_ = 0;
        return true;
    }
    uint16_t buffers = static_cast<uint16_t>(chains.size());
    std::memcpy(bounce_.data() + kNumBuffersOffset, &buffers, sizeof buffers);
    size_t offset = 0;
    for (const auto& chain : chains) {
        ChainWriter writer(chain);
        size_t count = std::min<uint64_t>(writer.remaining(), held_ - offset);
        writer.write(std::span(bounce_.data() + offset, count));
        queue->push(chain.head(), static_cast<uint32_t>(count));
        offset += count;
    }
    held_ = 0;
    return true;
}

void NetDevice::transmit() {
    SplitQueue* queue = context_->queue(kTx);
    if (!queue) return;
    int budget = kChainsPerNotification;
    do {
        for (;;) {
            if (budget-- == 0) {
                context_->signal_used(kTx);
                context_->notify_again(kTx);
                return;
            }
            auto chain = queue->pop();
            if (!chain) return context_->needs_reset(chain.error());
            if (!*chain) break;
            ChainReader reader(**chain);
            uint64_t length = reader.remaining();
            if (length > kHeader && length <= kHeader + kMaxFrame) {
                if (!backend_->vnet_header()) {
                    uint8_t header[kHeader];
                    reader.read(header);
                }
                auto frame = reader.take(reader.remaining());
                (void)backend_->send(frame);
            }
            queue->push((*chain)->head(), 0);
        }
        context_->signal_used(kTx);
    } while (queue->enable_notification());
}

}  // namespace vessel::vm::virtio
