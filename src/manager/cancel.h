// Work done for a client that may leave before it ends: an exec of a program that hangs, hashing a
// large image. The client's connection is the signal: once its socket reports a hang-up, the work
// has no one to answer and stops (its processes killed), so that it holds no thread and no process
// for nothing. Long work polls fd() beside its own descriptors; short steps ask requested().
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/process.h"

namespace vessel::manager {

class Cancellation {
  public:
    // Never cancelled (work started by the daemon itself, tests).
    Cancellation() = default;
    // Cancelled once the peer of this connected socket hangs up. The socket must outlive the work.
    explicit Cancellation(int socket) : fd_(socket) {}

    // For poll(): -1 when nothing can cancel (poll ignores a negative descriptor).
    int fd() const { return fd_; }
    static constexpr short poll_events = POLLRDHUP;
    // Whether revents of fd() in a poll() means the client is gone.
    static bool signalled(short revents) {
        return (revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }

    bool requested() const;
    // ECANCELED "<what>: cancelled, the client went away".
    Error error(std::string_view what) const;

  private:
    int fd_ = -1;
};

struct CancellableRun {
    std::vector<std::string> argv;
    std::string stdin_data;
    std::chrono::milliseconds timeout = std::chrono::minutes(5);
    // Past this many bytes on stdout or on stderr the program is stopped and the run fails with
    // EFBIG: nobody can be answered with unbounded output.
    size_t max_output_bytes = 16 * 1024 * 1024;
    // Stops the program when the run is cancelled, timed out or over the output limit; the
    // default kills it. The child is reaped afterwards either way.
    std::function<void(Child&)> stop;
};

// run_capture that also watches `cancel`: a client that hangs up ends the program at once, and the
// result is a Cancellation::error.
Result<CapturedOutput> run_cancellable(const CancellableRun& run, const Cancellation& cancel);

}  // namespace vessel::manager
