// apply_capabilities in forked children, checked against what the kernel reports in
// /proc/self/status. Needs root (CAP_SETPCAP, CAP_SETUID): label `integration`.
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file.h"
#include "child_process.h"
#include "container/linux/capabilities.h"

namespace vessel::container {
namespace {

using testing::report;
using testing::run_in_child;

constexpr CapabilityMask bit(int capability) {
    return CapabilityMask{1} << capability;
}
constexpr uid_t kUnprivilegedId = 1000;

// The five Cap* lines of a /proc/<pid>/status text, in the kernel's own order and format.
std::string cap_lines(const std::string& status) {
    std::string lines;
    for (const char* label : {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"}) {
        auto at = status.find(label);
        if (at == std::string::npos) return "no " + std::string(label);
        lines += status.substr(at, status.find('\n', at) - at + 1);
    }
    return lines;
}

std::string expected_lines(const CapabilitySets& sets) {
    return fmt::format(
        "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\n"
        "CapAmb:\t{:016x}\n",
        sets.inheritable, sets.permitted, sets.effective, sets.bounding, sets.ambient);
}

// Switches to an unprivileged uid/gid the way a container init does.
bool become_unprivileged() {
    return ::setgroups(0, nullptr) == 0 &&
           ::setresgid(kUnprivilegedId, kUnprivilegedId, kUnprivilegedId) == 0 &&
           ::setresuid(kUnprivilegedId, kUnprivilegedId, kUnprivilegedId) == 0;
}

class ApplyCapabilities : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: drops capabilities and changes uid";
    }
};

TEST_F(ApplyCapabilities, AsRootTheSetsEndExactlyAsConfigured) {
    Json config = default_capabilities_json();
    auto sets = parse_capabilities(JsonAt(config, "process.capabilities")).value();
    auto outcome = run_in_child([&](int out) {
        auto applied = apply_capabilities(sets);
        if (!applied) return report(out, applied.error().message()), 1;
        report(out, cap_lines(read_file("/proc/self/status").value_or("")));
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, expected_lines(sets));
    EXPECT_EQ(outcome.report,
              "CapInh:\t0000000000000000\nCapPrm:\t0000000020000420\n"
              "CapEff:\t0000000020000420\nCapBnd:\t0000000020000420\n"
              "CapAmb:\t0000000000000000\n");
}

TEST_F(ApplyCapabilities, AfterAUidChangeIncludingAmbient) {
    const CapabilitySets sets{
        .bounding = bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW) | bit(CAP_CHOWN) | bit(CAP_BPF),
        .effective = bit(CAP_NET_BIND_SERVICE),
        .permitted = bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_RAW) | bit(CAP_BPF),
        .inheritable = bit(CAP_NET_BIND_SERVICE) | bit(CAP_BPF),
        .ambient = bit(CAP_NET_BIND_SERVICE) | bit(CAP_BPF)};
    ASSERT_TRUE(check_capabilities_available(sets));
    auto outcome = run_in_child([&](int out) {
        auto kept = keep_capabilities_across_uid_change();
        if (!kept) return report(out, kept.error().message()), 1;
        if (!become_unprivileged()) return report(out, "uid change failed"), 1;
        auto applied = apply_capabilities(sets);
        if (!applied) return report(out, applied.error().message()), 1;
        if (::prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0) return report(out, "keepcaps left on"), 1;
        report(out, cap_lines(read_file("/proc/self/status").value_or("")));
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, expected_lines(sets));
}

TEST_F(ApplyCapabilities, AmbientCapabilitiesSurviveExecAsNonRoot) {
    const CapabilityMask granted = bit(CAP_NET_BIND_SERVICE);
    const CapabilitySets sets{.bounding = granted | bit(CAP_KILL),
                              .effective = granted,
                              .permitted = granted,
                              .inheritable = granted,
                              .ambient = granted};
    auto outcome = run_in_child([&](int out) {
        if (!keep_capabilities_across_uid_change() || !become_unprivileged()) return 1;
        auto applied = apply_capabilities(sets);
        if (!applied) return report(out, applied.error().message()), 1;
        // The exec'd program's status, written to the report pipe by cat itself.
        ::dup2(out, STDOUT_FILENO);
        ::execl("/bin/cat", "cat", "/proc/self/status", nullptr);
        return 127;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    // A non-root program without file capabilities gets permitted = effective = ambient.
    EXPECT_EQ(cap_lines(outcome.report), expected_lines(sets));
}

TEST_F(ApplyCapabilities, EmptySetsLeaveNothing) {
    auto outcome = run_in_child([&](int out) {
        auto applied = apply_capabilities({});
        if (!applied) return report(out, applied.error().message()), 1;
        report(out, cap_lines(read_file("/proc/self/status").value_or("")));
        // Without CAP_SETUID the process can no longer become root again.
        return ::setuid(0) == 0 && ::geteuid() != 0 ? 2 : 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, expected_lines({}));
}

TEST_F(ApplyCapabilities, UidChangeWithoutKeepCapsIsReported) {
    const CapabilitySets sets{
        .bounding = bit(CAP_KILL), .effective = bit(CAP_KILL), .permitted = bit(CAP_KILL)};
    auto outcome = run_in_child([&](int out) {
        if (!become_unprivileged()) return 1;
        auto applied = apply_capabilities(sets);
        if (applied) return 2;
        report(out, applied.error().message());
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report,
              "cannot grant CAP_KILL: the container's init no longer holds it (was the uid changed "
              "without keep_capabilities_across_uid_change, or does the host lack it?)");
}

TEST_F(ApplyCapabilities, CapabilityMissingFromTheHostIsNamed) {
    if (::prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE, 0, 0, 0) == 1)
        GTEST_SKIP() << "this host's bounding set has CAP_SYS_RESOURCE; the test needs a host "
                        "that lacks it (as the development machines do)";
    const CapabilitySets sets{.bounding = bit(CAP_KILL) | bit(CAP_SYS_RESOURCE),
                              .effective = bit(CAP_KILL),
                              .permitted = bit(CAP_KILL)};
    auto checked = check_capabilities_available(sets);
    ASSERT_FALSE(checked);
    EXPECT_EQ(checked.error().message(),
              "process.capabilities.bounding: CAP_SYS_RESOURCE is not in this host's capability "
              "bounding set, so no process started here can have it; remove it from the "
              "configuration");

    // apply_capabilities refuses before changing anything.
    auto outcome = run_in_child([&](int out) {
        auto before = read_file("/proc/self/status").value_or("");
        auto applied = apply_capabilities(sets);
        if (applied) return 2;
        report(out, applied.error().message());
        return cap_lines(before) == cap_lines(read_file("/proc/self/status").value_or("")) ? 0 : 3;
    });
    EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, checked.error().message());
}

TEST_F(ApplyCapabilities, CurrentCapabilitiesReadsBackWhatWasApplied) {
    const CapabilitySets sets{.bounding = bit(CAP_CHOWN) | bit(CAP_CHECKPOINT_RESTORE),
                              .effective = bit(CAP_CHECKPOINT_RESTORE),
                              .permitted = bit(CAP_CHOWN) | bit(CAP_CHECKPOINT_RESTORE),
                              .inheritable = bit(CAP_CHOWN)};
    auto outcome = run_in_child([&](int out) {
        auto applied = apply_capabilities(sets);
        if (!applied) return report(out, applied.error().message()), 1;
        auto current = current_capabilities();
        if (!current) return report(out, current.error().message()), 1;
        return *current == sets ? 0 : 2;
    });
    EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

}  // namespace
}  // namespace vessel::container
