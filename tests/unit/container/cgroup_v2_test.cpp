// The cgroup v2 driver against a directory that imitates a unified hierarchy (plain files), so the
// OCI-to-v2 conversions are checked on any host, this hybrid one included.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/file.h"
#include "base/process.h"
#include "host/cgroup/cgroup.h"

namespace vessel::host::cgroup {
namespace {

class FakeV2Tree : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-fake-v2-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        ASSERT_TRUE(
            write_file_atomic(root_ + "/cgroup.controllers", "cpuset cpu io memory pids\n"));
        ASSERT_TRUE(write_file_atomic(root_ + "/cgroup.subtree_control", ""));
        layout_.kind = LayoutKind::v2;
        layout_.unified = root_;
    }
    void TearDown() override { (void)run_capture({"rm", "-rf", root_}); }

    // The kernel creates a new cgroup's interface files; the fake tree makes them beforehand.
    void precreate(const std::string& leaf, std::initializer_list<const char*> files) {
        ASSERT_TRUE(make_directories(root_ + leaf));
        for (const char* file : files)
            ASSERT_TRUE(write_file_atomic(root_ + leaf + "/" + file, ""));
    }
    std::string read(const std::string& path) {
        return read_file(root_ + path).value_or("<missing>");
    }

    std::string root_;
    HostLayout layout_;
};

TEST_F(FakeV2Tree, ConvertsOciResourcesToV2Files) {
    precreate("/vessel", {"cgroup.subtree_control"});
    precreate("/vessel/c1", {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
                             "pids.max", "cgroup.procs"});
    auto cgroup = make_cgroup(layout_, "/vessel/c1");
    ASSERT_TRUE(cgroup->create());
    EXPECT_EQ(read("/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io");
    EXPECT_EQ(read("/vessel/cgroup.subtree_control"), "+cpu +cpuset +memory +pids +io");
    Resources resources;
    resources.memory.limit = 64 << 20;
    resources.memory.reservation = 32 << 20;
    resources.memory.swap = 96 << 20;
    resources.cpu.shares = 1024;
    resources.cpu.quota = 50000;
    resources.pids_limit = -1;
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(read("/vessel/c1/memory.max"), std::to_string(64 << 20));
    EXPECT_EQ(read("/vessel/c1/memory.low"), std::to_string(32 << 20));
    EXPECT_EQ(read("/vessel/c1/memory.swap.max"), std::to_string(32 << 20));  // swap alone
    EXPECT_EQ(read("/vessel/c1/cpu.weight"), "39");  // 1 + (1022 * 9999) / 262142
    EXPECT_EQ(read("/vessel/c1/cpu.max"), "50000 100000");
    EXPECT_EQ(read("/vessel/c1/pids.max"), "max");
    ASSERT_TRUE(cgroup->add_process(1234));
    EXPECT_EQ(read("/vessel/c1/cgroup.procs"), "1234");
}

TEST_F(FakeV2Tree, BlockIoThrottlesAreOneIoMaxLinePerDevice) {
    precreate("/c3", {"cgroup.procs", "io.max", "io.weight"});
    auto cgroup = make_cgroup(layout_, "/c3");
    ASSERT_TRUE(cgroup->create());
    Resources resources;
    resources.blkio_throttles.read_bps = {{8, 0, 1048576}};
    resources.blkio_throttles.write_iops = {{8, 0, 100}};
    resources.blkio_weight_devices = {{8, 0, 500}};
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(read("/c3/io.max"), "8:0 rbps=1048576 wiops=100");
    EXPECT_EQ(read("/c3/io.weight"), "8:0 500");
}

TEST_F(FakeV2Tree, HugepageLimitsGoToTheirMaxFile) {
    precreate("/c4", {"cgroup.procs", "hugetlb.2MB.max"});
    auto cgroup = make_cgroup(layout_, "/c4");
    ASSERT_TRUE(cgroup->create());
    Resources resources;
    resources.hugepage_limits = {{"2MB", 4194304}};
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(read("/c4/hugetlb.2MB.max"), "4194304");
    resources.hugepage_limits = {{"1GB", 0}};
    applied = cgroup->apply(resources, log);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().message(),
              "linux.resources.hugepageLimits[0]: the host's cgroup v2 tree has no hugetlb "
              "controller here (hugetlb.1GB.max is missing)");
}

TEST_F(FakeV2Tree, RdmaLimitsAreOneRdmaMaxLinePerDevice) {
    precreate("/c5", {"cgroup.procs", "rdma.max"});
    auto cgroup = make_cgroup(layout_, "/c5");
    ASSERT_TRUE(cgroup->create());
    Resources resources;
    resources.rdma_limits = {{"mlx5_0", 3, std::nullopt}};
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(read("/c5/rdma.max"), "mlx5_0 hca_handle=3 hca_object=max");
}

TEST_F(FakeV2Tree, CpuBurstAndIdleAndNoRealtime) {
    precreate("/c6", {"cgroup.procs", "cpu.max.burst", "cpu.idle"});
    auto cgroup = make_cgroup(layout_, "/c6");
    ASSERT_TRUE(cgroup->create());
    Resources resources;
    resources.cpu.burst = 20000;
    resources.cpu.idle = 1;
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_TRUE(applied) << applied.error().message();
    EXPECT_EQ(read("/c6/cpu.max.burst"), "20000");
    EXPECT_EQ(read("/c6/cpu.idle"), "1");
    resources.cpu.realtime_runtime = 10000;
    applied = cgroup->apply(resources, log);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().message(),
              "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime CPU limits (they "
              "need cgroup v1's cpu.rt_*)");
}

TEST_F(FakeV2Tree, MissingControllerNamesTheField) {
    precreate("/c2", {"cgroup.procs"});
    auto cgroup = make_cgroup(layout_, "/c2");
    ASSERT_TRUE(cgroup->create());
    Resources resources;
    resources.pids_limit = 10;
    Logger log;
    auto applied = cgroup->apply(resources, log);
    ASSERT_FALSE(applied);
    EXPECT_EQ(applied.error().message(),
              "linux.resources.pids.limit: the host's cgroup v2 tree has no pids controller here "
              "(pids.max is missing)");
}

TEST_F(FakeV2Tree, CreatedDirectoriesAreRemovedAgain) {
    // No controllers to delegate: the fake directories need no cgroup.subtree_control.
    ASSERT_TRUE(write_file_atomic(root_ + "/cgroup.controllers", "\n"));
    auto cgroup = make_cgroup(layout_, "/a/b");
    ASSERT_TRUE(cgroup->create());
    EXPECT_EQ(cgroup->created_directories(),
              (std::vector<std::string>{root_ + "/a", root_ + "/a/b"}));
    ASSERT_TRUE(cgroup->destroy());
    EXPECT_FALSE(path_exists(root_ + "/a"));
}

}  // namespace
}  // namespace vessel::host::cgroup
