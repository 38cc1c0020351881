#include "vm/backends/slirp.h"

#include <arpa/inet.h>
#include <poll.h>
#include <slirp/libslirp.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <memory>

namespace vessel::vm {

namespace {

constexpr size_t kMaxFrame = 65536 + 64;

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

struct Timer {
    SlirpTimerId id;
    void* callback_opaque;
    int64_t expire_ms = -1;  // -1: not armed
};

// The stack's state: libslirp calls back into it, all on the one thread that runs the loop.
struct Stack {
    int frames;
    const Logger& log;
    Slirp* slirp = nullptr;
    std::vector<std::unique_ptr<Timer>> timers;
    std::vector<pollfd> poll_fds;

    ~Stack() {
        if (slirp) ::slirp_cleanup(slirp);
    }
};

Stack& stack_of(void* opaque) {
    return *static_cast<Stack*>(opaque);
}

const SlirpCb kCallbacks = {
    // A frame for the guest: one message. A VMM that does not keep up loses it; TCP resends.
    .send_packet = [](const void* data, size_t length, void* opaque) -> ssize_t {
        ::send(stack_of(opaque).frames, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
        return static_cast<ssize_t>(length);
    },
    .guest_error =
        [](const char* message, void* opaque) {
            stack_of(opaque).log.warning("user-mode network: guest error: {}", message);
        },
    .clock_get_ns = [](void*) { return now_ns(); },
    .timer_new = nullptr,
    .timer_free =
        [](void* timer, void* opaque) {
            std::erase_if(stack_of(opaque).timers,
                          [&](const auto& owned) { return owned.get() == timer; });
        },
    .timer_mod = [](void* timer, int64_t expire_ms,
                    void*) { static_cast<Timer*>(timer)->expire_ms = expire_ms; },
    .register_poll_fd = [](int, void*) {},
    .unregister_poll_fd = [](int, void*) {},
    .notify = [](void*) {},
    .init_completed = nullptr,
    .timer_new_opaque = [](SlirpTimerId id, void* callback_opaque, void* opaque) -> void* {
        auto timer = std::make_unique<Timer>(Timer{.id = id, .callback_opaque = callback_opaque});
        void* raw = timer.get();
        stack_of(opaque).timers.push_back(std::move(timer));
        return raw;
    },
};

void fire_due_timers(Stack& stack) {
    int64_t now_ms = now_ns() / 1'000'000;
    // A callback may arm or free timers: collect the due ones first, check each is still there.
    std::vector<Timer*> due;
    for (const auto& timer : stack.timers)
        if (timer->expire_ms >= 0 && timer->expire_ms <= now_ms) due.push_back(timer.get());
    for (Timer* timer : due) {
        bool alive = std::any_of(stack.timers.begin(), stack.timers.end(),
                                 [&](const auto& owned) { return owned.get() == timer; });
        if (!alive) continue;
        timer->expire_ms = -1;
        ::slirp_handle_timer(stack.slirp, timer->id, timer->callback_opaque);
    }
}

}  // namespace

Result<> run_slirp(int frames, const std::vector<PortForward>& forwards, const Logger& log,
                   const std::function<void()>& started) {
    Stack stack{.frames = frames, .log = log};
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
    stack.slirp = ::slirp_new(&config, &kCallbacks, &stack);
    if (!stack.slirp) return fail("user-mode network: libslirp did not start");
    for (const auto& forward : forwards)
        if (::slirp_add_hostfwd(stack.slirp, 0, address("127.0.0.1"), forward.host_port,
                                address("10.0.2.15"), forward.guest_port) != 0)
            return fail(
                "user-mode network: hostfwd tcp:{}-{}: cannot listen on 127.0.0.1:{} (in "
                "use?)",
                forward.host_port, forward.guest_port, forward.host_port);
    started();
    std::vector<uint8_t> frame(kMaxFrame);
    for (;;) {
        stack.poll_fds.clear();
        stack.poll_fds.push_back({.fd = frames, .events = POLLIN, .revents = 0});
        uint32_t timeout_ms = 1000;
        int64_t now_ms = now_ns() / 1'000'000;
        for (const auto& timer : stack.timers)
            if (timer->expire_ms >= 0)
                timeout_ms = static_cast<uint32_t>(std::clamp<int64_t>(
                    timer->expire_ms - now_ms, 0, static_cast<int64_t>(timeout_ms)));
        ::slirp_pollfds_fill(
            stack.slirp, &timeout_ms,
            [](int fd, int events, void* opaque) {
                auto& fds = stack_of(opaque).poll_fds;
                fds.push_back({.fd = fd, .events = to_poll_events(events), .revents = 0});
                return static_cast<int>(fds.size() - 1);
            },
            &stack);
        int ready =
            ::poll(stack.poll_fds.data(), stack.poll_fds.size(), static_cast<int>(timeout_ms));
        if (ready < 0 && errno != EINTR) return fail_errno("user-mode network: poll");
        short frame_events = stack.poll_fds[0].revents;
        ::slirp_pollfds_poll(
            stack.slirp, ready < 0,
            [](int index, void* opaque) {
                auto& fds = stack_of(opaque).poll_fds;
                if (index < 0 || static_cast<size_t>(index) >= fds.size()) return 0;
                return to_slirp_events(fds[static_cast<size_t>(index)].revents);
            },
            &stack);
        if (frame_events & POLLIN) {
            for (;;) {
                ssize_t got = ::recv(frames, frame.data(), frame.size(), MSG_DONTWAIT);
                if (got < 0) break;
                if (got == 0) return {};  // the VMM is gone
                ::slirp_input(stack.slirp, frame.data(), static_cast<int>(got));
            }
        } else if (frame_events & (POLLHUP | POLLERR)) {
            return {};
        }
        fire_due_timers(stack);
    }
}

}  // namespace vessel::vm
