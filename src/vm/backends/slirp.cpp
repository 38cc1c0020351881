#include "vm/backends/slirp.h"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <time.h>

#include <algorithm>
#include <cstring>

namespace vessel::vm {

namespace {

// Frames waiting in either direction: a side that does not keep up loses frames (TCP resends
// them), never host memory.
constexpr size_t kMaxQueuedFrames = 512;
constexpr size_t kMaxFrame = 65536;

int64_t now_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

in_addr address(const char* dotted) {
    in_addr parsed{};
    ::inet_pton(AF_INET, dotted, &parsed);
    return parsed;
}

short to_poll_events(int slirp_events) {
    short events = 0;
    if (slirp_events & SLIRP_POLL_IN) events |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT) events |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI) events |= POLLPRI;
    return events;
}

int to_slirp_events(short revents) {
    int events = 0;
    if (revents & POLLIN) events |= SLIRP_POLL_IN;
    if (revents & POLLOUT) events |= SLIRP_POLL_OUT;
    if (revents & POLLPRI) events |= SLIRP_POLL_PRI;
    if (revents & POLLERR) events |= SLIRP_POLL_ERR;
    if (revents & POLLHUP) events |= SLIRP_POLL_HUP;
    return events;
}

}  // namespace

struct SlirpBackend::Timer {
    SlirpTimerId id;
    void* callback_opaque;
    int64_t expire_ms = -1;  // -1: not armed
};

namespace {

SlirpBackend* backend_of(void* opaque) {
    return static_cast<SlirpBackend*>(opaque);
}

}  // namespace

SlirpBackend::SlirpBackend(EventFd wake, EventFd to_guest_ready, const Logger& log)
    : wake_(std::move(wake)), to_guest_ready_(std::move(to_guest_ready)), log_(log) {}

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::create(const std::vector<PortForward>& forwards,
                                                           const Logger& log) {
    std::unique_ptr<SlirpBackend> backend(
        new SlirpBackend(TRY(EventFd::create()), TRY(EventFd::create()), log));
    SlirpConfig config{};
    config.version = 4;
    config.in_enabled = true;
    config.vnetwork = address("10.0.2.0");
    config.vnetmask = address("255.255.255.0");
    config.vhost = address("10.0.2.2");
    config.vdhcp_start = address("10.0.2.15");
    config.vnameserver = address("10.0.2.3");
    config.vhostname = "vessel";
    config.disable_host_loopback = false;  // 10.0.2.2 is the host's loopback, as in QEMU
    static const SlirpCb callbacks = {
        .send_packet = [](const void* data, size_t length, void* opaque) -> ssize_t {
            backend_of(opaque)->queue_for_guest(data, length);
            return static_cast<ssize_t>(length);
        },
        .guest_error =
            [](const char* message, void* opaque) {
                backend_of(opaque)->log_.warning("user-mode network: guest error: {}", message);
            },
        .clock_get_ns = [](void*) { return now_ns(); },
        .timer_new = nullptr,
        .timer_free =
            [](void* timer, void* opaque) {
                std::erase_if(backend_of(opaque)->timers_,
                              [&](const auto& owned) { return owned.get() == timer; });
            },
        .timer_mod = [](void* timer, int64_t expire_ms,
                        void*) { static_cast<Timer*>(timer)->expire_ms = expire_ms; },
        .register_poll_fd = [](int, void*) {},
        .unregister_poll_fd = [](int, void*) {},
        .notify = [](void* opaque) { backend_of(opaque)->wake_.signal(); },
        .init_completed = nullptr,
        .timer_new_opaque = [](SlirpTimerId id, void* callback_opaque, void* opaque) -> void* {
            auto timer =
                std::make_unique<Timer>(Timer{.id = id, .callback_opaque = callback_opaque});
            void* raw = timer.get();
            backend_of(opaque)->timers_.push_back(std::move(timer));
            return raw;
        },
    };
    backend->slirp_ = ::slirp_new(&config, &callbacks, backend.get());
    if (!backend->slirp_) return fail("user-mode network: libslirp did not start");
    for (const auto& forward : forwards)
        if (::slirp_add_hostfwd(backend->slirp_, 0, address("127.0.0.1"), forward.host_port,
                                address("10.0.2.15"), forward.guest_port) != 0)
            return fail(
                "user-mode network: hostfwd tcp:{}-{}: cannot listen on 127.0.0.1:{} (in "
                "use?)",
                forward.host_port, forward.guest_port, forward.host_port);
    SlirpBackend* raw = backend.get();
    backend->thread_ = std::thread([raw] { raw->run(); });
    return backend;
}

SlirpBackend::~SlirpBackend() {
    stopping_ = true;
    wake_.signal();
    if (thread_.joinable()) thread_.join();
    if (slirp_) ::slirp_cleanup(slirp_);
}

void SlirpBackend::queue_for_guest(const void* data, size_t length) {
    {
        std::lock_guard lock(queues_mutex_);
        if (to_guest_.size() >= kMaxQueuedFrames) return;
        auto bytes = static_cast<const uint8_t*>(data);
        to_guest_.emplace_back(bytes, bytes + length);
    }
    to_guest_ready_.signal();
}

Result<size_t> SlirpBackend::receive(std::span<const iovec> buffers) {
    std::vector<uint8_t> frame;
    {
        std::lock_guard lock(queues_mutex_);
        if (to_guest_.empty()) {
            to_guest_ready_.drain();
            return size_t{0};
        }
        frame = std::move(to_guest_.front());
        to_guest_.pop_front();
    }
    size_t copied = 0;
    for (const auto& buffer : buffers) {
        if (copied == frame.size()) break;
        size_t chunk = std::min(buffer.iov_len, frame.size() - copied);
        std::memcpy(buffer.iov_base, frame.data() + copied, chunk);
        copied += chunk;
    }
    return copied;
}

Result<> SlirpBackend::send(std::span<const iovec> frame) {
    std::vector<uint8_t> bytes;
    for (const auto& buffer : frame) {
        auto* begin = static_cast<const uint8_t*>(buffer.iov_base);
        bytes.insert(bytes.end(), begin, begin + buffer.iov_len);
    }
    if (bytes.size() > kMaxFrame) return {};
    {
        std::lock_guard lock(queues_mutex_);
        if (to_slirp_.size() >= kMaxQueuedFrames) return {};
        to_slirp_.push_back(std::move(bytes));
    }
    wake_.signal();
    return {};
}

int SlirpBackend::add_poll(int fd, int events) {
    poll_fds_.push_back({.fd = fd, .events = to_poll_events(events), .revents = 0});
    return static_cast<int>(poll_fds_.size() - 1);
}

void SlirpBackend::run() {
    while (!stopping_) {
        poll_fds_.clear();
        poll_fds_.push_back({.fd = wake_.fd(), .events = POLLIN, .revents = 0});
        uint32_t timeout_ms = 1000;
        int64_t now_ms = now_ns() / 1'000'000;
        for (const auto& timer : timers_)
            if (timer->expire_ms >= 0)
                timeout_ms = static_cast<uint32_t>(std::clamp<int64_t>(
                    timer->expire_ms - now_ms, 0, static_cast<int64_t>(timeout_ms)));
        ::slirp_pollfds_fill(
            slirp_, &timeout_ms,
            [](int fd, int events, void* opaque) {
                return backend_of(opaque)->add_poll(fd, events);
            },
            this);
        int ready = ::poll(poll_fds_.data(), poll_fds_.size(), static_cast<int>(timeout_ms));
        if (poll_fds_[0].revents) wake_.drain();
        ::slirp_pollfds_poll(
            slirp_, ready < 0,
            [](int index, void* opaque) {
                auto& fds = backend_of(opaque)->poll_fds_;
                if (index < 0 || static_cast<size_t>(index) >= fds.size()) return 0;
                return to_slirp_events(fds[static_cast<size_t>(index)].revents);
            },
            this);
        std::deque<std::vector<uint8_t>> frames;
        {
            std::lock_guard lock(queues_mutex_);
            frames.swap(to_slirp_);
        }
        for (const auto& frame : frames)
            ::slirp_input(slirp_, frame.data(), static_cast<int>(frame.size()));
        now_ms = now_ns() / 1'000'000;
        // A timer's callback may arm or free timers: collect the due ones first.
        std::vector<Timer*> due;
        for (const auto& timer : timers_)
            if (timer->expire_ms >= 0 && timer->expire_ms <= now_ms) due.push_back(timer.get());
        for (Timer* timer : due) {
            bool alive = std::any_of(timers_.begin(), timers_.end(),
                                     [&](const auto& owned) { return owned.get() == timer; });
            if (!alive) continue;  // freed by an earlier callback
            timer->expire_ms = -1;
            ::slirp_handle_timer(slirp_, timer->id, timer->callback_opaque);
        }
    }
}

}  // namespace vessel::vm
