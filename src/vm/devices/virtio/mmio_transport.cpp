#include "vm/devices/virtio/mmio_transport.h"

#include <sys/epoll.h>

namespace vessel::vm::virtio {

namespace {

uint32_t low(uint64_t value) {
    return static_cast<uint32_t>(value);
}
uint32_t high(uint64_t value) {
    return static_cast<uint32_t>(value >> 32);
}
void set_low(uint64_t& field, uint32_t value) {
    field = (field & 0xffff'ffff'0000'0000ull) | value;
}
void set_high(uint64_t& field, uint32_t value) {
    field = (field & 0xffff'ffffull) | (uint64_t{value} << 32);
}

}  // namespace

Result<std::unique_ptr<MmioTransport>> MmioTransport::create(VirtioDevice& device,
                                                             const GuestMemory& memory,
                                                             InterruptLine& interrupt,
                                                             EventLoop& loop, const Logger& log) {
    std::unique_ptr<MmioTransport> transport(
        new MmioTransport(device, memory, interrupt, loop, log));
    transport->offered_ = device.features() | feature::version_1 | feature::ring_indirect_desc |
                          feature::ring_event_idx;
    auto sizes = device.queue_max_sizes();
    transport->queues_.reserve(sizes.size());
    for (uint16_t max_size : sizes)
        transport->queues_.push_back(Queue{.kick = TRY(EventFd::create()),
                                           .kick_watch = 0,
                                           .max_size = max_size,
                                           .layout = {},
                                           .ready = false,
                                           .ring = std::nullopt});
    for (uint16_t index = 0; index < transport->queues_.size(); ++index) {
        MmioTransport* self = transport.get();
        transport->queues_[index].kick_watch =
            TRY_CTX(loop.watch(transport->queues_[index].kick.fd(), EPOLLIN,
                               [self, index](uint32_t) { self->on_kick(index); }),
                    "{}: watch queue {}", device.name(), index);
    }
    return transport;
}

MmioTransport::~MmioTransport() {
    std::lock_guard lock(registers_);
    reset_device();
    for (auto& queue : queues_)
        if (queue.kick_watch) loop_.unwatch(queue.kick_watch);
}

uint64_t MmioTransport::read(uint64_t offset, unsigned size) {
    if (offset >= mmio::config) return device_.read_config(offset - mmio::config, size);
    // Section 4.2.2.2: control registers are read 32 bits at a time, aligned.
    if (size != 4 || offset % 4) return 0;
    std::lock_guard lock(registers_);
    const Queue* selected = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
    switch (offset) {
        case mmio::magic:
            return mmio::magic_value;
        case mmio::version_register:
            return mmio::version;
        case mmio::device_id:
            return static_cast<uint32_t>(device_.id());
        case mmio::vendor:
            return mmio::vendor_id;
        case mmio::device_features:
            return device_features_select_ == 0   ? low(offered_)
                   : device_features_select_ == 1 ? high(offered_)
                                                  : 0;
        case mmio::queue_num_max:
            return selected ? selected->max_size : 0;
        case mmio::queue_ready:
            return selected && selected->ready;
        case mmio::interrupt_status: {
            std::lock_guard interrupt(interrupt_mutex_);
            return interrupt_status_;
        }
        case mmio::status_register:
            return status_.load();
        case mmio::shm_len_low:
        case mmio::shm_len_high:
            return 0xffff'ffff;  // no shared memory regions: their length reads as -1
        case mmio::config_generation:
            return config_generation_.load();
        default:
            return 0;
    }
}

void MmioTransport::write(uint64_t offset, unsigned size, uint64_t value) {
    if (offset >= mmio::config) {
        device_.write_config(offset - mmio::config, size, value);
        return;
    }
    if (size != 4 || offset % 4) return;
    uint32_t word = static_cast<uint32_t>(value);
    if (offset == mmio::queue_notify) {
        // Dropped before DRIVER_OK, as section 4.2.2.1 lets the device do.
        if ((status_.load() & status::driver_ok) && word < queues_.size())
            queues_[word].kick.signal();
        return;
    }
    if (offset == mmio::interrupt_ack) {
        std::lock_guard interrupt(interrupt_mutex_);
        interrupt_status_ &= ~word;
        if (interrupt_status_ == 0) interrupt_.set_level(false);
        return;
    }
    std::lock_guard lock(registers_);
    switch (offset) {
        case mmio::device_features_sel:
            device_features_select_ = word;
            break;
        case mmio::driver_features_sel:
            driver_features_select_ = word;
            break;
        case mmio::driver_features:
            // Features are fixed once FEATURES_OK is set.
            if (status_.load() & status::features_ok) break;
            if (driver_features_select_ == 0) set_low(driver_features_, word);
            if (driver_features_select_ == 1) set_high(driver_features_, word);
            break;
        case mmio::queue_sel:
            queue_select_ = word;
            break;
        case mmio::status_register:
            write_status(word);
            break;
        default:
            write_queue_register(offset, word);
    }
}

void MmioTransport::write_queue_register(uint64_t offset, uint32_t value) {
    if (queue_select_ >= queues_.size()) return;
    Queue& queue = queues_[queue_select_];
    if (offset == mmio::queue_ready) {
        std::lock_guard work(work_);
        if (value == 0) {
            queue.ready = false;
            queue.ring.reset();
            return;
        }
        if (queue.ready) return;
        QueueFeatures features{.indirect = (driver_features_ & feature::ring_indirect_desc) != 0,
                               .event_idx = (driver_features_ & feature::ring_event_idx) != 0};
        auto ring = SplitQueue::create(memory_, queue.layout, queue.max_size, features);
        if (!ring) {
            needs_reset(ring.error().context(fmt::format("queue {}", queue_select_)));
            return;
        }
        queue.ring.emplace(std::move(*ring));
        queue.ready = true;
        return;
    }
    // The layout is the driver's to change only while the queue is not in use.
    if (queue.ready) return;
    switch (offset) {
        case mmio::queue_num:
            queue.layout.size = static_cast<uint16_t>(value > 0xffff ? 0 : value);
            break;
        case mmio::queue_desc_low:
            set_low(queue.layout.descriptors, value);
            break;
        case mmio::queue_desc_high:
            set_high(queue.layout.descriptors, value);
            break;
        case mmio::queue_driver_low:
            set_low(queue.layout.driver, value);
            break;
        case mmio::queue_driver_high:
            set_high(queue.layout.driver, value);
            break;
        case mmio::queue_device_low:
            set_low(queue.layout.device, value);
            break;
        case mmio::queue_device_high:
            set_high(queue.layout.device, value);
            break;
        default:
            break;
    }
}

void MmioTransport::write_status(uint32_t value) {
    if (value == 0) {
        reset_device();
        return;
    }
    uint32_t current = status_.load();
    // The driver sets bits one step at a time; it cannot clear any but by resetting, and
    // DEVICE_NEEDS_RESET is the device's to set.
    uint32_t next = (current | value) & ~status::device_needs_reset;
    next |= current & status::device_needs_reset;
    if ((next & status::features_ok) && !(current & status::features_ok)) {
        bool acceptable =
            (driver_features_ & ~offered_) == 0 && (driver_features_ & feature::version_1) != 0;
        // Section 3.1.1: the device refuses by leaving FEATURES_OK clear.
        if (!acceptable) next &= ~status::features_ok;
    }
    bool starting = (next & status::driver_ok) && !(current & status::driver_ok);
    if (starting && !(next & status::features_ok)) next &= ~status::driver_ok, starting = false;
    status_.store(next);
    if (starting) activate_device();
}

void MmioTransport::activate_device() {
    std::lock_guard work(work_);
    active_ = true;
    if (auto activated = device_.activate(*this, driver_features_); !activated) {
        active_ = false;
        needs_reset(activated.error());
        return;
    }
    // Buffers the driver made available before DRIVER_OK would otherwise wait for a kick.
    for (auto& queue : queues_)
        if (queue.ready) queue.kick.signal();
}

void MmioTransport::reset_device() {
    std::vector<EventLoop::Token> watches;
    {
        std::lock_guard work(work_);
        active_ = false;
        watches.swap(device_watches_);
    }
    // Outside work_: unwatch waits for a running handler, which holds work_.
    for (auto token : watches)
        loop_.unwatch(token);
    {
        std::lock_guard work(work_);
        device_.reset();
        for (auto& queue : queues_) {
            queue.ring.reset();
            queue.ready = false;
            queue.layout = {};
            queue.kick.drain();
        }
    }
    {
        std::lock_guard interrupt(interrupt_mutex_);
        interrupt_status_ = 0;
        interrupt_.set_level(false);
    }
    driver_features_ = 0;
    device_features_select_ = 0;
    driver_features_select_ = 0;
    queue_select_ = 0;
    reported_reset_ = false;
    status_.store(0);
}

void MmioTransport::on_kick(uint16_t index) {
    queues_[index].kick.drain();
    std::lock_guard work(work_);
    if (!active_ || !queues_[index].ring) return;
    device_.queue_notified(index);
}

void MmioTransport::raise(uint32_t bits) {
    std::lock_guard interrupt(interrupt_mutex_);
    interrupt_status_ |= bits;
    interrupt_.set_level(true);
}

SplitQueue* MmioTransport::queue(uint16_t index) {
    if (index >= queues_.size() || !queues_[index].ring) return nullptr;
    return &*queues_[index].ring;
}

void MmioTransport::signal_used(uint16_t index) {
    SplitQueue* ring = queue(index);
    if (ring && ring->needs_interrupt()) raise(mmio::interrupt_used_buffer);
}

void MmioTransport::config_changed() {
    ++config_generation_;
    raise(mmio::interrupt_config_change);
}

void MmioTransport::needs_reset(const Error& why) {
    if (!reported_reset_.exchange(true))
        log_.warning("{}: the driver broke the virtio rules, device needs a reset: {}",
                     device_.name(), why.message());
    status_.fetch_or(status::device_needs_reset);
    // Section 2.1.2: a device that sets DEVICE_NEEDS_RESET after DRIVER_OK notifies the driver.
    if (status_.load() & status::driver_ok) raise(mmio::interrupt_config_change);
}

Result<DeviceContext::WatchId> MmioTransport::watch(int fd, uint32_t events,
                                                    std::function<void(uint32_t)> handler) {
    auto token = TRY(loop_.watch(fd, events, [this, handler = std::move(handler)](uint32_t ready) {
        std::lock_guard work(work_);
        if (active_) handler(ready);
    }));
    device_watches_.push_back(token);
    return token;
}

Result<> MmioTransport::modify_watch(WatchId id, uint32_t events) {
    return loop_.modify(id, events);
}

void MmioTransport::unwatch(WatchId id) {
    std::erase(device_watches_, id);
    loop_.unwatch(id);
}

}  // namespace vessel::vm::virtio
