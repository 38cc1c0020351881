// How the kernel schedules a container's process: its I/O priority and CPU scheduling policy
// (process.ioPriority, process.scheduler) and, for a process exec'd into a running container, the
// CPUs it may run on (process.execCPUAffinity).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

// Applied while the process still has the capabilities realtime classes need (CAP_SYS_ADMIN for
// IOPRIO_CLASS_RT, CAP_SYS_NICE for SCHED_FIFO/RR/DEADLINE and negative nice).
Result<> apply_scheduling(const spec::Process& process);

// Pins the calling process to the CPUs of `cpus` ("0-3,7", checked by the spec parser); errors
// name `json_path`.
Result<> set_cpu_affinity(const std::string& cpus, std::string_view json_path);

}  // namespace vessel::container::sys
