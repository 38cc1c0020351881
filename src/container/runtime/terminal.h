// The foreground side of process.terminal for `run` without --console-socket: the container's pty
// is relayed to our standard input and output (a terminal on our side is put in raw mode and
// restored on every way out), window-size changes follow SIGWINCH and the other forwarded signals
// go to the container's process.
#pragma once

#include "base/error.h"
#include "base/log.h"
#include "base/process.h"

namespace vessel::container::runtime {

// Relays until the process behind `pidfd` (our child) exits, then reaps it. The caller has blocked
// forwarded_signals().
Result<ExitStatus> relay_terminal(int master, int pidfd, const Logger& log);

}  // namespace vessel::container::runtime
