// vessel-vmm's jail: the --jail option and each thread role's seccomp allow-list, in forked
// children (no root needed: a filter loads under no_new_privs). jail_entry_test enters the whole
// jail.
#include "vm/vmm/jail.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace vessel::vm {
namespace {

// Runs `body` in a forked child and returns its wait status. stderr of the child goes to
// `stderr_text` when given.
int in_child(const std::function<int()>& body, std::string* stderr_text = nullptr) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(pipe_fds[0]);
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::_exit(body());
    }
    ::close(pipe_fds[1]);
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<size_t>(n));
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (stderr_text) *stderr_text = text;
    return status;
}

bool killed_by_sigsys(int status) {
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

// A child confined to `role` that then makes `call`: its wait status.
int confined_then(ThreadRole role, const FilterNeeds& needs, const std::function<void()>& call) {
    auto filter = build_thread_filter(role, needs);
    if (!filter) {
        ADD_FAILURE() << filter.error().message();
        return -1;
    }
    return in_child([&] {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 90;
        if (!install_filter(*filter)) return 91;
        call();
        return 0;
    });
}

constexpr ThreadRole kRoles[] = {ThreadRole::main, ThreadRole::vcpu, ThreadRole::io,
                                 ThreadRole::console};

TEST(JailOption, TakesAnUnprivilegedUidAndGid) {
    auto option = parse_jail_option("1879048192:1879048193");
    ASSERT_TRUE(option) << option.error().message();
    EXPECT_EQ(option->uid, 1879048192u);
    EXPECT_EQ(option->gid, 1879048193u);
}

TEST(JailOption, RefusesRootAndMalformedIds) {
    std::map<std::string, std::string> cases = {
        {"0:1000", "uid 0 is root"},
        {"1000:0", "gid 0 is root"},
        {"1000", "expected UID:GID"},
        {"abc:1000", "uid 'abc' is not a number"},
        {"1000:", "gid '' is not a number"},
        {"4294967295:1000", "uid '4294967295' is not a number below 4294967295"},
        {"99999999999:1", "is not a number"},
    };
    for (const auto& [text, message] : cases) {
        auto option = parse_jail_option(text);
        ASSERT_FALSE(option) << text;
        EXPECT_NE(option.error().message().find(message), std::string::npos)
            << text << ": " << option.error().message();
        EXPECT_TRUE(option.error().message().starts_with("--jail: ")) << text;
    }
}

TEST(JailFilter, EveryRoleMayWriteToItsDescriptorsAndEnd) {
    for (ThreadRole role : kRoles) {
        int status = confined_then(role, {}, [] {
            (void)!::write(STDERR_FILENO, "", 0);
            struct timespec now {};
            ::clock_gettime(CLOCK_MONOTONIC, &now);
        });
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << thread_role_name(role) << " status " << status;
    }
}

TEST(JailFilter, NoRoleMayOpenAFile) {
    // Refused with EACCES, not killed: glibc itself tries (malloc's overcommit check).
    for (ThreadRole role : kRoles) {
        int status = confined_then(role, {.unix_sockets = true}, [] {
            long fd = ::syscall(SYS_openat, AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_RDONLY);
            if (fd != -1 || errno != EACCES) ::_exit(3);
            fd = ::syscall(SYS_open, "/etc/passwd", O_RDONLY);
            if (fd != -1 || errno != EACCES) ::_exit(4);
        });
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << thread_role_name(role) << " status " << status;
    }
}

TEST(JailFilter, NoRoleMayExecuteForkOrTrace) {
    for (ThreadRole role : kRoles) {
        EXPECT_TRUE(killed_by_sigsys(
            confined_then(role, {.unix_sockets = true},
                          [] {
                              char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
                              ::syscall(SYS_execve, "/bin/true", argv, nullptr);
                          })))
            << thread_role_name(role) << ": execve";
        EXPECT_TRUE(killed_by_sigsys(confined_then(
            role, {.unix_sockets = true}, [] { ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); })))
            << thread_role_name(role) << ": fork";
        EXPECT_TRUE(killed_by_sigsys(
            confined_then(role, {.unix_sockets = true}, [] { ::syscall(SYS_ptrace, 0, 0, 0, 0); })))
            << thread_role_name(role) << ": ptrace";
    }
}

TEST(JailFilter, OnlyTheIoThreadOfAVsockVmMakesUnixSockets) {
    auto unix_socket = [] { ::syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); };
    auto inet_socket = [] { ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); };
    int status = confined_then(ThreadRole::io, {.unix_sockets = true}, unix_socket);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(
        killed_by_sigsys(confined_then(ThreadRole::io, {.unix_sockets = true}, inet_socket)));
    EXPECT_TRUE(killed_by_sigsys(confined_then(ThreadRole::io, {}, unix_socket)));
    EXPECT_TRUE(
        killed_by_sigsys(confined_then(ThreadRole::vcpu, {.unix_sockets = true}, unix_socket)));
}

TEST(JailFilter, TheVcpuThreadRunsIoctlsButNotDiskIo) {
    int status = confined_then(ThreadRole::vcpu, {}, [] { ::syscall(SYS_ioctl, -1, 0, 0); });
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(killed_by_sigsys(
        confined_then(ThreadRole::vcpu, {}, [] { ::syscall(SYS_pwrite64, -1, nullptr, 0, 0); })));
}

TEST(JailFilter, OnlyVcpuThreadsMakeExecutableMemory) {
    auto map_executable = [] {
        ::syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                  0);
    };
    auto protect_executable = [] {
        void* page =
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ::syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
    };
    for (const std::function<void()>& call :
         {std::function<void()>(map_executable), std::function<void()>(protect_executable)}) {
        int status = confined_then(ThreadRole::vcpu, {}, call);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        for (ThreadRole role : {ThreadRole::main, ThreadRole::io, ThreadRole::console})
            EXPECT_TRUE(killed_by_sigsys(confined_then(role, {}, call))) << thread_role_name(role);
    }
}

TEST(JailFilter, StartupFilterStartsThreadsThatNarrowThemselves) {
    auto startup = build_startup_filter({});
    auto vcpu = build_thread_filter(ThreadRole::vcpu, {});
    ASSERT_TRUE(startup && vcpu);
    int status = in_child([&] {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 90;
        if (!install_filter(*startup)) return 91;
        // glibc's pthread_create: clone3 is answered ENOSYS, clone with CLONE_THREAD allowed.
        int result = 92;
        std::thread worker([&] {
            ::pthread_setname_np(::pthread_self(), "vcpu 0");
            result = install_filter(*vcpu) ? 0 : 93;
        });
        worker.join();
        if (result != 0) return result;
        // A process, not a thread: refused even before the main thread narrows itself.
        ::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        return 94;
    });
    EXPECT_TRUE(killed_by_sigsys(status)) << "status " << status;
}

TEST(Jail, RefusesDebuggingToolsAndRelativeSocketPaths) {
    VmConfig config;
    config.jail = JailOption{.uid = 1879048192, .gid = 1879048192};
    config.gdb = GdbOption{};
    auto refused = Jail::prepare(config);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("--gdb needs the jail off"), std::string::npos);
    config.gdb.reset();
    config.perf_map = true;
    refused = Jail::prepare(config);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("--perf-map"), std::string::npos);
    config.perf_map = false;
    config.vsock = VsockOption{.guest_cid = 3, .socket_path = "relative/vsock.sock"};
    refused = Jail::prepare(config);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("must be absolute"), std::string::npos);
}

}  // namespace
}  // namespace vessel::vm
