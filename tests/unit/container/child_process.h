// Runs a test body in a forked child, so that irreversible changes (dropped capabilities, a loaded
// seccomp filter, a new uid) stay out of the test process. The child reports through a pipe.
#pragma once

#include <functional>
#include <string>

namespace vessel::container::testing {

struct ChildOutcome {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;
    std::string report;  // what the child wrote with `report`
};

// The body runs in the child and returns its exit code; it may write text to `report_fd`.
// Only async-signal-safe work is guaranteed in a child of a threaded parent; the test binaries are
// single-threaded, so ordinary library calls are fine.
ChildOutcome run_in_child(const std::function<int(int report_fd)>& body);

// Writes text to the report fd (for messages from the child).
void report(int report_fd, const std::string& text);

}  // namespace vessel::container::testing
