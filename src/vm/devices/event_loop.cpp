#include "vm/devices/event_loop.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace vessel::vm {

Result<EventFd> EventFd::create() {
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return fail_errno("eventfd");
    return EventFd(UniqueFd(fd));
}

void EventFd::signal() const {
    uint64_t one = 1;
    // EAGAIN: the counter is saturated, so the reader will wake anyway.
    while (::write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
}

bool EventFd::drain() const {
    uint64_t count = 0;
    ssize_t got;
    do {
        got = ::read(fd_.get(), &count, sizeof count);
    } while (got < 0 && errno == EINTR);
    return got == sizeof count && count > 0;
}

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) return fail_errno("epoll_create1");
    EventFd wake = TRY(EventFd::create());
    epoll_event event{.events = EPOLLIN, .data = {.u64 = 0}};
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.fd(), &event) != 0)
        return fail_errno("epoll_ctl");
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(wake)));
}

EventLoop::~EventLoop() {
    stop();
}

Result<EventLoop::Token> EventLoop::watch(int fd, uint32_t events, Handler handler) {
    std::lock_guard lock(watches_mutex_);
    Token token = next_token_++;
    epoll_event event{.events = events, .data = {.u64 = token}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
        return fail_errno("epoll_ctl add");
    watches_[token] = std::make_shared<Watch>(Watch{.fd = fd, .handler = std::move(handler)});
    return token;
}

Result<> EventLoop::modify(Token token, uint32_t events) {
    std::lock_guard lock(watches_mutex_);
    auto found = watches_.find(token);
    if (found == watches_.end()) return fail("event loop: no watch {}", token);
    epoll_event event{.events = events, .data = {.u64 = token}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, found->second->fd, &event) != 0)
        return fail_errno("epoll_ctl mod");
    return {};
}

void EventLoop::unwatch(Token token) {
    std::lock_guard dispatching(dispatch_);
    std::lock_guard lock(watches_mutex_);
    auto found = watches_.find(token);
    if (found == watches_.end()) return;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, found->second->fd, nullptr);
    watches_.erase(found);
}

Result<> EventLoop::start(std::function<void()> prologue) {
    if (thread_.joinable()) return fail("event loop: already started");
    thread_ = std::thread([this, prologue = std::move(prologue)] {
        ::pthread_setname_np(::pthread_self(), "vessel-io");
        if (prologue) prologue();
        run();
    });
    return {};
}

void EventLoop::stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake_.signal();
    thread_.join();
}

void EventLoop::run() {
    constexpr int kBatch = 32;
    epoll_event events[kBatch];
    while (!stopping_) {
        int ready = ::epoll_wait(epoll_.get(), events, kBatch, -1);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < ready && !stopping_; ++i) {
            Token token = events[i].data.u64;
            if (token == 0) {
                wake_.drain();
                continue;
            }
            std::lock_guard dispatching(dispatch_);
            std::shared_ptr<Watch> watch;
            {
                std::lock_guard lock(watches_mutex_);
                auto found = watches_.find(token);
                if (found == watches_.end()) continue;  // unwatched after epoll_wait returned
                watch = found->second;
            }
            watch->handler(events[i].events);
        }
    }
}

}  // namespace vessel::vm
