// process.ioPriority, process.scheduler and process.execCPUAffinity: how the kernel schedules the
// container's process, checked here so that a bad value fails before anything exists.
#include <linux/mempolicy.h>
#include <linux/sched.h>
#include <sched.h>

#include <array>
#include <charconv>
#include <string_view>

#include "container/spec/number_list.h"
#include "container/spec/parse_internal.h"

namespace vessel::container::spec {

namespace {

template <typename Value>
struct Named {
    const char* name;
    Value value;
};

constexpr std::array<Named<int>, 3> kIoClasses{{
    {"IOPRIO_CLASS_RT", kIoClassRealtime},
    {"IOPRIO_CLASS_BE", kIoClassBestEffort},
    {"IOPRIO_CLASS_IDLE", kIoClassIdle},
}};

constexpr std::array<Named<int>, 7> kPolicies{{
    {"SCHED_OTHER", SCHED_OTHER},
    {"SCHED_FIFO", SCHED_FIFO},
    {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},
    {"SCHED_ISO", 4},  // reserved by the kernel, never implemented: refused below
    {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", 6},
}};

constexpr std::array<Named<uint64_t>, 7> kFlags{{
    {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK},
    {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM},
    {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN},
    {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY},
    {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX},
}};

template <typename Value, size_t N>
Result<Value> look_up(const JsonAt& at, const std::array<Named<Value>, N>& table,
                      std::string_view what) {
    std::string name = TRY(at.string());
    for (const auto& entry : table)
        if (name == entry.name) return entry.value;
    std::string known;
    for (const auto& entry : table)
        known += (known.empty() ? "" : ", ") + std::string(entry.name);
    return std::unexpected(at.error(fmt::format("unknown {} \"{}\" ({})", what, name, known)));
}

Result<IoPriority> parse_io_priority(const JsonAt& at) {
    TRY(at.expect_object());
    IoPriority priority;
    priority.io_class = TRY(look_up(TRY(at.child("class")), kIoClasses, "I/O class"));
    auto level = TRY(at.optional_integer("priority")).value_or(0);
    if (level < 0 || level > 7)
        return std::unexpected(TRY(at.child("priority")).error("must be between 0 and 7"));
    priority.level = static_cast<int>(level);
    return priority;
}

Result<Scheduler> parse_scheduler(const JsonAt& at) {
    TRY(at.expect_object());
    Scheduler scheduler;
    JsonAt policy_at = TRY(at.child("policy"));
    scheduler.policy = TRY(look_up(policy_at, kPolicies, "policy"));
    if (scheduler.policy == 4)
        return std::unexpected(policy_at.error("SCHED_ISO is not implemented by Linux"));
    auto nice = TRY(at.optional_integer("nice")).value_or(0);
    if (nice < -20 || nice > 19)
        return std::unexpected(TRY(at.child("nice")).error("must be between -20 and 19"));
    scheduler.nice = static_cast<int>(nice);
    auto priority = TRY(at.optional_integer("priority")).value_or(0);
    bool realtime = scheduler.policy == SCHED_FIFO || scheduler.policy == SCHED_RR;
    if (realtime ? (priority < 1 || priority > 99) : priority != 0)
        return std::unexpected(
            (at.has("priority") ? TRY(at.child("priority")) : policy_at)
                .error(realtime ? "priority: must be between 1 and 99 for SCHED_FIFO and SCHED_RR"
                                : "priority: must be 0 except for SCHED_FIFO and SCHED_RR"));
    scheduler.priority = static_cast<int>(priority);
    if (auto flags = at.optional_child("flags"))
        for (const JsonAt& flag : TRY(flags->array()))
            scheduler.flags |= TRY(look_up(flag, kFlags, "flag"));
    scheduler.runtime = TRY(at.optional_unsigned("runtime")).value_or(0);
    scheduler.deadline = TRY(at.optional_unsigned("deadline")).value_or(0);
    scheduler.period = TRY(at.optional_unsigned("period")).value_or(0);
    if (scheduler.policy == 6) {
        // The kernel's own rule, checked up front: runtime <= deadline <= period (0: deadline).
        uint64_t period = scheduler.period ? scheduler.period : scheduler.deadline;
        if (scheduler.runtime == 0 || scheduler.runtime > scheduler.deadline ||
            scheduler.deadline > period)
            return std::unexpected(
                policy_at.error("SCHED_DEADLINE needs 0 < runtime <= deadline <= period"));
    }
    return scheduler;
}

// MPOL_WEIGHTED_INTERLEAVE (Linux 6.9) is newer than these headers.
constexpr std::array<Named<int>, 7> kMemoryPolicyModes{{
    {"MPOL_DEFAULT", MPOL_DEFAULT},
    {"MPOL_PREFERRED", MPOL_PREFERRED},
    {"MPOL_BIND", MPOL_BIND},
    {"MPOL_INTERLEAVE", MPOL_INTERLEAVE},
    {"MPOL_LOCAL", MPOL_LOCAL},
    {"MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY},
    {"MPOL_WEIGHTED_INTERLEAVE", 6},
}};

constexpr std::array<Named<unsigned>, 3> kMemoryPolicyFlags{{
    {"MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES},
    {"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES},
    {"MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING},
}};

}  // namespace

Result<Linux::MemoryPolicy> parse_memory_policy(const JsonAt& at) {
    TRY(at.expect_object());
    Linux::MemoryPolicy policy;
    JsonAt mode_at = TRY(at.child("mode"));
    policy.mode = TRY(look_up(mode_at, kMemoryPolicyModes, "mode"));
    bool takes_nodes = policy.mode != MPOL_DEFAULT && policy.mode != MPOL_LOCAL;
    if (auto nodes = at.optional_child("nodes")) {
        policy.nodes = TRY(nodes->string());
        if (!takes_nodes && !policy.nodes.empty())
            return std::unexpected(
                nodes->error(fmt::format("must be empty for {}", TRY(mode_at.string()))));
        if (takes_nodes) TRY(check_number_list(*nodes, "NUMA nodes", kMaxNumaNodes));
    } else if (takes_nodes) {
        return std::unexpected(
            at.error(fmt::format("nodes: is required for {}", TRY(mode_at.string()))));
    }
    if (auto flags = at.optional_child("flags"))
        for (const JsonAt& flag : TRY(flags->array()))
            policy.flags |= TRY(look_up(flag, kMemoryPolicyFlags, "flag"));
    if ((policy.flags & MPOL_F_STATIC_NODES) && (policy.flags & MPOL_F_RELATIVE_NODES))
        return std::unexpected(
            TRY(at.child("flags"))
                .error("MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other"));
    return policy;
}

Result<> check_number_list(const JsonAt& at, std::string_view what, unsigned limit) {
    std::string list = TRY(at.string());
    auto ranges = parse_number_list(list, limit);
    if (ranges) return {};
    if (ranges.error().message().find("is beyond") != std::string::npos)
        return std::unexpected(at.error(ranges.error().message()));
    return std::unexpected(at.error(fmt::format("must be a list of {} like \"0-3,7\"", what)));
}

Result<> parse_process_scheduling(const JsonAt& at, Process& process) {
    if (auto priority = at.optional_child("ioPriority"))
        process.io_priority = TRY(parse_io_priority(*priority));
    if (auto scheduler = at.optional_child("scheduler"))
        process.scheduler = TRY(parse_scheduler(*scheduler));
    if (auto affinity = at.optional_child("execCPUAffinity")) {
        TRY(affinity->expect_object());
        if (auto initial = affinity->optional_child("initial")) {
            TRY(check_number_list(*initial, "CPUs", CPU_SETSIZE));
            process.exec_cpu_affinity.initial = TRY(initial->string());
        }
        if (auto final_cpus = affinity->optional_child("final")) {
            TRY(check_number_list(*final_cpus, "CPUs", CPU_SETSIZE));
            process.exec_cpu_affinity.final_cpus = TRY(final_cpus->string());
        }
    }
    return {};
}

}  // namespace vessel::container::spec
