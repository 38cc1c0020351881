// The OCI lifecycle hooks: parsed and checked before a container exists, run with the container's
// state on standard input, each within its timeout.
//
//   prestart, createRuntime   create, once the namespaces and rootfs exist; runtime namespaces
//   createContainer           create, right after; in the container's namespaces
//   startContainer            start, before the program runs; in the container's namespaces
//   poststart                 start, once the program runs; runtime namespaces; failure: warning
//   poststop                  delete, once the container is gone; runtime namespaces; warning
//
// A hook in the container's namespaces is opened on the host first (its path is the runtime's),
// then executed after joining the init's namespaces.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"

namespace vessel::container::runtime {

struct Hook {
    std::string path;
    std::vector<std::string> args;  // argv, args[0] included; {path} when absent
    std::vector<std::string> env;
    std::optional<int> timeout_seconds;
    std::string where;  // "hooks.createRuntime[0]", for messages
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

// Checks config.json's `hooks` (null: none). Errors name the JSON path:
//   hooks.poststart[1].path: /opt/hook: No such file or directory
//   hooks.prestart[0].timeout: must be a positive number of seconds
Result<Hooks> parse_hooks(const Json& hooks);

// Runs each hook in order and stops at the first failure, whose error names the hook, its exit
// status (or time-out) and what it wrote to stderr. `container_pidfd` >= 0 runs them in the
// namespaces of that process.
Result<> run_hooks(const std::vector<Hook>& hooks, const Json& state, int container_pidfd = -1);

// For the hooks whose failure does not stop the lifecycle: logs a warning instead.
void run_hooks_warning_only(const std::vector<Hook>& hooks, const Json& state, const Logger& log);

}  // namespace vessel::container::runtime
