#include "container/linux/mount_info.h"

#include <gtest/gtest.h>

namespace vessel::container::sys {
namespace {

constexpr std::string_view kMountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "46 26 254:0 /srv/a\\040b /mnt/with\\040space\\134slash rw shared:1 - ext4 /dev/vda rw\n"
    "121 26 0:40 / /run/x rw - tmpfs tmpfs rw\n";

TEST(MountInfo, FindsTheMountPointOfAnId) {
    EXPECT_EQ(*mount_point_in(kMountinfo, 26), "/");
    EXPECT_EQ(*mount_point_in(kMountinfo, 121), "/run/x");
}

TEST(MountInfo, UndoesTheKernelsOctalEscapes) {
    EXPECT_EQ(*mount_point_in(kMountinfo, 46), "/mnt/with space\\slash");
}

TEST(MountInfo, AnIdNotInTheTableIsAnError) {
    // 12 is a prefix of 121: only a whole id matches.
    auto missing = mount_point_in(kMountinfo, 12);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "mount 12 is not in the mount table");
}

}  // namespace
}  // namespace vessel::container::sys
