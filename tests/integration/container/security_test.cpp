// Capabilities and seccomp of real containers through the vessel-runc binary: what the process
// inside sees in /proc/self/status, what the default profile blocks, and that bad security config
// is reported with its JSON path and leaves nothing behind.
#include "busybox_fixture.h"

namespace vessel {
namespace {

using SecurityTest = BusyboxContainerTest;

constexpr uint64_t kChown = 1ULL << 0, kKill = 1ULL << 5, kNetBindService = 1ULL << 10;

TEST_F(SecurityTest, RootGetsExactlyTheBoundingSet) {
    config_["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"effective", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}}};
    auto sets = capabilities_inside();
    // execve as uid 0 grants permitted = effective = bounding (runc and crun behave the same).
    EXPECT_EQ(sets["CapBnd"], kChown | kKill | kNetBindService);
    EXPECT_EQ(sets["CapEff"], kChown | kKill | kNetBindService);
    EXPECT_EQ(sets["CapPrm"], kChown | kKill | kNetBindService);
    EXPECT_EQ(sets["CapInh"], 0u);
    EXPECT_EQ(sets["CapAmb"], 0u);
    expect_nothing_left();
}

TEST_F(SecurityTest, NonRootUserKeepsItsAmbientCapabilities) {
    config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
    config_["process"]["capabilities"] = {
        {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"effective", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"permitted", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"inheritable", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
        {"ambient", {"CAP_NET_BIND_SERVICE"}}};
    auto sets = capabilities_inside();
    EXPECT_EQ(sets["CapBnd"], kChown | kKill | kNetBindService);
    EXPECT_EQ(sets["CapInh"], kKill | kNetBindService);
    // A non-root execve keeps exactly the ambient set in permitted and effective.
    EXPECT_EQ(sets["CapAmb"], kNetBindService);
    EXPECT_EQ(sets["CapPrm"], kNetBindService);
    EXPECT_EQ(sets["CapEff"], kNetBindService);
    expect_nothing_left();
}

TEST_F(SecurityTest, AbsentCapabilitiesMeanEmptySets) {
    config_["process"].erase("capabilities");
    auto sets = capabilities_inside();
    for (const char* set : {"CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"})
        EXPECT_EQ(sets[set], 0u) << set;
    expect_nothing_left();
}

TEST_F(SecurityTest, DefaultSeccompProfileBlocksNewUserNamespaces) {
    std::vector<std::string> probe{"sh", "-c", "unshare -U true 2>/dev/null; echo unshare=$?"};
    // Both load orders: after no_new_privs, and before the capabilities are dropped.
    for (bool no_new_privileges : {true, false}) {
        config_["process"]["noNewPrivileges"] = no_new_privileges;
        auto blocked = run_container(probe);
        EXPECT_EQ(blocked.code, 0) << blocked.err;
        EXPECT_EQ(blocked.out, "unshare=1\n") << "noNewPrivileges " << no_new_privileges;
    }
    // The same container without the profile may create one: the filter is what blocks it.
    config_["linux"].erase("seccomp");
    auto allowed = run_container(probe);
    EXPECT_EQ(allowed.out, "unshare=0\n") << allowed.err;
    expect_nothing_left();
}

TEST_F(SecurityTest, ProfileRulesWithErrnoRet) {
    config_["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls",
         {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
    auto result = run_container({"sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"});
    EXPECT_EQ(result.code, 0) << result.err;
    EXPECT_NE(result.out.find("Function not implemented"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("rc=1"), std::string::npos) << result.out;
    expect_nothing_left();
}

TEST_F(SecurityTest, BadSecurityConfigNamesItsPathAndLeavesNothing) {
    config_["process"]["capabilities"]["bounding"] = {"CAP_KILL", "CAP_CHOWN", "CAP_FOO"};
    auto result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: process.capabilities.bounding[2]: unknown capability "
              "\"CAP_FOO\"\n");
    expect_nothing_left();

    config_ = container::spec::default_spec();
    config_["linux"]["cgroupsPath"] = cgroup_parent_ + "/" + id_;
    config_["linux"]["seccomp"]["syscalls"][1]["action"] = "SCMP_ACT_FOO";
    result = run_container({"true"});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: linux.seccomp.syscalls[1].action: unknown action "
              "\"SCMP_ACT_FOO\"\n");
    expect_nothing_left();

    // `create` fails the same way and leaves no state either.
    config_["process"]["capabilities"]["effective"] = {"CAP_NOPE"};
    config_["linux"].erase("seccomp");
    EXPECT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    result = invoke({"create", "--bundle", bundle_, id_});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err,
              "vessel-runc: config.json: process.capabilities.effective[0]: unknown capability "
              "\"CAP_NOPE\"\n");
    expect_nothing_left();
}

TEST_F(SecurityTest, SpecWritesDefaultCapabilitiesAndSeccomp) {
    ::unlink((bundle_ + "/config.json").c_str());
    auto result = invoke({"spec"});
    ASSERT_EQ(result.code, 0) << result.err;
    auto written = parse_json(slurp(bundle_ + "/config.json"), "config.json");
    ASSERT_TRUE(written);
    EXPECT_EQ((*written)["process"]["capabilities"]["bounding"],
              Json({"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}));  // capability order
    EXPECT_EQ((*written)["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
}

}  // namespace
}  // namespace vessel
