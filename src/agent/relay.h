// The exec side of the frame protocol, apart from how the program was started: relays a running
// program's standard streams (or its terminal) and its end over a connection. The agent uses it
// for programs it forks in the guest; vesseld for a container exec, whose program vessel-runc
// starts, so that both kinds of instance stream exec the same way (docs/agent-protocol.md, exec).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::agent {

struct RelayedProgram {
    // A child of this process: the relay reaps it, and its status is the exit frame.
    pid_t pid = -1;
    UniqueFd pidfd;  // invalid where the kernel has none: the relay then polls for the end
    // Without a terminal: pipes to and from the program. With one: input and output are two
    // descriptors of the master, and there is no error stream.
    UniqueFd input;
    UniqueFd output;
    UniqueFd errors;
    bool tty = false;
    // A signal frame. Unset: the program's process group gets it.
    std::function<void(int)> signal;
    // The host went away before the program ended: end it now (the relay reaps it afterwards).
    // Unset: SIGKILL to the program's process group.
    std::function<void()> kill;
};

// Makes a descriptor non-blocking, as the relay needs its program's descriptors.
Result<> set_nonblocking(int fd);

// Relays until the program has ended and its output is drained, then sends the exit frame. A
// connection lost midway ends the program.
Result<> relay_program(int connection, RelayedProgram program, std::string where);

}  // namespace vessel::agent
