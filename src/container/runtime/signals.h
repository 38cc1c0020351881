// Signals: names as runc accepts them, and passing the runtime's signals on to a container
// process it waits for (run, exec).
#pragma once

#include <signal.h>

#include <string_view>

#include "base/error.h"
#include "base/log.h"
#include "base/process.h"
#include "base/unique_fd.h"

namespace vessel::container::runtime {

// "KILL", "SIGKILL", "kill" or "9".
Result<int> parse_signal(std::string_view text);

// The signals `run` and `exec` pass on to the container's process instead of dying of them. The
// caller blocks them before it forks, so none is lost in between.
sigset_t forwarded_signals();

// Reaps the exited child behind `pidfd` (our child).
Result<ExitStatus> reap_pidfd(int pidfd);

// What a runtime waiting for its child (the container's init, an exec'd program) reads its
// signals from: the forwarded_signals(), blocked by the caller, and SIGCHLD, blocked here for as
// long as the watch lives. A child that stops must not wedge that wait: one that made us its
// tracer (PTRACE_TRACEME; we are its parent) is released from every ptrace stop by a detach that
// delivers its signal, as if it had never been traced; and a terminating signal passed on to a
// stopped child is followed by SIGCONT, so that it acts, as a shell's kill does for a stopped job.
class ChildWatch {
  public:
    ChildWatch(int pidfd, const Logger& log);
    ~ChildWatch();
    ChildWatch(const ChildWatch&) = delete;
    ChildWatch& operator=(const ChildWatch&) = delete;

    // To poll for POLLIN.
    int fd() const { return signals_.get(); }
    // Reads what is pending: SIGCHLD is dealt with here; a forwarded signal is returned (0 when
    // there was none) for the caller to pass on with forward() or to handle itself (SIGWINCH).
    int next_signal();
    void forward(int signal) const;

  private:
    void release_traced_stop() const;

    int pidfd_;
    pid_t pid_;
    const Logger& log_;
    UniqueFd signals_;
    sigset_t previous_mask_{};
};

// Waits for the child behind `pidfd` (our child), forwarding the blocked forwarded_signals() to
// it, and reaps it.
Result<ExitStatus> wait_forwarding_signals(int pidfd, const Logger& log);

}  // namespace vessel::container::runtime
