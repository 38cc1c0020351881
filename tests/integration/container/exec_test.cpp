// vessel-runc exec on real containers: the new process is in the container's namespaces, cgroup
// and security settings, gets the flags' overrides, and bad input leaves nothing behind.
#include <fcntl.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

class ExecTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        config_["hostname"] = "exec-box";
        config_["process"]["env"] = {"PATH=/bin", "GREETING=hello"};
        ASSERT_TRUE(write_file_atomic(bundle_ + "/rootfs/etc/marker", "in the rootfs\n"));
    }

    void start_sleeping_init() {
        config_["process"]["args"] = {"sleep", "1000"};
        ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        auto started = invoke({"run", "--detach", "--bundle", bundle_, id_});
        ASSERT_EQ(started.code, 0) << started.err;
        auto state = parse_json(invoke({"state", id_}).out, "state");
        ASSERT_TRUE(state);
        init_ = (*state)["pid"].get<int>();
    }

    Outcome exec(std::vector<std::string> arguments) {
        arguments.insert(arguments.begin(), "exec");
        return invoke(arguments);
    }

    int init_ = 0;
};

TEST_F(ExecTest, RunsInTheContainersNamespacesRootAndCgroup) {
    start_sleeping_init();
    auto inside = exec({id_, "sh", "-c",
                        "echo pid=$$; cat /proc/1/cmdline; echo; cat /proc/sys/kernel/hostname; "
                        "cat /etc/marker; echo greeting=$GREETING"});
    ASSERT_EQ(inside.code, 0) << inside.err;
    // pid 1 is the init; its command line is NUL-separated.
    EXPECT_NE(inside.out.find(std::string("sleep\0"
                                          "1000\0\n",
                                          12)),
              std::string::npos)
        << inside.out;
    EXPECT_NE(inside.out.find("exec-box\n"), std::string::npos) << inside.out;
    EXPECT_NE(inside.out.find("in the rootfs\n"), std::string::npos) << inside.out;
    EXPECT_NE(inside.out.find("greeting=hello\n"), std::string::npos) << inside.out;
    // A small pid of the container's pid namespace, not the host's.
    int pid = std::stoi(inside.out.substr(inside.out.find("pid=") + 4));
    EXPECT_GT(pid, 1);
    EXPECT_LT(pid, 100);
    // Detached, with a pid file: the process is one of the container's (its cgroup).
    std::string pid_file = dir_ + "/exec.pid";
    auto detached = exec({"--detach", "--pid-file", pid_file, id_, "sleep", "1000"});
    ASSERT_EQ(detached.code, 0) << detached.err;
    int host_pid = std::stoi(slurp(pid_file));
    auto pids = parse_json(invoke({"ps", "--format", "json", id_}).out, "ps");
    ASSERT_TRUE(pids);
    EXPECT_NE(std::find(pids->begin(), pids->end(), host_pid), pids->end()) << pids->dump();
    EXPECT_TRUE(slurp(fmt::format("/proc/{}/cmdline", host_pid)).starts_with("sleep"));

    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

TEST_F(ExecTest, ExitStatusFlagsAndProcessFile) {
    start_sleeping_init();
    EXPECT_EQ(exec({id_, "sh", "-c", "exit 7"}).code, 7);
    EXPECT_EQ(exec({id_, "sh", "-c", "kill -9 $$"}).code, 128 + 9);

    auto flagged = exec({"--env", "GREETING=bye", "-e", "EXTRA=1", "--cwd", "/tmp", "--user",
                         "1000:1001", id_, "sh", "-c", "echo $GREETING $EXTRA; pwd; id -u; id -g"});
    ASSERT_EQ(flagged.code, 0) << flagged.err;
    EXPECT_EQ(flagged.out, "bye 1\n/tmp\n1000\n1001\n");

    // The same capabilities as the init (the config's), unless --cap adds one.
    auto status_line = [](const std::string& status, const char* key) {
        size_t at = status.find(key);
        return at == std::string::npos ? std::string()
                                       : status.substr(at, status.find('\n', at) - at);
    };
    auto caps = exec({id_, "cat", "/proc/self/status"});
    ASSERT_EQ(caps.code, 0) << caps.err;
    std::string init_status = slurp(fmt::format("/proc/{}/status", init_));
    for (const char* key : {"CapEff:", "CapBnd:", "CapPrm:", "Seccomp:", "NoNewPrivs:"})
        EXPECT_EQ(status_line(caps.out, key), status_line(init_status, key)) << key;
    // --cap with a config that hands nothing on (no inheritable set): effective, permitted and
    // bounding get it, not ambient (which would need inheritable).
    auto added = exec({"--cap", "CAP_MKNOD", id_, "cat", "/proc/self/status"});
    ASSERT_EQ(added.code, 0) << added.err;
    for (const char* key : {"CapEff:", "CapPrm:", "CapBnd:"}) {
        std::string line = status_line(added.out, key);
        ASSERT_FALSE(line.empty()) << key;
        uint64_t set = std::stoull(line.substr(line.find(':') + 1), nullptr, 16);
        EXPECT_TRUE(set & (uint64_t{1} << 27)) << key << " lacks CAP_MKNOD: " << line;
    }
    EXPECT_EQ(status_line(added.out, "CapAmb:"), "CapAmb:\t0000000000000000");

    // No descriptor of the runtime reaches the process (CVE-2024-21626 class): 0, 1, 2 only, and
    // its cwd is inside the container.
    std::string pid_file = dir_ + "/exec.pid";
    ASSERT_EQ(exec({"--detach", "--pid-file", pid_file, id_, "sleep", "1000"}).code, 0);
    int sleeper = std::stoi(slurp(pid_file));
    EXPECT_EQ(list_directory(fmt::format("/proc/{}/fd", sleeper)),
              (std::set<std::string>{"0", "1", "2"}));
    auto cwd_of = [](int pid) {
        char path[256] = {};
        ssize_t length =
            ::readlink(fmt::format("/proc/{}/cwd", pid).c_str(), path, sizeof path - 1);
        return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
    };
    EXPECT_EQ(cwd_of(sleeper), cwd_of(init_)) << "the cwd is the init's, the container's root";

    // --process: an OCI process object replaces the config's.
    Json process = {{"args", {"sh", "-c", "echo from-json $X"}},
                    {"env", {"PATH=/bin", "X=42"}},
                    {"cwd", "/"},
                    {"user", {{"uid", 0}, {"gid", 0}}}};
    ASSERT_TRUE(write_file_atomic(dir_ + "/process.json", process.dump()));
    auto from_file = exec({"--process", dir_ + "/process.json", id_});
    ASSERT_EQ(from_file.code, 0) << from_file.err;
    EXPECT_EQ(from_file.out, "from-json 42\n");
}

TEST_F(ExecTest, BadInputIsRefusedAndLeavesNothing) {
    start_sleeping_init();
    auto processes_before = invoke({"ps", "--format", "json", id_}).out;

    auto missing = exec({id_, "no-such-program"});
    EXPECT_EQ(missing.code, 1);
    EXPECT_NE(missing.err.find("process.args[0]"), std::string::npos) << missing.err;
    auto bad_cap = exec({"--cap", "CAP_NOPE", id_, "true"});
    EXPECT_EQ(bad_cap.code, 1);
    EXPECT_NE(bad_cap.err.find("unknown capability \"CAP_NOPE\""), std::string::npos)
        << bad_cap.err;
    auto bad_cwd = exec({"--cwd", "/nonexistent", id_, "true"});
    EXPECT_EQ(bad_cwd.code, 1);
    EXPECT_NE(bad_cwd.err.find("process.cwd"), std::string::npos) << bad_cwd.err;
    auto bad_user = exec({"--user", "root", id_, "true"});
    EXPECT_EQ(bad_user.code, 1);
    EXPECT_NE(bad_user.err.find("--user"), std::string::npos) << bad_user.err;
    ASSERT_TRUE(write_file_atomic(dir_ + "/bad.json", R"({"args": "not a list", "cwd": "/"})"));
    auto bad_json = exec({"--process", dir_ + "/bad.json", id_});
    EXPECT_EQ(bad_json.code, 1);
    EXPECT_NE(bad_json.err.find("process.args"), std::string::npos) << bad_json.err;
    auto no_command = exec({id_});
    EXPECT_EQ(no_command.code, 1);
    EXPECT_NE(no_command.err.find("command"), std::string::npos) << no_command.err;
    EXPECT_EQ(invoke({"ps", "--format", "json", id_}).out, processes_before);

    auto unknown = exec({"nope", "true"});
    EXPECT_EQ(unknown.code, 1);
    EXPECT_EQ(unknown.err, "vessel-runc: container \"nope\" does not exist\n");
    ASSERT_EQ(invoke({"pause", id_}).code, 0);
    auto paused = exec({id_, "true"});
    EXPECT_EQ(paused.code, 1);
    EXPECT_NE(paused.err.find("it is paused"), std::string::npos) << paused.err;
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

// CVE-2019-5736 class: until it execs the user's program, the container's init is the host's
// vessel-runc binary. A process of the container must not be able to open it through
// /proc/1/exe (and write to the host's runtime later).
TEST_F(ExecTest, TheRuntimeBinaryIsNotReachableThroughProcExe) {
    config_["process"]["args"] = {"sleep", "100"};
    ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
    ASSERT_EQ(invoke({"create", "--bundle", bundle_, id_}).code, 0);  // the init waits, unexec'd
    auto probe =
        exec({id_, "sh", "-c",
              "if cat /proc/1/exe > /dev/null 2>&1; then echo opened; else echo refused; fi"});
    ASSERT_EQ(probe.code, 0) << probe.err;
    EXPECT_EQ(probe.out, "refused\n");
    ASSERT_EQ(invoke({"delete", "--force", id_}).code, 0);
    expect_nothing_left();
}

}  // namespace
}  // namespace vessel
