#include <gtest/gtest.h>

#include "host/cgroup/cgroup.h"
#include "host/cgroup/layout.h"

namespace vessel::host::cgroup {
namespace {

// Lines as this development host shows them (hybrid: v1 controllers + cgroup2 with hugetlb only).
constexpr const char* kHybrid =
    "25 20 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
    "cgroup2 rw\n"
    "27 25 0:24 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
    "29 25 0:26 / /sys/fs/cgroup/memory rw shared:13 - cgroup cgroup rw,memory\n"
    "30 25 0:27 / /sys/fs/cgroup/pids rw shared:14 - cgroup cgroup rw,pids\n";

constexpr const char* kPureV2 =
    "25 20 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate\n";

TEST(CgroupLayout, Hybrid) {
    auto layout = parse_layout(kHybrid);
    ASSERT_TRUE(layout) << layout.error().message();
    EXPECT_EQ(layout->kind, LayoutKind::hybrid);
    EXPECT_EQ(layout->unified, "/sys/fs/cgroup/unified");
    ASSERT_EQ(layout->v1.size(), 3u);  // the named systemd tree is not a controller hierarchy
    ASSERT_NE(layout->find_v1("cpuacct"), nullptr);
    EXPECT_EQ(layout->find_v1("cpuacct")->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(layout->find_v1("blkio"), nullptr);
}

TEST(CgroupLayout, PureV2) {
    auto layout = parse_layout(kPureV2);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->kind, LayoutKind::v2);
    EXPECT_EQ(layout->unified, "/sys/fs/cgroup");
    EXPECT_TRUE(layout->v1.empty());
}

TEST(CgroupLayout, NoCgroupsIsAnError) {
    EXPECT_FALSE(parse_layout("25 20 0:22 / /tmp rw - tmpfs tmpfs rw\n"));
}

TEST(CgroupLayout, BindMountsOfSubtreesAreIgnored) {
    auto layout = parse_layout(
        "25 20 0:22 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "26 20 0:23 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->kind, LayoutKind::v1);
    EXPECT_EQ(layout->find_v1("memory"), nullptr);
}

TEST(CgroupPath, DefaultsAndNormalisation) {
    EXPECT_EQ(cgroup_path_for("", "abc"), "/vessel/abc");
    EXPECT_EQ(cgroup_path_for("/a/b/", "abc"), "/a/b");
    EXPECT_EQ(cgroup_path_for("a/b", "abc"), "/a/b");
    // Cleaned, so that the runtime sees these are the root cgroup and refuses them.
    EXPECT_EQ(cgroup_path_for("/", "abc"), "/");
    EXPECT_EQ(cgroup_path_for("/./", "abc"), "/");
    EXPECT_EQ(cgroup_path_for("//a//./b", "abc"), "/a/b");
}

}  // namespace
}  // namespace vessel::host::cgroup
