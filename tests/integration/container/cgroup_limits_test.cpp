// Limits whose enforcement depends on what the host's cgroups can grant: realtime CPU bandwidth
// (v1's cpu.rt_*, handed down from the parent's own budget; v2 has none) and RDMA handles (the
// rdma controller and a device). Where the host cannot apply one, create fails naming the field
// rather than run the container unlimited.
#include "busybox_fixture.h"

namespace vessel {
namespace {

using CgroupLimitsTest = BusyboxContainerTest;

TEST_F(CgroupLimitsTest, RealtimeBandwidthIsAppliedOrRefusedNamingTheField) {
    config_["linux"]["resources"]["cpu"] = {{"realtimePeriod", 500000}, {"realtimeRuntime", 0}};
    auto realtime = run_container({"cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us"});
    if (path_exists("/sys/fs/cgroup/cpu/cpu.rt_period_us")) {
        EXPECT_EQ(realtime.out, "500000\n") << realtime.err;
        // The test's parent cgroup has no realtime budget to hand down: the kernel refuses.
        config_["linux"]["resources"]["cpu"]["realtimeRuntime"] = 10000;
        auto refused = run_container({"true"});
        EXPECT_EQ(refused.code, 1);
        EXPECT_NE(refused.err.find("linux.resources.cpu.realtimeRuntime"), std::string::npos)
            << refused.err;
    } else {
        EXPECT_EQ(realtime.code, 1);
        EXPECT_NE(realtime.err.find("cgroup v2 has no realtime CPU limits"), std::string::npos)
            << realtime.err;
    }
    expect_nothing_left();
}

TEST_F(CgroupLimitsTest, RdmaLimitsForADeviceTheHostLacksAreRefused) {
    config_["linux"]["resources"]["rdma"] = {{"vessel_no_such_hca", {{"hcaHandles", 2}}}};
    auto rdma = run_container({"true"});
    EXPECT_EQ(rdma.code, 1);
    EXPECT_NE(rdma.err.find("linux.resources.rdma"), std::string::npos) << rdma.err;
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
