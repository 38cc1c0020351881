// ps, pause, resume, update and events on real containers.
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

// The container's value of a cgroup file, from whichever hierarchy has it ("" when none does).
std::string cgroup_value(const std::string& cgroup_path, const std::string& file) {
    for (const auto& hierarchy : list_directory("/sys/fs/cgroup")) {
        std::string path = "/sys/fs/cgroup/" + hierarchy + cgroup_path + "/" + file;
        if (::access(path.c_str(), F_OK) == 0) {
            std::string value = slurp(path);
            while (!value.empty() && value.back() == '\n')
                value.pop_back();
            return value;
        }
    }
    if (::access(("/sys/fs/cgroup" + cgroup_path + "/" + file).c_str(), F_OK) == 0)
        return slurp("/sys/fs/cgroup" + cgroup_path + "/" + file);
    return "";
}

TEST_F(ControlTest, UpdateChangesLimitsLiveAndRefusesBadValues) {
    config_["process"]["args"] = {"sleep", "100"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    std::string path = cgroup_parent_ + "/" + id_;
    bool v2 = !cgroup_value(path, "memory.max").empty();
    std::string memory_file = v2 ? "memory.max" : "memory.limit_in_bytes";

    auto updated = invoke({"update", "--memory", "64M", "--pids-limit", "20", "--cpu-period",
                           "100000", "--cpu-quota", "50000", id_});
    ASSERT_EQ(updated.code, 0) << updated.err;
    EXPECT_EQ(cgroup_value(path, memory_file), "67108864");
    EXPECT_EQ(cgroup_value(path, "pids.max"), "20");
    if (v2)
        EXPECT_EQ(cgroup_value(path, "cpu.max"), "50000 100000");
    else
        EXPECT_EQ(cgroup_value(path, "cpu.cfs_quota_us"), "50000");

    // --resources: an OCI linux.resources object, from a file or standard input.
    ASSERT_TRUE(write_file_atomic(dir_ + "/resources.json", R"({"pids": {"limit": 33}})"));
    ASSERT_EQ(invoke({"update", "--resources", dir_ + "/resources.json", id_}).code, 0);
    EXPECT_EQ(cgroup_value(path, "pids.max"), "33");
    EXPECT_EQ(cgroup_value(path, memory_file), "67108864") << "a limit not named is kept";

    // Bad values change nothing and name the problem.
    auto tiny = invoke({"update", "--memory", "12", id_});
    EXPECT_EQ(tiny.code, 1);
    EXPECT_NE(tiny.err.find("memory.limit: must be -1 (unlimited) or at least 4096 bytes"),
              std::string::npos)
        << tiny.err;
    auto unit = invoke({"update", "--memory", "5parsecs", id_});
    EXPECT_EQ(unit.code, 1);
    EXPECT_NE(unit.err.find("--memory: \"5parsecs\" has an unknown unit"), std::string::npos)
        << unit.err;
    ASSERT_TRUE(write_file_atomic(dir_ + "/bad.json", R"({"pids": {"limit": 0}})"));
    auto zero = invoke({"update", "-r", dir_ + "/bad.json", id_});
    EXPECT_EQ(zero.code, 1);
    EXPECT_NE(zero.err.find("pids.limit: must be -1 (unlimited) or positive"), std::string::npos)
        << zero.err;
    EXPECT_EQ(invoke({"update", id_}).code, 1);  // nothing to change
    EXPECT_EQ(cgroup_value(path, "pids.max"), "33");
    EXPECT_EQ(cgroup_value(path, memory_file), "67108864");
    // checkBeforeUpdate: a limit below what the container uses now is refused, not applied.
    ASSERT_TRUE(write_file_atomic(dir_ + "/below.json",
                                  R"({"memory": {"limit": 8192, "checkBeforeUpdate": true}})"));
    auto below = invoke({"update", "-r", dir_ + "/below.json", id_});
    EXPECT_EQ(below.code, 1);
    EXPECT_NE(below.err.find("linux.resources.memory.limit: 8192 bytes is below what the "
                             "container uses now"),
              std::string::npos)
        << below.err;
    EXPECT_EQ(cgroup_value(path, memory_file), "67108864");
    ASSERT_TRUE(write_file_atomic(dir_ + "/above.json",
                                  R"({"memory": {"limit": 33554432, "checkBeforeUpdate": true}})"));
    auto above = invoke({"update", "-r", dir_ + "/above.json", id_});
    EXPECT_EQ(above.code, 0) << above.err;
    EXPECT_EQ(cgroup_value(path, memory_file), "33554432");

    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    auto gone = invoke({"update", "--pids-limit", "5", id_});
    EXPECT_EQ(gone.code, 1);
    EXPECT_EQ(gone.err, fmt::format("vessel-runc: container \"{}\" does not exist\n", id_));
    expect_nothing_left();
}

// On v1 the kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every write:
// raising both used to fail (the limit was written first), lowering both must still work.
TEST_F(ControlTest, UpdateRaisesAndLowersMemoryWithSwap) {
    config_["process"]["args"] = {"sleep", "100"};
    config_["linux"]["resources"] = {{"memory", {{"limit", 32 << 20}, {"swap", 32 << 20}}}};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    auto started = invoke({"run", "--detach", "--bundle", bundle_, id_});
    ASSERT_EQ(started.code, 0) << started.err;
    std::string path = cgroup_parent_ + "/" + id_;
    bool v2 = !cgroup_value(path, "memory.max").empty();
    std::string memory_file = v2 ? "memory.max" : "memory.limit_in_bytes";
    // v2 limits swap alone: OCI's memory + swap minus the memory.
    std::string swap_file = v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
    auto swap_value = [&](int64_t limit, int64_t swap) {
        return std::to_string(v2 ? swap - limit : swap);
    };

    auto raised = invoke({"update", "--memory", "64M", "--memory-swap", "128M", id_});
    ASSERT_EQ(raised.code, 0) << raised.err;
    EXPECT_EQ(cgroup_value(path, memory_file), "67108864");
    EXPECT_EQ(cgroup_value(path, swap_file), swap_value(64 << 20, 128 << 20));

    auto lowered = invoke({"update", "--memory", "16M", "--memory-swap", "16M", id_});
    ASSERT_EQ(lowered.code, 0) << lowered.err;
    EXPECT_EQ(cgroup_value(path, memory_file), "16777216");
    EXPECT_EQ(cgroup_value(path, swap_file), swap_value(16 << 20, 16 << 20));

    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ControlTest, EventsStatsReportsTheCgroupsUsageAndLimits) {
    config_["process"]["args"] = {"sh", "-c", "sleep 100 & exec sleep 101"};
    config_["linux"]["resources"] = {{"memory", {{"limit", 96 << 20}}}, {"pids", {{"limit", 50}}}};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    // Both sleeps exist once ps shows two processes.
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto pids = parse_json(invoke({"ps", "--format", "json", id_}).out, "ps");
        if (pids && pids->size() == 2) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    auto events = invoke({"events", "--stats", id_});
    ASSERT_EQ(events.code, 0) << events.err;
    auto record = parse_json(events.out, "events");
    ASSERT_TRUE(record) << events.out;
    EXPECT_EQ((*record)["type"], "stats");
    EXPECT_EQ((*record)["id"], id_);
    const Json& data = (*record)["data"];
    EXPECT_EQ(data["memory"]["usage"]["limit"], 96 << 20) << data.dump();
    EXPECT_GT(data["memory"]["usage"]["usage"].get<uint64_t>(), 0u) << data.dump();
    EXPECT_EQ(data["pids"]["current"], 2) << data.dump();
    EXPECT_EQ(data["pids"]["limit"], 50) << data.dump();
    EXPECT_GT(data["cpu"]["usage"]["total"].get<uint64_t>(), 0u) << data.dump();

    // A stopped container has no usage to report; a bad --interval is named.
    ASSERT_EQ(invoke({"kill", id_, "KILL"}).code, 0);
    for (int attempt = 0; attempt < 100; ++attempt) {  // the signal is asynchronous
        auto state = parse_json(invoke({"state", id_}).out, "state");
        if (state && (*state)["status"] == "stopped") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto stopped = invoke({"events", "--stats", id_});
    EXPECT_EQ(stopped.code, 1);
    EXPECT_NE(stopped.err.find("it is stopped"), std::string::npos) << stopped.err;
    auto bad = invoke({"events", "--interval", "soon", id_});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("--interval"), std::string::npos) << bad.err;
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    expect_nothing_left();
}

// The OOM killer kills the allocator and the container lives on: `events` reports the kill once,
// between its stats records, and ends when the container does.
TEST_F(ControlTest, EventsReportOomKills) {
    ASSERT_EQ(::symlink("busybox", (bundle_ + "/rootfs/bin/awk").c_str()), 0);
    config_["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
    config_["process"]["args"] = {"sh", "-c",
                                  "sleep 1; awk 'BEGIN { s = \"x\"; while (1) s = s s }'; sleep 1"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    auto events = invoke({"events", "--interval", "500ms", id_});
    EXPECT_EQ(events.code, 0) << events.err;
    int stats = 0, ooms = 0;
    size_t position = 0;
    while (position < events.out.size()) {
        size_t end = events.out.find('\n', position);
        auto record = parse_json(events.out.substr(position, end - position), "events");
        ASSERT_TRUE(record) << events.out;
        EXPECT_EQ((*record)["id"], id_);
        if ((*record)["type"] == "stats") ++stats;
        if ((*record)["type"] == "oom") ++ooms;
        position = end == std::string::npos ? events.out.size() : end + 1;
    }
    EXPECT_EQ(ooms, 1) << events.out;
    EXPECT_GE(stats, 2) << events.out;
    ASSERT_EQ(invoke({"delete", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ControlTest, UnknownContainer) {
    for (const char* command : {"ps", "pause", "resume"}) {
        auto result = invoke({command, "nope"});
        EXPECT_EQ(result.code, 1) << command;
        EXPECT_EQ(result.err, "vessel-runc: container \"nope\" does not exist\n") << command;
    }
    // delete --force of a container that does not exist succeeds, as in runc.
    auto plain = invoke({"delete", "nope"});
    EXPECT_EQ(plain.code, 1);
    EXPECT_EQ(plain.err, "vessel-runc: container \"nope\" does not exist\n");
    auto forced = invoke({"delete", "--force", "nope"});
    EXPECT_EQ(forced.code, 0) << forced.err;
    EXPECT_EQ(invoke({"delete", "--force", "../escape"}).code, 1) << "ids are still checked";
}

}  // namespace
}  // namespace vessel
