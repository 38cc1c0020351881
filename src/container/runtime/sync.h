// The small protocol between the runtime and the container's init, over a SOCK_SEQPACKET
// socketpair (one message per packet, no framing needed):
//   runtime -> init  'g' go: the init is in its cgroups, it may set itself up
//   init -> runtime  't' + the pty master (SCM_RIGHTS), when process.terminal is set
//   init -> runtime  'r' ready: set up, blocked before exec; or 'e' + message: setup failed
//   runtime -> init  's' start (run only; create/start uses exec.fifo instead)
// After a successful exec the init's end closes (close-on-exec); an 'e' after 's' is an exec error.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::container::runtime {

enum class SyncTag : char {
    go = 'g',
    ready = 'r',
    error = 'e',
    start = 's',
    terminal = 't',
    seccomp_listener = 'l',
};

struct SyncMessage {
    SyncTag tag;
    std::string payload;
};

class SyncChannel {
  public:
    explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
    static Result<std::pair<SyncChannel, SyncChannel>> make_pair();

    Result<> send(SyncTag tag, std::string_view payload = {}) const;
    // An error with ECONNRESET-like meaning when the peer closed without a message.
    Result<SyncMessage> receive() const;
    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

  private:
    UniqueFd fd_;
};

}  // namespace vessel::container::runtime
