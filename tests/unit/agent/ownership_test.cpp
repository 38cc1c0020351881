// What only root can check: an exec as another user, a push that gives a file away with its
// set-id bits. Run as root by make test (label integration); a non-root run fails here instead of
// passing without having checked anything.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "agent_harness.h"

namespace vessel::agent::testing {
namespace {

class AgentAsRoot : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "these tests change users: run as root"; }
};

TEST_F(AgentAsRoot, ExecRunsAsTheRequestedUserWithoutSupplementaryGroups) {
    AgentHarness agent;
    auto ran = exec(agent, {{"op", "exec"},
                            {"argv", {"sh", "-c", "id -u; id -g; id -G"}},
                            {"uid", 65534},
                            {"gid", 65533}});
    EXPECT_EQ(ran.out, "65534\n65533\n65533\n") << ran.err;
    EXPECT_EQ(ran.exit, Json({{"code", 0}}));
}

TEST_F(AgentAsRoot, PushGivesTheFileItsOwnerAndSetIdBits) {
    AgentHarness agent;
    std::string path = agent.dir() + "/owned";
    auto pushed = push(agent, {{"path", path}, {"uid", 65534}, {"gid", 65533}, {"mode", 04755}},
                       "#!/bin/sh\n");
    ASSERT_EQ(pushed["ok"], true) << pushed;
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 65534u);
    EXPECT_EQ(info.st_gid, 65533u);
    // Set after the owner: a chown would have cleared the set-user-id bit.
    EXPECT_EQ(info.st_mode & 07777, 04755u);
    // Without uid and gid, root's.
    ASSERT_EQ(push(agent, {{"path", path}}, "x")["ok"], true);
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 0u);
    EXPECT_EQ(info.st_gid, 0u);
}

}  // namespace
}  // namespace vessel::agent::testing
