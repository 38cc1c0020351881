// Tells a reader when the kernel's OOM killer kills in a container's cgroup, for `events`
// (containerd's task OOM event, Kubernetes' OOMKilled). The wake-up comes from the kernel: on v2
// an inotify watch on memory.events (whose change the kernel signals as a modification), on v1 an
// eventfd registered for memory.oom_control through cgroup.event_control. A wake-up only says
// "look": the kill counter (oom_kill in memory.events, or in memory.oom_control since Linux 4.13)
// decides, so an OOM that ended without a kill, or the cgroup going away, reports none.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "host/cgroup/layout.h"

namespace vessel::host::cgroup {

class OomWatch {
  public:
    // Fails where the host has no memory controller for the cgroup.
    static Result<OomWatch> open(const HostLayout& layout, const std::string& path);

    // Readable when the kernel has something to say (poll it with POLLIN).
    int fd() const { return wake_.get(); }
    // Consumes any wake-up and returns the kills counted since the last call (or since open).
    Result<uint64_t> new_kills();

  private:
    OomWatch(UniqueFd wake, UniqueFd watched, std::string counter_file, bool eventfd);
    Result<uint64_t> read_kill_count() const;

    UniqueFd wake_;
    UniqueFd watched_;  // v1: memory.oom_control, which must stay open while registered
    std::string counter_file_;
    bool eventfd_ = false;
    uint64_t seen_kills_ = 0;
};

}  // namespace vessel::host::cgroup
