// How the kernel schedules a container's processes: process.ioPriority and process.scheduler for
// the init (and so its children), process.execCPUAffinity for a process exec'd into it.
#include "busybox_fixture.h"

namespace vessel {
namespace {

// Field `number` (1-based, as proc(5) counts) of a /proc/<pid>/stat line.
std::string stat_field(const std::string& stat, int number) {
    size_t position = stat.rfind(')') + 2;  // after "pid (comm) "
    for (int field = 3; field < number; ++field)
        position = stat.find(' ', position) + 1;
    return stat.substr(position, stat.find(' ', position) - position);
}

class SchedulingTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        for (const char* applet : {"ionice", "taskset"})
            ASSERT_EQ(::symlink("busybox", (bundle_ + "/rootfs/bin/" + applet).c_str()), 0);
    }
};

TEST_F(SchedulingTest, IoPriorityAndPolicyReachTheProcess) {
    config_["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 3}};
    config_["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 5}};
    auto result = run_container({"sh", "-c", "ionice -p $$; cat /proc/$$/stat"});
    ASSERT_EQ(result.code, 0) << result.err;
    size_t newline = result.out.find('\n');
    EXPECT_EQ(result.out.substr(0, newline), "best-effort: prio 3");
    std::string stat = result.out.substr(newline + 1);
    EXPECT_EQ(stat_field(stat, 19), "5") << "nice: " << stat;
    EXPECT_EQ(stat_field(stat, 41), "3") << "policy (SCHED_BATCH): " << stat;
    expect_nothing_left();
}

TEST_F(SchedulingTest, ARealtimePolicyTheCgroupCannotGrantIsAnError) {
    config_["process"]["scheduler"] = {{"policy", "SCHED_FIFO"}, {"priority", 10}};
    auto result = run_container({"sh", "-c", "cat /proc/$$/stat"});
    // With realtime group scheduling (cgroup v1's cpu.rt_*), a new group has no realtime
    // budget, and the kernel refuses; without it the policy is granted.
    if (path_exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us")) {
        EXPECT_EQ(result.code, 1);
        EXPECT_EQ(result.err,
                  "vessel-runc: config.json: process.scheduler: sched_setattr: Operation not "
                  "permitted\n");
    } else {
        ASSERT_EQ(result.code, 0) << result.err;
        EXPECT_EQ(stat_field(result.out, 41), "1") << result.out;
    }
    expect_nothing_left();
}

TEST_F(SchedulingTest, MemoryPolicyBindsTheContainersMemory) {
    ASSERT_TRUE(path_exists("/sys/devices/system/node/node0")) << "a kernel without NUMA";
    config_["linux"]["memoryPolicy"] = {
        {"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_STATIC_NODES"}}};
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    // numa_maps shows the task's policy for mappings without one of their own, in the init and
    // in an exec'd process alike.
    auto init = invoke({"exec", id_, "grep", "-c", " bind=static:0 ", "/proc/1/numa_maps"});
    EXPECT_EQ(init.code, 0) << init.out << init.err;
    auto execd = invoke({"exec", id_, "grep", "-c", " bind=static:0 ", "/proc/self/numa_maps"});
    EXPECT_EQ(execd.code, 0) << execd.out << execd.err;
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    // A node the host does not have is the kernel's to refuse, named.
    config_["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "1000"}};
    auto missing = run_container({"true"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("linux.memoryPolicy: set_mempolicy"), std::string::npos)
        << missing.err;
    expect_nothing_left();
}

TEST_F(SchedulingTest, ExecCpuAffinityPinsTheExecdProcess) {
    // The last online CPU, whatever the machine has; on more than one the init keeps them all.
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    ASSERT_GE(cpus, 1);
    std::string last = std::to_string(cpus - 1);
    std::string mask = fmt::format("{:x}", uint64_t{1} << (cpus - 1));
    config_["process"]["args"] = {"sleep", "60"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    Json process = {{"args", {"sh", "-c", "taskset -p $$"}},
                    {"cwd", "/"},
                    {"env", {"PATH=/bin"}},
                    {"user", {{"uid", 0}, {"gid", 0}}},
                    {"execCPUAffinity", {{"initial", "0-" + last}, {"final", last}}}};
    ASSERT_TRUE(write_file_atomic(dir_ + "/process.json", process.dump()));
    auto pinned = invoke({"exec", "--process", dir_ + "/process.json", id_});
    EXPECT_EQ(pinned.code, 0) << pinned.err;
    EXPECT_NE(pinned.out.find("current affinity mask: " + mask + "\n"), std::string::npos)
        << pinned.out;
    // The init is not pinned: the setting is for exec'd processes only.
    if (cpus > 1) {
        auto init = invoke({"exec", id_, "taskset", "-p", "1"});
        EXPECT_EQ(init.out.find("current affinity mask: " + mask + "\n"), std::string::npos)
            << init.out;
    }
    process["execCPUAffinity"]["final"] = "1-0";
    ASSERT_TRUE(write_file_atomic(dir_ + "/process.json", process.dump()));
    auto bad = invoke({"exec", "--process", dir_ + "/process.json", id_});
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("execCPUAffinity.final: must be a list of CPUs like \"0-3,7\""),
              std::string::npos)
        << bad.err;
    EXPECT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
