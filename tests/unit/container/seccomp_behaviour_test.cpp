// Seccomp filters loaded in forked children: the errno a filtered syscall returns, the default
// profile's blocks and what it lets through, and the notify fd. Some cases compare against the same
// call without a filter (run as root), so: label `integration`.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "base/file.h"
#include "child_process.h"
#include "container/linux/seccomp.h"

namespace vessel::container {
namespace {

using testing::report;
using testing::run_in_child;

CompiledSeccomp compile_json(const Json& json) {
    auto profile = parse_seccomp(JsonAt(json, "linux.seccomp"));
    if (!profile) {
        ADD_FAILURE() << profile.error().message();
        return {};
    }
    auto compiled = compile_seccomp(*profile);
    if (!compiled) {
        ADD_FAILURE() << compiled.error().message();
        return {};
    }
    return *compiled;
}

// In the child: no_new_privs, as a container with noNewPrivileges, then the filter.
bool load_in_child(const CompiledSeccomp& compiled, int out) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return report(out, "no_new_privs"), false;
    auto loaded = load_seccomp_filter(compiled);
    if (!loaded) return report(out, loaded.error().message()), false;
    return true;
}

// "<result> <errno name or 0>" of a raw syscall, for compact reports.
std::string outcome_of(long result) {
    return result < 0 ? fmt::format("-1 {}", strerrorname_np(errno)) : "ok";
}

class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "vessel-seccomp-XXXXXX");
        path_ = ::mkdtemp(pattern.data()) ? pattern : "";
    }
    ~TempDir() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

TEST(SeccompFilter, ErrnoRetIsWhatTheSyscallReturns) {
    auto compiled = compile_json(Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]})"));
    auto outcome = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        report(out, outcome_of(::syscall(SYS_getpid)) + " / " + outcome_of(::syscall(SYS_getppid)));
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, "-1 ENOSYS / ok");
}

TEST(SeccompFilter, ArgumentConditionSelectsTheCall) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    auto compiled = compile_json(Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}]})"));  // 448 = 0700
    const std::string blocked = dir.path() + "/private", allowed = dir.path() + "/public";
    auto outcome = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        report(out, outcome_of(::syscall(SYS_mkdir, blocked.c_str(), 0700)) + " / " +
                        outcome_of(::syscall(SYS_mkdir, allowed.c_str(), 0755)));
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, "-1 EPERM / ok");
    EXPECT_FALSE(path_exists(blocked));
    EXPECT_TRUE(path_exists(allowed));
}

TEST(SeccompFilter, KillProcessAndTrapEndTheChildWithSigsys) {
    for (const char* action : {"SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_KILL"}) {
        Json json = {{"defaultAction", "SCMP_ACT_ALLOW"},
                     {"syscalls", {{{"names", {"getppid"}}, {"action", action}}}}};
        auto compiled = compile_json(json);
        auto outcome = run_in_child([&](int out) {
            if (!load_in_child(compiled, out)) return 1;
            ::syscall(SYS_getppid);
            return 0;
        });
        EXPECT_EQ(outcome.signal, SIGSYS) << action << ": " << outcome.report;
    }
}

TEST(SeccompFilter, LoadingWithoutNoNewPrivsOrCapSysAdminIsExplained) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
    auto compiled = compile_json(Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW"})"));
    auto outcome = run_in_child([&](int out) {
        if (::setresgid(1000, 1000, 1000) != 0 || ::setresuid(1000, 1000, 1000) != 0) return 1;
        auto loaded = load_seccomp_filter(compiled);
        if (loaded) return 2;
        report(out, loaded.error().message());
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report,
              "loading the seccomp filter (the process needs no_new_privs or CAP_SYS_ADMIN): "
              "Permission denied");
}

// The calls the default profile must refuse, each made so that without a filter (as root) it
// would not fail with EPERM — so EPERM proves the filter refused it.
std::string blocked_calls_report() {
    std::string text;
    auto add = [&](const char* name, long result) {
        text += fmt::format("{} {}\n", name, outcome_of(result));
    };
    add("kexec_load", ::syscall(SYS_kexec_load, 0, 0, nullptr, 0xffff0000UL));
    add("init_module", ::syscall(SYS_init_module, nullptr, 0, ""));
    add("finit_module", ::syscall(SYS_finit_module, -1, "", 0));
    add("delete_module", ::syscall(SYS_delete_module, "vessel_no_such_module", O_NONBLOCK));
    add("keyctl", ::syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
    add("add_key", ::syscall(SYS_add_key, "user", "vessel", "x", 1, 0x7fffffff));
    add("bpf", ::syscall(SYS_bpf, -1, nullptr, 0));
    add("perf_event_open", ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0));
    add("userfaultfd", ::syscall(SYS_userfaultfd, 0x7fffffff));
    add("swapon", ::syscall(SYS_swapon, "/nonexistent", 0));
    add("reboot", ::syscall(SYS_reboot, 0, 0, 0, nullptr));  // bad magic: EINVAL unfiltered
    add("mount", ::syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, nullptr));
    add("umount2", ::syscall(SYS_umount2, "/nonexistent", 0));
    add("pivot_root", ::syscall(SYS_pivot_root, "/nonexistent", "/nonexistent"));
    add("setns", ::syscall(SYS_setns, -1, 0));
    add("personality(READ_IMPLIES_EXEC)", ::syscall(SYS_personality, READ_IMPLIES_EXEC));
    add("socket(AF_VSOCK)", ::syscall(SYS_socket, 40, SOCK_STREAM, 0));
    add("io_uring_setup", ::syscall(SYS_io_uring_setup, 0, nullptr));
    // Last: unfiltered, it succeeds and the process loses its capabilities in the host's user
    // namespace, which would turn the calls above into EPERM.
    add("unshare(CLONE_NEWUSER)", ::syscall(SYS_unshare, CLONE_NEWUSER));
    return text;
}

TEST(DefaultSeccompProfile, BlocksWhatEscapesTheContainer) {
    auto compiled = compile_json(default_seccomp_profile_json());
    auto filtered = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        report(out, blocked_calls_report());
        // clone with a namespace flag is refused; clone3 says ENOSYS so libc falls back to clone.
        report(out,
               fmt::format("clone(CLONE_NEWUSER) {}\n",
                           outcome_of(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0))));
        report(out, fmt::format("clone3 {}\n", outcome_of(::syscall(SYS_clone3, nullptr, 0))));
        return 0;
    });
    ASSERT_EQ(filtered.exit_code, 0) << filtered.report;
    std::string expected;
    for (const char* name : {"kexec_load",
                             "init_module",
                             "finit_module",
                             "delete_module",
                             "keyctl",
                             "add_key",
                             "bpf",
                             "perf_event_open",
                             "userfaultfd",
                             "swapon",
                             "reboot",
                             "mount",
                             "umount2",
                             "pivot_root",
                             "setns",
                             "personality(READ_IMPLIES_EXEC)",
                             "socket(AF_VSOCK)",
                             "io_uring_setup",
                             "unshare(CLONE_NEWUSER)",
                             "clone(CLONE_NEWUSER)"})
        expected += fmt::format("{} -1 EPERM\n", name);
    expected += "clone3 -1 ENOSYS\n";
    EXPECT_EQ(filtered.report, expected);
}

TEST(DefaultSeccompProfile, WithoutTheFilterTheSameCallsAreNotEperm) {
    if (::geteuid() != 0) GTEST_SKIP() << "the control run needs root (module, mount, swap calls)";
    auto unfiltered = run_in_child([&](int out) {
        report(out, blocked_calls_report());
        return 0;
    });
    ASSERT_EQ(unfiltered.exit_code, 0);
    // Each line must differ from EPERM, or the filtered test would prove nothing for that call.
    std::istringstream lines(unfiltered.report);
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count)
        EXPECT_EQ(line.find("EPERM"), std::string::npos) << line;
    EXPECT_EQ(count, 19);
}

#if defined(__x86_64__)
TEST(DefaultSeccompProfile, X32SyscallNumbersAreRefused) {
    // The profile leaves x32 out of its architectures; libseccomp then treats x32 numbers
    // (bit 30 set) on the x86_64 filter as a bad architecture and kills the thread.
    auto compiled = compile_json(default_seccomp_profile_json());
    auto outcome = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        ::syscall(0x40000000L | SYS_getpid);
        return 0;
    });
    EXPECT_EQ(outcome.signal, SIGSYS) << outcome.report;
}
#endif

void* thread_body(void* value) {
    return static_cast<char*>(value) + 1;
}

TEST(DefaultSeccompProfile, AllowsAnOrdinaryWorkload) {
    ASSERT_TRUE(path_exists("/bin/busybox")) << "busybox-static is missing: run make deps";
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    auto compiled = compile_json(default_seccomp_profile_json());
    auto outcome = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        // fork + exec + wait.
        pid_t pid = ::fork();
        if (pid == 0) {
            ::execl("/bin/true", "true", nullptr);
            ::_exit(127);
        }
        int status = 0;
        if (pid < 0 || ::waitpid(pid, &status, 0) != pid || status != 0)
            return report(out, "fork/exec /bin/true failed"), 2;
        // Threads: glibc tries clone3 first and falls back to clone on ENOSYS.
        pthread_t thread;
        char marker = 0;
        void* result = nullptr;
        if (::pthread_create(&thread, nullptr, thread_body, &marker) != 0 ||
            ::pthread_join(thread, &result) != 0 || result != &marker + 1)
            return report(out, "pthread_create failed"), 3;
        // File I/O.
        const std::string file = dir.path() + "/data", renamed = dir.path() + "/moved";
        if (!write_file_atomic(file, "payload") || ::rename(file.c_str(), renamed.c_str()) != 0 ||
            read_file(renamed).value_or("") != "payload" || ::unlink(renamed.c_str()) != 0)
            return report(out, "file I/O failed"), 4;
        // A busybox shell script, its output going to the report.
        ::dup2(out, STDOUT_FILENO);
        ::execl("/bin/busybox", "sh", "-c",
                "ls / >/dev/null && cat /proc/self/status | grep -q Seccomp && sleep 0.01 && "
                "mkdir -p /tmp/vessel-seccomp-sh.$$ && rmdir /tmp/vessel-seccomp-sh.$$ && "
                "echo ok",
                nullptr);
        return 127;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, "ok\n");
}

TEST(DefaultSeccompProfile, AllowsTheOrdinaryPersonalities) {
    auto compiled = compile_json(default_seccomp_profile_json());
    auto outcome = run_in_child([&](int out) {
        if (!load_in_child(compiled, out)) return 1;
        // Several conditions on one argument are alternatives: each of these is allowed.
        for (unsigned long persona : {0xffffffffUL, 0x0UL, 0x8UL, 0x20000UL, 0x20008UL, 0x0UL})
            report(out, outcome_of(::syscall(SYS_personality, persona)) + " ");
        return 0;
    });
    ASSERT_EQ(outcome.exit_code, 0) << outcome.report;
    EXPECT_EQ(outcome.report, "ok ok ok ok ok ok ");
}

// Receives one message with an attached fd from a connected unix socket.
std::pair<std::string, UniqueFd> receive_with_fd(int socket) {
    std::array<char, 4096> buffer{};
    iovec data{.iov_base = buffer.data(), .iov_len = buffer.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    ssize_t received = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (received <= 0) return {"", UniqueFd()};
    UniqueFd fd;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
            int value;
            std::memcpy(&value, CMSG_DATA(header), sizeof(int));
            fd.reset(value);
        }
    }
    return {std::string(buffer.data(), static_cast<size_t>(received)), std::move(fd)};
}

bool readable_within(int fd, int milliseconds) {
    pollfd entry{.fd = fd, .events = POLLIN};
    return ::poll(&entry, 1, milliseconds) == 1;
}

TEST(SeccompNotify, TheListenerReceivesTheFdAndAnswersTheSyscall) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const std::string socket_path = dir.path() + "/agent.sock";
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{.sun_family = AF_UNIX};
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(::listen(listener.get(), 1), 0);

    Json json = {{"defaultAction", "SCMP_ACT_ALLOW"},
                 {"listenerPath", socket_path},
                 {"listenerMetadata", "test-metadata"},
                 {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
    auto profile = parse_seccomp(JsonAt(json, "linux.seccomp")).value();
    auto compiled = compile_seccomp(profile).value();
    ASSERT_TRUE(compiled.uses_notify);
    const std::string target = dir.path() + "/notified";

    int report_pipe[2];
    ASSERT_EQ(::pipe2(report_pipe, O_CLOEXEC), 0);
    UniqueFd report_read(report_pipe[0]), report_write(report_pipe[1]);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        listener.reset();
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(1);
        auto notify_fd = load_seccomp_filter(compiled);
        if (!notify_fd || !notify_fd->valid()) ::_exit(2);
        Json state = {{"ociVersion", "1.2.0"}, {"id", "notify-test"}, {"status", "creating"}};
        auto sent = send_seccomp_listener_fd(
            profile.listener_path, notify_fd->get(),
            seccomp_listener_state(state, ::getpid(), profile.listener_metadata));
        if (!sent) {
            report(report_write.get(), sent.error().message());
            ::_exit(3);
        }
        notify_fd->reset();
        long result = ::syscall(SYS_mkdir, target.c_str(), 0700);
        report(report_write.get(), outcome_of(result));
        ::_exit(0);
    }
    report_write.reset();

    ASSERT_TRUE(readable_within(listener.get(), 10000)) << "the child never connected";
    UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(connection.valid());
    ASSERT_TRUE(readable_within(connection.get(), 10000));
    auto [text, notify_fd] = receive_with_fd(connection.get());
    ASSERT_TRUE(notify_fd.valid()) << "no fd arrived with: " << text;
    auto message = parse_json(text, "listener message").value();
    EXPECT_EQ(message["metadata"], "test-metadata");
    EXPECT_EQ(message["pid"], pid);
    EXPECT_EQ(message["fds"], Json::array({"seccompFd"}));
    EXPECT_EQ(message["state"]["id"], "notify-test");

    ASSERT_TRUE(readable_within(notify_fd.get(), 10000)) << "no notification arrived";
    seccomp_notif request{};
    ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_RECV, &request), 0) << strerror(errno);
    EXPECT_EQ(request.pid, static_cast<uint32_t>(pid));
    EXPECT_EQ(request.data.nr, SYS_mkdir);
    EXPECT_EQ(request.data.args[1], 0700u);
    seccomp_notif_resp response{.id = request.id, .val = 0, .error = -EXDEV, .flags = 0};
    ASSERT_EQ(::ioctl(notify_fd.get(), SECCOMP_IOCTL_NOTIF_SEND, &response), 0) << strerror(errno);

    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(read_fd(report_read.get()).value_or(""), "-1 EXDEV");
    EXPECT_FALSE(path_exists(target));  // the agent answered; the kernel never ran mkdir
}

}  // namespace
}  // namespace vessel::container
