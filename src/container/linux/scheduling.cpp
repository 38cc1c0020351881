#include "container/linux/scheduling.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/spec/number_list.h"

namespace vessel::container::sys {

namespace {

// The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0): <linux/sched/types.h>
// clashes with glibc's struct sched_param.
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};
static_assert(sizeof(SchedAttr) == 48);

}  // namespace

Result<> apply_scheduling(const spec::Process& process) {
    if (process.io_priority) {
        // ioprio_set(IOPRIO_WHO_PROCESS, self, class << IOPRIO_CLASS_SHIFT | level).
        constexpr int kWhoProcess = 1;
        constexpr int kClassShift = 13;
        int value = process.io_priority->io_class << kClassShift | process.io_priority->level;
        if (::syscall(SYS_ioprio_set, kWhoProcess, 0, value) != 0)
            return fail_errno("process.ioPriority: ioprio_set");
    }
    if (process.scheduler) {
        const spec::Scheduler& wanted = *process.scheduler;
        SchedAttr attributes{};
        attributes.size = sizeof attributes;
        attributes.sched_policy = static_cast<uint32_t>(wanted.policy);
        attributes.sched_flags = wanted.flags;
        attributes.sched_nice = wanted.nice;
        attributes.sched_priority = static_cast<uint32_t>(wanted.priority);
        attributes.sched_runtime = wanted.runtime;
        attributes.sched_deadline = wanted.deadline;
        attributes.sched_period = wanted.period;
        if (::syscall(SYS_sched_setattr, 0, &attributes, 0) != 0)
            return fail_errno("process.scheduler: sched_setattr");
    }
    return {};
}

Result<> set_cpu_affinity(const std::string& cpus, std::string_view json_path) {
    cpu_set_t set;
    CPU_ZERO(&set);
    auto ranges = TRY_CTX(spec::parse_number_list(cpus, CPU_SETSIZE), "{}", json_path);
    for (auto [first, last] : ranges)
        for (unsigned cpu = first; cpu <= last; ++cpu)
            CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0)
        return fail_errno(fmt::format("{}: sched_setaffinity {}", json_path, cpus));
    return {};
}

}  // namespace vessel::container::sys
