// The call sequence capabilities.h and seccomp.h document for a container's init, run end to end
// in a forked child that finally execs a program: both orders (with and without no_new_privs), and
// inside a new user namespace as a rootless container's init would. Needs root: `integration`.
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file.h"
#include "child_process.h"
#include "container/linux/capabilities.h"
#include "container/linux/seccomp.h"

namespace vessel::container {
namespace {

using testing::report;
using testing::run_in_child;

constexpr CapabilityMask bit(int capability) {
    return CapabilityMask{1} << capability;
}

// The value of one "Name:\tvalue" line of /proc/<pid>/status text.
std::string status_field(const std::string& status, const std::string& name) {
    auto at = status.find("\n" + name + ":\t");
    if (at == std::string::npos) return "(missing)";
    at += name.size() + 3;
    return status.substr(at, status.find('\n', at) - at);
}

std::string hex(CapabilityMask mask) {
    return fmt::format("{:016x}", mask);
}

class InitSequence : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: changes uid and drops capabilities";
        Json seccomp_json = default_seccomp_profile_json();
        seccomp_ =
            compile_seccomp(parse_seccomp(JsonAt(seccomp_json, "linux.seccomp")).value()).value();
        Json caps_json = default_capabilities_json();
        caps_ = parse_capabilities(JsonAt(caps_json, "process.capabilities")).value();
        // A non-root container program that keeps one capability across exec through ambient.
        caps_.inheritable = caps_.ambient = bit(CAP_NET_BIND_SERVICE);
    }

    // Execs cat on its own status with stdout on the report pipe.
    static int exec_cat_status(int out) {
        ::dup2(out, STDOUT_FILENO);
        ::execl("/bin/cat", "cat", "/proc/self/status", nullptr);
        return 127;
    }

    static bool switch_user(int out) {
        auto kept = keep_capabilities_across_uid_change();
        if (!kept) return report(out, kept.error().message()), false;
        if (::setgroups(0, nullptr) != 0 || ::setresgid(1000, 1000, 1000) != 0 ||
            ::setresuid(1000, 1000, 1000) != 0)
            return report(out, "uid switch failed"), false;
        return true;
    }

    CompiledSeccomp seccomp_;
    CapabilitySets caps_;
};

TEST_F(InitSequence, WithNoNewPrivilegesCapabilitiesFirstThenSeccomp) {
    ASSERT_TRUE(check_capabilities_available(caps_));
    auto outcome = run_in_child([&](int out) {
        if (!switch_user(out)) return 1;
        auto applied = apply_capabilities(caps_);
        if (!applied) return report(out, applied.error().message()), 1;
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 1;
        auto loaded = load_seccomp_filter(seccomp_);
        if (!loaded) return report(out, loaded.error().message()), 1;
        return exec_cat_status(out);
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(status_field(outcome.report, "Uid"), "1000\t1000\t1000\t1000");
    EXPECT_EQ(status_field(outcome.report, "Seccomp"), "2");
    EXPECT_EQ(status_field(outcome.report, "NoNewPrivs"), "1");
    EXPECT_EQ(status_field(outcome.report, "CapBnd"), hex(caps_.bounding));
    EXPECT_EQ(status_field(outcome.report, "CapAmb"), hex(bit(CAP_NET_BIND_SERVICE)));
    EXPECT_EQ(status_field(outcome.report, "CapPrm"), hex(bit(CAP_NET_BIND_SERVICE)));
    EXPECT_EQ(status_field(outcome.report, "CapEff"), hex(bit(CAP_NET_BIND_SERVICE)));
}

TEST_F(InitSequence, WithoutNoNewPrivilegesSeccompFirstThenCapabilities) {
    auto outcome = run_in_child([&](int out) {
        // Still root with CAP_SYS_ADMIN: the kernel accepts the filter without no_new_privs.
        auto loaded = load_seccomp_filter(seccomp_);
        if (!loaded) return report(out, loaded.error().message()), 1;
        // Everything after this runs under the default profile.
        if (!switch_user(out)) return 1;
        auto applied = apply_capabilities(caps_);
        if (!applied) return report(out, applied.error().message()), 1;
        return exec_cat_status(out);
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(status_field(outcome.report, "Seccomp"), "2");
    EXPECT_EQ(status_field(outcome.report, "NoNewPrivs"), "0");
    EXPECT_EQ(status_field(outcome.report, "CapBnd"), hex(caps_.bounding));
    EXPECT_EQ(status_field(outcome.report, "CapEff"), hex(bit(CAP_NET_BIND_SERVICE)));
}

TEST_F(InitSequence, InsideANewUserNamespace) {
    auto outcome = run_in_child([&](int out) {
        // The creator of a user namespace holds every capability in it; the bounding set is
        // inherited, so the host's limits still apply.
        if (::unshare(CLONE_NEWUSER) != 0) return report(out, "unshare failed"), 1;
        auto checked = check_capabilities_available(caps_);
        if (!checked) return report(out, checked.error().message()), 1;
        auto applied = apply_capabilities(caps_);
        if (!applied) return report(out, applied.error().message()), 1;
        auto current = current_capabilities();
        if (!current) return report(out, current.error().message()), 1;
        return *current == caps_ ? 0 : 2;
    });
    EXPECT_EQ(outcome.exit_code, 0) << outcome.report;
}

}  // namespace
}  // namespace vessel::container
