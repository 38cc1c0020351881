#include "base/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace vessel {
namespace {

using namespace std::chrono_literals;

TEST(Process, CapturesOutputAndExitCode) {
    auto result = run_capture({"sh", "-c", "echo out; echo err >&2; exit 3"}).value();
    EXPECT_EQ(result.out, "out\n");
    EXPECT_EQ(result.err, "err\n");
    EXPECT_EQ(result.status.code, 3);
    EXPECT_EQ(result.status.shell_code(), 3);
}

// vesseld ignores SIGPIPE, and a daemon started in the background ignores SIGINT and SIGQUIT; a
// program it starts (a container's exec through the runtime) must not inherit that.
TEST(Process, AChildStartsWithNoSignalIgnored) {
    struct sigaction ignore {
    }, saved_pipe{}, saved_int{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &saved_pipe);
    ::sigaction(SIGINT, &ignore, &saved_int);
    // And one of glibc's own two (32, 33), which its sigaction will not touch: a test run from a
    // parent that left it ignored failed here.
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        uint64_t mask;
    } kernel_ignore{SIG_IGN, 0, nullptr, 0}, kernel_saved{};
    ::syscall(SYS_rt_sigaction, 33, &kernel_ignore, &kernel_saved, 8);
    auto result = run_capture({"grep", "^SigIgn:", "/proc/self/status"});
    ::syscall(SYS_rt_sigaction, 33, &kernel_saved, nullptr, 8);
    ::sigaction(SIGPIPE, &saved_pipe, nullptr);
    ::sigaction(SIGINT, &saved_int, nullptr);
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->out, "SigIgn:\t0000000000000000\n");
}

TEST(Process, FeedsStandardInput) {
    auto result = run_capture({"cat"}, 5s, "hello").value();
    EXPECT_EQ(result.out, "hello");
    EXPECT_TRUE(result.status.success());
}

TEST(Process, RunCheckedGivesOutputOrTheCommandAndItsFirstErrorLine) {
    EXPECT_EQ(run_checked({"sh", "-c", "cat"}, std::chrono::seconds(10), "piped").value(), "piped");
    auto failed = run_checked({"sh", "-c", "echo first >&2; echo second >&2; exit 3"});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message(), "sh -c echo first >&2; echo second >&2; exit 3: first");
    auto silent = run_checked({"false"});
    ASSERT_FALSE(silent);
    EXPECT_EQ(silent.error().message(), "false: exit status 1");
}

TEST(Process, ExecFailureIsAnErrorNotAChild) {
    auto result = spawn({.argv = {"/nonexistent/program"}});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ENOENT);
    EXPECT_NE(result.error().message().find("exec /nonexistent/program"), std::string::npos);
}

TEST(Process, BadWorkingDirectoryIsReported) {
    auto result = spawn({.argv = {"true"}, .cwd = "/nonexistent-dir"});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("chdir to /nonexistent-dir"), std::string::npos);
}

TEST(Process, SignalThroughPidfdAndShellCode) {
    auto child = spawn({.argv = {"sleep", "30"}}).value();
    EXPECT_FALSE(child.wait_for(20ms).value().has_value());
    ASSERT_TRUE(child.signal(SIGTERM));
    auto status = child.wait().value();
    EXPECT_EQ(status.signal, SIGTERM);
    EXPECT_EQ(status.shell_code(), 128 + SIGTERM);
}

TEST(Process, TimeoutKillsTheChild) {
    auto result = run_capture({"sleep", "30"}, 50ms);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), ETIMEDOUT);
}

TEST(Process, OnlyRequestedDescriptorsReachTheChild) {
    // Deliberately without O_CLOEXEC, and numbered high: a low number (3 when the test runs
    // alone) is also the one ls gets for the directory it lists, a false alarm.
    int opened = ::open("/dev/null", O_RDONLY);
    ASSERT_GE(opened, 0);
    int leaked = ::fcntl(opened, F_DUPFD, 100);
    ::close(opened);
    ASSERT_GE(leaked, 100);
    auto result = run_capture({"sh", "-c", "ls /proc/self/fd"}).value();
    ::close(leaked);
    // stdin, stdout, stderr, and the fd ls itself opens to list the directory.
    EXPECT_EQ(result.out.find(std::to_string(leaked) + "\n"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace vessel
