// vessel-vmm's whole jail entered by a real process, observed from outside through /proc as an
// operator would: its ids, capability sets, no_new_privs, seccomp mode, root, namespaces and
// limits, and the end a forbidden call brings. Needs root (it changes uid), as `make test` has.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vm/vmm/jail.h"

namespace vessel::vm {
namespace {

bool killed_by_sigsys(int status) {
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
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
        // What a compromised VMM tries: opening a file fails; running a program ends it, with a
        // line naming the call.
        if (::syscall(SYS_openat, AT_FDCWD, "/etc/shadow", O_RDONLY) != -1 || errno != EACCES)
            ::_exit(3);
        char* argv[] = {const_cast<char*>("/bin/sh"), nullptr};
        ::syscall(SYS_execve, "/bin/sh", argv, nullptr);
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
        text.find("forbids system call " + std::to_string(SYS_execve) + " on the main thread"),
        std::string::npos)
        << text;
    // Nothing of the jail is left on the host: the tmpfs lived in the child's mount namespace.
    std::ifstream mounts("/proc/self/mounts");
    std::string mounts_text((std::istreambuf_iterator<char>(mounts)), {});
    EXPECT_EQ(mounts_text.find("vessel-jail"), std::string::npos);
    std::filesystem::remove_all(socket_dir);
}

}  // namespace
}  // namespace vessel::vm
