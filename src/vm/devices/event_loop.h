// The devices' I/O thread: one epoll loop that runs device work off the vCPU threads (queue kicks,
// backend sockets and TAPs, timers). A vCPU thread only signals an eventfd; whatever can block
// (disk I/O, a full socket) then blocks this thread, never a vCPU.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::vm {

// An eventfd: signal() from any thread, drain() on the reader.
class EventFd {
  public:
    static Result<EventFd> create();
    int fd() const { return fd_.get(); }
    void signal() const;
    // Consumes every signal so far; false when there was none.
    bool drain() const;

  private:
    explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

class EventLoop {
  public:
    using Handler = std::function<void(uint32_t events)>;
    using Token = uint64_t;

    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Runs `handler` on the loop's thread whenever `fd` has one of `events` (level-triggered
    // EPOLLIN/EPOLLOUT...). The fd stays the caller's; it must outlive the watch.
    Result<Token> watch(int fd, uint32_t events, Handler handler);
    // Changes the events of a watch (to wait for EPOLLOUT only while output is pending, say).
    Result<> modify(Token token, uint32_t events);
    // Ends a watch from any thread. When it returns, the handler is not running and will not run
    // again (unless called from that very handler, which then simply finishes).
    void unwatch(Token token);

    // The loop's thread: start() once; stop() (or the destructor) ends and joins it. `prologue`
    // runs first on that thread (the VMM's jail confines it there).
    Result<> start(std::function<void()> prologue = {});
    void stop();
    bool on_loop_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

  private:
    EventLoop(UniqueFd epoll, EventFd wake) : epoll_(std::move(epoll)), wake_(std::move(wake)) {}
    void run();

    struct Watch {
        int fd;
        Handler handler;
    };

    UniqueFd epoll_;
    EventFd wake_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    // Held while a handler runs and while a watch is removed, so that unwatch() can promise the
    // handler has finished.
    std::recursive_mutex dispatch_;
    std::mutex watches_mutex_;
    std::map<Token, std::shared_ptr<Watch>> watches_;
    Token next_token_ = 1;
};

}  // namespace vessel::vm
