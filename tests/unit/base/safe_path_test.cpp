#include "base/safe_path.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "base/file.h"

namespace vessel {
namespace {

class SafePath : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-root-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        outside_ = pattern;
        root_path_ = outside_ + "/rootfs";
        ASSERT_TRUE(make_directories(root_path_));
        root_ = open_file(root_path_, O_PATH | O_DIRECTORY).value();
    }
    void TearDown() override { std::filesystem::remove_all(outside_); }
    std::string outside_, root_path_;
    UniqueFd root_;
};

TEST_F(SafePath, CleansPaths) {
    EXPECT_EQ(relative_clean_path("//a/./b//c/"), "a/b/c");
    EXPECT_EQ(relative_clean_path("/"), "");
}

TEST_F(SafePath, AbsoluteSymlinkResolvesInsideTheRoot) {
    // A hostile rootfs points /etc at the host's /tmp-level directory.
    ASSERT_EQ(::symlink(outside_.c_str(), (root_path_ + "/escape").c_str()), 0);
    auto made = make_directories_in_root(root_.get(), "/escape/target");
    ASSERT_TRUE(made) << made.error().message();
    // Created under rootfs/<outside path>/target, not under the real outside directory.
    EXPECT_TRUE(std::filesystem::is_directory(root_path_ + outside_ + "/target"));
    EXPECT_FALSE(std::filesystem::exists(outside_ + "/target"));
}

TEST_F(SafePath, DotDotCannotClimbOut) {
    ASSERT_EQ(::symlink("../../../..", (root_path_ + "/up").c_str()), 0);
    auto made = make_directories_in_root(root_.get(), "up/evil");
    ASSERT_TRUE(made);
    EXPECT_TRUE(std::filesystem::is_directory(root_path_ + "/evil"));
    EXPECT_FALSE(std::filesystem::exists(outside_ + "/evil"));
}

TEST_F(SafePath, FileCreationDoesNotFollowAFinalSymlinkOut) {
    ASSERT_TRUE(write_file_atomic(outside_ + "/host-secret", "secret"));
    ASSERT_EQ(::symlink((outside_ + "/host-secret").c_str(), (root_path_ + "/f").c_str()), 0);
    auto made = make_file_in_root(root_.get(), "/f");
    // The symlink resolves inside the root, where its target does not exist.
    EXPECT_FALSE(made);
    EXPECT_EQ(read_file(outside_ + "/host-secret").value(), "secret");
}

TEST_F(SafePath, CreatesFileWithParents) {
    auto made = make_file_in_root(root_.get(), "/etc/resolv.conf");
    ASSERT_TRUE(made) << made.error().message();
    EXPECT_TRUE(std::filesystem::is_regular_file(root_path_ + "/etc/resolv.conf"));
}

}  // namespace
}  // namespace vessel
