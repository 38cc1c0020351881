// linux.seccomp.listenerPath: the notify descriptor of a filter with SCMP_ACT_NOTIFY rules goes
// from the container's process (which loaded the filter) through the runtime to the agent
// listening there, with the OCI container process state, as runc and crun send it.
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "container/linux/security_plan.h"

namespace vessel::container::runtime {

// Receives the descriptor from the process on `sync_fd` (an error message it sent instead becomes
// the error) and sends it to the agent. `state`: the container's OCI state; `pid`: the process
// whose system calls the agent will answer.
Result<> pass_seccomp_listener(int sync_fd, const sys::SecurityPlan& plan, const Json& state,
                               pid_t pid);

}  // namespace vessel::container::runtime
