// linux.cgroupsPath "slice:prefix:name" for the systemd cgroup driver: the unit, its slice and
// where systemd puts its cgroup, and the malformed paths refused with the reason.
#include "host/cgroup/systemd_unit_name.h"

#include <gtest/gtest.h>

namespace vessel::host::cgroup {
namespace {

SystemdPlacement placed(std::string_view path, std::string_view id = "c1") {
    auto placement = systemd_placement(path, id);
    EXPECT_TRUE(placement) << path << ": " << placement.error().message();
    return placement.value_or(SystemdPlacement{});
}

std::string refusal(std::string_view path) {
    auto placement = systemd_placement(path, "c1");
    EXPECT_FALSE(placement) << path << " was accepted as " << placement->unit;
    return placement ? std::string() : placement.error().message();
}

TEST(SystemdUnitName, ScopeInTheGivenSlice) {
    SystemdPlacement p = placed("system.slice:docker:abc");
    EXPECT_EQ(p.unit, "docker-abc.scope");
    EXPECT_EQ(p.slice, "system.slice");
    EXPECT_EQ(p.path, "/system.slice/docker-abc.scope");
    EXPECT_FALSE(p.is_slice());
}

TEST(SystemdUnitName, EmptySliceIsSystemSlice) {
    SystemdPlacement p = placed(":vessel:t1");
    EXPECT_EQ(p.unit, "vessel-t1.scope");
    EXPECT_EQ(p.slice, "system.slice");
    EXPECT_EQ(p.path, "/system.slice/vessel-t1.scope");
}

TEST(SystemdUnitName, EmptyPathIsTheDefault) {
    SystemdPlacement p = placed("", "my-box");
    EXPECT_EQ(p.unit, "vessel-my-box.scope");
    EXPECT_EQ(p.path, "/system.slice/vessel-my-box.scope");
}

TEST(SystemdUnitName, EmptyPrefixLeavesTheNameAlone) {
    EXPECT_EQ(placed("system.slice::abc").unit, "abc.scope");
}

TEST(SystemdUnitName, NestedSliceLivesUnderEachParent) {
    // As kubelet's pod slices: kubepods-burstable-pod1.slice is in kubepods-burstable.slice,
    // which is in kubepods.slice.
    SystemdPlacement p = placed("kubepods-burstable-pod1.slice:cri-containerd:abc");
    EXPECT_EQ(p.slice, "kubepods-burstable-pod1.slice");
    EXPECT_EQ(p.path,
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
              "cri-containerd-abc.scope");
}

TEST(SystemdUnitName, RootSliceIsTheRoot) {
    SystemdPlacement p = placed("-.slice:vessel:abc");
    EXPECT_EQ(p.slice, "-.slice");
    EXPECT_EQ(p.path, "/vessel-abc.scope");
}

TEST(SystemdUnitName, NameEndingInSliceMakesASlice) {
    SystemdPlacement p = placed("a.slice::a-b.slice");
    EXPECT_EQ(p.unit, "a-b.slice");
    EXPECT_TRUE(p.is_slice());
    EXPECT_EQ(p.path, "/a.slice/a-b.slice");
    // Without a slice, the name alone says where it goes.
    EXPECT_EQ(placed("::x-y-z.slice").path, "/x.slice/x-y.slice/x-y-z.slice");
    EXPECT_EQ(placed("::top.slice").path, "/top.slice");
}

TEST(SystemdUnitName, ExpandSlice) {
    EXPECT_EQ(expand_slice("system.slice").value(), "/system.slice");
    EXPECT_EQ(expand_slice("a-b-c.slice").value(), "/a.slice/a-b.slice/a-b-c.slice");
    EXPECT_EQ(expand_slice("-.slice").value(), "");
    EXPECT_FALSE(expand_slice("a--b.slice"));
    EXPECT_FALSE(expand_slice("-a.slice"));
    EXPECT_FALSE(expand_slice("a-.slice"));
    EXPECT_FALSE(expand_slice(".slice"));
    EXPECT_FALSE(expand_slice("system"));
    EXPECT_FALSE(expand_slice("system.scope"));
}

TEST(SystemdUnitName, MalformedPathsAreRefusedWithTheReason) {
    EXPECT_EQ(refusal("/vessel/abc"),
              "\"/vessel/abc\": the systemd cgroup driver takes \"slice:prefix:name\" (three parts "
              "separated by colons, e.g. \"system.slice:vessel:c1\")");
    EXPECT_NE(refusal("a.slice:b").find("three parts"), std::string::npos);
    EXPECT_NE(refusal("a.slice:b:c:d").find("three parts"), std::string::npos);
    EXPECT_EQ(refusal("system.slice:vessel:"),
              "\"system.slice:vessel:\": the name (after the second colon) must not be empty");
    EXPECT_EQ(refusal("system:vessel:abc"),
              "\"system:vessel:abc\": slice \"system\" must be a unit name ending in \".slice\"");
    EXPECT_EQ(refusal("a--b.slice:vessel:abc"),
              "\"a--b.slice:vessel:abc\": slice \"a--b.slice\": an empty part between dashes "
              "names no parent slice");
    EXPECT_EQ(refusal("system.slice:vessel:a/b"),
              "\"system.slice:vessel:a/b\": \"vessel-a/b.scope\": systemd unit names hold only "
              "letters, digits and \"-_.\\\" (not \"/\")");
    EXPECT_NE(refusal("system.slice:ves sel:abc").find("not \" \""), std::string::npos);
    EXPECT_NE(refusal("sys/tem.slice:vessel:abc").find("not \"/\""), std::string::npos);
    EXPECT_NE(refusal("system.slice:vessel:" + std::string(250, 'x')).find("longer than"),
              std::string::npos);
    // A slice's parent is in its name: another one is a mistake, not silently ignored.
    EXPECT_EQ(refusal("system.slice::a-b.slice"),
              "\"system.slice::a-b.slice\": slice a-b.slice lives in a.slice (its name says so), "
              "not in system.slice");
    EXPECT_EQ(placed("-.slice::top.slice").path, "/top.slice");
    EXPECT_NE(refusal("system.slice::top.slice").find("lives in -.slice"), std::string::npos);
}

TEST(SystemdUnitName, IsSystemdCgroupsPath) {
    EXPECT_TRUE(is_systemd_cgroups_path("system.slice:vessel:abc"));
    EXPECT_TRUE(is_systemd_cgroups_path("::abc"));
    EXPECT_FALSE(is_systemd_cgroups_path("/vessel/abc"));
    EXPECT_FALSE(is_systemd_cgroups_path(""));
}

}  // namespace
}  // namespace vessel::host::cgroup
