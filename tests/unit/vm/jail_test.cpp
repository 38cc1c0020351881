// vessel-vmm's jail: the --jail option, each thread role's seccomp allow-list, and the whole jail
// entered by a real process (needs root, as `make test` runs), observed from outside through
// /proc as an operator would.
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

TEST(JailFilter, NoRoleMayOpenExecuteOrFork) {
    for (ThreadRole role : kRoles) {
        EXPECT_TRUE(killed_by_sigsys(
            confined_then(role, {.unix_sockets = true},
                          [] { ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); })))
            << thread_role_name(role) << ": openat";
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

std::string status_field(pid_t pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with(field + ":")) {
            auto value = line.substr(field.size() + 1);
            auto start = value.find_first_not_of(" \t");
            return start == std::string::npos ? "" : value.substr(start);
        }
    return "";
}

TEST(Jail, EnteredProcessIsUnprivilegedConfinedAndRootless) {
    ASSERT_EQ(::geteuid(), 0u) << "the jail's test needs root, as make test has";
    auto socket_dir =
        std::filesystem::temp_directory_path() / ("vessel-jail-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(socket_dir);
    VmConfig config;
    config.kernel = "/nonexistent-kernel";
    config.vsock = VsockOption{.guest_cid = 3, .socket_path = (socket_dir / "vsock.sock").string()};
    config.jail = JailOption{.uid = 1879048192 + 4242, .gid = 1879048192 + 4243};
    auto jail = Jail::prepare(config);
    ASSERT_TRUE(jail) << jail.error().message();

    int ready[2], release[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(release), 0);
    int errors[2];
    ASSERT_EQ(::pipe(errors), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::alarm(60);  // a child whose parent failed an assertion does not wait forever
        ::dup2(errors[1], STDERR_FILENO);
        auto entered = (*jail)->enter();
        if (!entered) {
            (void)!::write(STDERR_FILENO, entered.error().message().data(),
                           entered.error().message().size());
            ::_exit(1);
        }
        (*jail)->confine_thread(ThreadRole::main);
        (void)!::write(ready[1], "j", 1);
        char go;
        (void)!::read(release[0], &go, 1);
        // What a compromised VMM tries first: the jail ends it with a line naming the call.
        ::syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY);
        ::_exit(2);
    }
    ::close(errors[1]);
    // However the checks below end, the child does not outlive the test.
    struct Reaper {
        pid_t pid;
        bool reaped = false;
        ~Reaper() {
            if (reaped) return;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{pid};
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child did not enter its jail";

    EXPECT_EQ(status_field(pid, "Uid"), "1879052434\t1879052434\t1879052434\t1879052434");
    EXPECT_EQ(status_field(pid, "Gid"), "1879052435\t1879052435\t1879052435\t1879052435");
    EXPECT_EQ(status_field(pid, "Groups"), "");
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
        EXPECT_EQ(status_field(pid, set), "0000000000000000") << set;
    EXPECT_EQ(status_field(pid, "NoNewPrivs"), "1");
    EXPECT_EQ(status_field(pid, "Seccomp"), "2");
    // The root is an empty tmpfs holding only the path to the vsock socket's directory.
    std::vector<std::string> entries;
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/root"))
        entries.push_back(entry.path().filename().string());
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ("/" + entries[0], socket_dir.string().substr(0, socket_dir.string().find('/', 1)));
    for (const char* ns : {"mnt", "net", "ipc", "uts"}) {
        auto ours = std::filesystem::read_symlink(std::string("/proc/self/ns/") + ns);
        auto theirs = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + ns);
        EXPECT_NE(ours, theirs) << ns;
    }
    std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
    std::string limits_text((std::istreambuf_iterator<char>(limits)), {});
    EXPECT_NE(limits_text.find("Max core file size        0                    0"),
              std::string::npos)
        << limits_text;
    EXPECT_NE(limits_text.find("Max open files            1024                 1024"),
              std::string::npos)
        << limits_text;

    (void)!::write(release[1], "g", 1);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    reaper.reaped = true;
    std::string text;
    char buffer[512];
    for (ssize_t n; (n = ::read(errors[0], buffer, sizeof buffer)) > 0;)
        text.append(buffer, static_cast<size_t>(n));
    EXPECT_TRUE(killed_by_sigsys(status)) << "status " << status << ": " << text;
    EXPECT_NE(
        text.find("forbids system call " + std::to_string(SYS_openat) + " on the main thread"),
        std::string::npos)
        << text;
    // Nothing of the jail is left on the host: the tmpfs lived in the child's mount namespace.
    std::ifstream mounts("/proc/self/mounts");
    std::string mounts_text((std::istreambuf_iterator<char>(mounts)), {});
    EXPECT_EQ(mounts_text.find("vessel-jail"), std::string::npos);
    std::filesystem::remove_all(socket_dir);
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
