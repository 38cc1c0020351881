// Progress of a long operation (export, import, copy) as "progress" events on the event stream,
// which the CLI turns into its progress line:
//   {"type": "progress", "metadata": {"action": "export", "instance": "c1", "stage": "...",
//    "bytes": 1048576, "total": 104857600}}
// Byte counts go out at most four times a second, so a fast copy does not flood subscribers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "manager/operations.h"

namespace vessel::manager {

class ProgressReporter {
  public:
    ProgressReporter(EventBus& events, std::string action, std::string instance)
        : events_(events), action_(std::move(action)), instance_(std::move(instance)) {}

    // A new stage ("archiving", "extracting"), with its total bytes where known (0: unknown).
    void stage(std::string name, uint64_t total = 0);
    // Bytes done in the current stage.
    void bytes(uint64_t done);

  private:
    void publish();

    EventBus& events_;
    std::string action_;
    std::string instance_;
    std::string stage_;
    uint64_t total_ = 0;
    uint64_t done_ = 0;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace vessel::manager
