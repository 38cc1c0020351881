// `vessel-runc exec` waits for its program; a program that stops (SIGSTOP) or makes the runtime
// its tracer (PTRACE_TRACEME, then a signal) must not wedge that wait, and a SIGTERM sent to
// `vessel-runc exec` must end such a program as it ends a running one.
#include <signal.h>

#include "busybox_fixture.h"

namespace vessel {
namespace {

class StoppedChildTest : public BusyboxContainerTest {
  protected:
    void SetUp() override {
        BusyboxContainerTest::SetUp();
        if (IsSkipped()) return;
        auto copied = run_capture({"cp", TRACEME_PROBE_PATH, bundle_ + "/rootfs/bin/traceme"});
        ASSERT_TRUE(copied && copied->status.success());
        config_["process"]["args"] = {"sleep", "300"};
        ASSERT_TRUE(write_file_atomic(bundle_ + "/config.json", config_.dump()));
        ASSERT_EQ(invoke({"run", "--detach", "--bundle", bundle_, id_}).code, 0);
    }

    // `vessel-runc exec` started in the background; its program's pid once it has one.
    struct RunningExec {
        Child child;
        std::string out_path;
        pid_t program = 0;
    };

    RunningExec start_exec(std::vector<std::string> program) {
        std::string out_path = dir_ + "/exec.out", pid_path = dir_ + "/exec.pid";
        UniqueFd out = *open_file(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        UniqueFd null = *open_file("/dev/null", O_RDONLY);
        std::vector<std::string> argv = {VESSEL_RUNC_PATH, "--root", root_, "exec",
                                         "--pid-file",     pid_path, id_};
        argv.insert(argv.end(), program.begin(), program.end());
        auto child = spawn(SpawnOptions{.argv = argv,
                                        .env = std::nullopt,
                                        .cwd = bundle_,
                                        .stdin_fd = null.get(),
                                        .stdout_fd = out.get(),
                                        .stderr_fd = out.get()});
        EXPECT_TRUE(child);
        RunningExec exec{.child = std::move(*child), .out_path = out_path, .program = 0};
        for (int i = 0; i < 500 && exec.program == 0; ++i) {
            exec.program = std::atoi(slurp(pid_path).c_str());
            if (exec.program == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_GT(exec.program, 0) << "no pid file; output: " << slurp(out_path);
        return exec;
    }

    bool wait_until(const std::function<bool()>& condition) {
        for (int i = 0; i < 500; ++i) {
            if (condition()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    // The shell-style status of `vessel-runc exec`, or -1 when it did not end within 10 s.
    int status_within_10s(RunningExec& exec) {
        auto status = exec.child.wait_for(std::chrono::seconds(10));
        if (status && *status) return (*status)->shell_code();
        (void)exec.child.signal(SIGKILL);
        (void)exec.child.wait();
        return -1;
    }

    char process_state(pid_t pid) {
        std::string stat = slurp(fmt::format("/proc/{}/stat", pid));
        size_t end = stat.rfind(')');
        return end == std::string::npos || end + 2 >= stat.size() ? '?' : stat[end + 2];
    }
};

TEST_F(StoppedChildTest, ASignalToAProgramTracedByTheRuntimeIsDelivered) {
    auto exec = start_exec({"/bin/traceme"});
    ASSERT_TRUE(wait_until([&] { return slurp(exec.out_path) == "traced\n"; }))
        << slurp(exec.out_path);
    ASSERT_EQ(::kill(exec.program, SIGUSR1), 0);
    EXPECT_EQ(status_within_10s(exec), 128 + SIGUSR1) << slurp(exec.out_path);
}

TEST_F(StoppedChildTest, SigtermToExecEndsATracedProgram) {
    auto exec = start_exec({"/bin/traceme"});
    ASSERT_TRUE(wait_until([&] { return slurp(exec.out_path) == "traced\n"; }));
    ASSERT_TRUE(exec.child.signal(SIGTERM));
    EXPECT_EQ(status_within_10s(exec), 128 + SIGTERM) << slurp(exec.out_path);
}

TEST_F(StoppedChildTest, SigtermToExecEndsAStoppedProgram) {
    auto exec = start_exec({"sh", "-c", "kill -STOP $$; echo continued"});
    ASSERT_TRUE(wait_until([&] { return process_state(exec.program) == 'T'; }));
    ASSERT_TRUE(exec.child.signal(SIGTERM));
    EXPECT_EQ(status_within_10s(exec), 128 + SIGTERM) << slurp(exec.out_path);
    EXPECT_EQ(slurp(exec.out_path), "");
}

}  // namespace
}  // namespace vessel
