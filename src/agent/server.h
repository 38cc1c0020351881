// The agent's connection handling: listen, accept, one forked child per connection, and in the
// child the request frame that names the operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "agent/power.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::agent {

// AF_VSOCK, any CID, `port`. At boot the vsock transport may not be there yet (module or device
// not probed): those failures are retried every 100 ms for up to `patience`.
Result<UniqueFd> listen_vsock(uint32_t port, std::chrono::milliseconds patience);

// A unix stream socket at `path` (replacing a stale socket file there), for host tests.
Result<UniqueFd> listen_unix(const std::string& path);

// Accepts connections forever, serving each in its own child process so that a slow or stuck
// host connection never holds up the others, and reaps the children. Returns only on an error
// that makes accepting impossible.
Result<> serve(int listener, PowerActions& power);

// Serves one connection to its end: one operation. Failures go to the host as an error reply
// (when it can still receive one) and to stderr as one line.
void serve_connection(UniqueFd connection, PowerActions& power);

}  // namespace vessel::agent
