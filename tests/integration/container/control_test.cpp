// ps, pause and resume on real containers.
#include "busybox_fixture.h"

namespace vessel {
namespace {

using ControlTest = BusyboxContainerTest;

TEST_F(ControlTest, PsPauseResume) {
    config_["process"]["args"] = {"sh", "-c", "sleep 100 & exec sleep 101"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    auto started = invoke({"run", "--detach", "--bundle", bundle_, id_});
    ASSERT_EQ(started.code, 0) << started.err;
    auto state = parse_json(invoke({"state", id_}).out, "state");
    ASSERT_TRUE(state);
    int init = (*state)["pid"].get<int>();

    // The shell forks the first sleep and execs the second: two processes, the init among them.
    Json pids;
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto ps = invoke({"ps", "--format", "json", id_});
        ASSERT_EQ(ps.code, 0) << ps.err;
        pids = *parse_json(ps.out, "ps");
        if (pids.size() == 2 && slurp(fmt::format("/proc/{}/cmdline", init)).starts_with("sleep"))
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(pids.size(), 2u) << pids.dump();
    EXPECT_TRUE(pids[0] == init || pids[1] == init) << pids.dump();
    auto table = invoke({"ps", id_});
    EXPECT_NE(table.out.find("sleep 101"), std::string::npos) << table.out;

    auto paused = invoke({"pause", id_});
    ASSERT_EQ(paused.code, 0) << paused.err;
    EXPECT_EQ((*parse_json(invoke({"state", id_}).out, "state"))["status"], "paused");
    auto again = invoke({"pause", id_});
    EXPECT_EQ(again.code, 1);
    EXPECT_EQ(again.err, fmt::format("vessel-runc: cannot pause container \"{}\": it is paused, "
                                     "not running\n",
                                     id_));
    auto not_forced = invoke({"delete", id_});
    EXPECT_EQ(not_forced.code, 1);

    auto resumed = invoke({"resume", id_});
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_EQ((*parse_json(invoke({"state", id_}).out, "state"))["status"], "running");
    EXPECT_EQ(invoke({"resume", id_}).code, 1);

    // A paused container can still be force-deleted: it is thawed so that SIGKILL lands.
    ASSERT_EQ(invoke({"pause", id_}).code, 0);
    auto removed = invoke({"delete", "--force", id_});
    EXPECT_EQ(removed.code, 0) << removed.err;
    expect_nothing_left();
}

TEST_F(ControlTest, UnknownContainer) {
    for (const char* command : {"ps", "pause", "resume"}) {
        auto result = invoke({command, "nope"});
        EXPECT_EQ(result.code, 1) << command;
        EXPECT_EQ(result.err, "vessel-runc: container \"nope\" does not exist\n") << command;
    }
}

}  // namespace
}  // namespace vessel
