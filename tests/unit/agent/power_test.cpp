// How the agent chooses its way down: systemd is asked to shut the guest down only where systemd
// booted it, which it tells by the directory it makes under /run (sd_booted()'s test).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "agent/power.h"
#include "base/file.h"

namespace vessel::agent {
namespace {

class GuestRoot : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/vessel-power-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(root_, ignored);
    }
    std::string root_;
};

TEST_F(GuestRoot, WithoutSystemdTheAgentShutsDownItself) {
    EXPECT_FALSE(booted_by_systemd(root_));
    // /run/systemd alone is not enough: other programs make it (udev, logind's helpers).
    ASSERT_TRUE(make_directories(root_ + "/run/systemd"));
    EXPECT_FALSE(booted_by_systemd(root_));
}

TEST_F(GuestRoot, SystemdIsAskedWhereItBootedTheGuest) {
    ASSERT_TRUE(make_directories(root_ + "/run/systemd/system"));
    EXPECT_TRUE(booted_by_systemd(root_));
}

TEST_F(GuestRoot, AFileInPlaceOfTheDirectoryIsNotSystemd) {
    ASSERT_TRUE(make_directories(root_ + "/run/systemd"));
    ASSERT_TRUE(write_file_atomic(root_ + "/run/systemd/system", ""));
    EXPECT_FALSE(booted_by_systemd(root_));
}

}  // namespace
}  // namespace vessel::agent
