// User-mode networking with libslirp, as QEMU's `-netdev user`: no root, no TAP. The guest gets
// 10.0.2.15 by DHCP, the host's loopback is 10.0.2.2, DNS is 10.0.2.3; outbound TCP and UDP are
// the VMM's own sockets, and host port forwards reach servers in the guest. libslirp is not
// thread-safe: it lives on a thread of its own, and frames cross to it through queues.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/log.h"
#include "vm/backends/net_backend.h"
#include "vm/devices/event_loop.h"

struct Slirp;

namespace vessel::vm {

struct PortForward {
    uint16_t host_port;   // on the host's loopback
    uint16_t guest_port;  // on the guest's 10.0.2.15
};

class SlirpBackend final : public NetBackend {
  public:
    static Result<std::unique_ptr<SlirpBackend>> create(const std::vector<PortForward>& forwards,
                                                        const Logger& log);
    ~SlirpBackend() override;

    bool vnet_header() const override { return false; }
    int receive_fd() const override { return to_guest_ready_.fd(); }
    Result<size_t> receive(std::span<const iovec> buffers) override;
    Result<> send(std::span<const iovec> frame) override;
    Result<> set_offloads(bool, bool, bool, bool) override { return {}; }

  private:
    struct Timer;
    SlirpBackend(EventFd wake, EventFd to_guest_ready, const Logger& log);
    void run();
    void queue_for_guest(const void* data, size_t length);
    int add_poll(int fd, int events);

    EventFd wake_;            // frames from the guest, or stop
    EventFd to_guest_ready_;  // frames for the guest
    const Logger& log_;
    Slirp* slirp_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex queues_mutex_;
    std::deque<std::vector<uint8_t>> to_guest_;
    std::deque<std::vector<uint8_t>> to_slirp_;
    // The slirp thread's own state.
    std::vector<std::unique_ptr<Timer>> timers_;
    std::vector<::pollfd> poll_fds_;
};

}  // namespace vessel::vm
