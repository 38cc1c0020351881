// Signals: names as runc accepts them, and passing the runtime's signals on to a container
// process it waits for (run, exec).
#pragma once

#include <signal.h>

#include <string_view>

#include "base/error.h"
#include "base/log.h"
#include "base/process.h"

namespace vessel::container::runtime {

// "KILL", "SIGKILL", "kill" or "9".
Result<int> parse_signal(std::string_view text);

// The signals `run` and `exec` pass on to the container's process instead of dying of them. The
// caller blocks them before it forks, so none is lost in between.
sigset_t forwarded_signals();

// Reaps the exited child behind `pidfd` (our child).
Result<ExitStatus> reap_pidfd(int pidfd);

// Waits for the child behind `pidfd` (our child), forwarding the blocked forwarded_signals() to
// it, and reaps it.
Result<ExitStatus> wait_forwarding_signals(int pidfd, const Logger& log);

}  // namespace vessel::container::runtime
