#include "container/linux/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"

namespace vessel::container::sys {

Result<> set_host_and_domain_name(const spec::Spec& spec) {
    if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
        return fail_errno("hostname: sethostname");
    if (!spec.domainname.empty() &&
        ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
        return fail_errno("domainname: setdomainname");
    return {};
}

Result<> apply_sysctls(const spec::Linux& config) {
    for (const auto& [key, value] : config.sysctl) {
        std::string path = "/proc/sys/" + key;
        for (size_t i = 10; i < path.size(); ++i)
            if (path[i] == '.') path[i] = '/';
        TRY_CTX(write_existing_file(path, value), "linux.sysctl.{}", key);
    }
    return {};
}

Result<> set_personality(const spec::Linux& config) {
    if (!config.personality) return {};
    if (::personality(*config.personality) == -1)
        return fail_errno("linux.personality: set the execution domain");
    return {};
}

Result<> set_oom_score_adj(const spec::Process& process) {
    if (!process.oom_score_adj) return {};
    auto written =
        write_existing_file("/proc/self/oom_score_adj", std::to_string(*process.oom_score_adj));
    if (!written && written.error().code() == EACCES)
        return std::unexpected(
            written.error().context("process.oomScoreAdj: lowering the OOM score needs "
                                    "CAP_SYS_RESOURCE, which this host lacks"));
    return with_context(std::move(written), "process.oomScoreAdj");
}

Result<> apply_rlimits(const spec::Process& process) {
    for (size_t i = 0; i < process.rlimits.size(); ++i) {
        const auto& limit = process.rlimits[i];
        rlimit value{.rlim_cur = limit.soft, .rlim_max = limit.hard};
        if (::setrlimit(static_cast<__rlimit_resource>(limit.resource), &value) != 0) {
            Error error(fmt::format("set {}", limit.type), errno);
            if (errno == EPERM)
                error.context("raising a hard limit needs CAP_SYS_RESOURCE, which this host lacks");
            return std::unexpected(error.context(fmt::format("process.rlimits[{}]", i)));
        }
    }
    return {};
}

Result<> switch_user(const spec::Process& process) {
    const auto& user = process.user;
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) != 0) {
        // A user namespace whose gid map an unprivileged runtime wrote itself forbids setgroups;
        // there, no supplementary groups is what the process has anyway.
        int error = errno;
        auto policy = read_file("/proc/self/setgroups");
        bool denied = error == EPERM && policy && policy->starts_with("deny");
        if (!denied) return fail_errno(error, "process.user.additionalGids: setgroups");
        if (!groups.empty())
            return fail(
                "process.user.additionalGids: setgroups is denied in this user namespace "
                "(its gid map was written without newgidmap)");
    }
    if (::setresgid(user.gid, user.gid, user.gid) != 0)
        return fail_errno("process.user.gid: setgid");
    if (::setresuid(user.uid, user.uid, user.uid) != 0)
        return fail_errno("process.user.uid: setuid");
    ::umask(user.umask.value_or(022));
    return {};
}

Result<> set_no_new_privileges(const spec::Process& process) {
    if (process.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail_errno("process.noNewPrivileges: prctl");
    return {};
}

namespace {

bool is_executable_file(const std::string& path) {
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
           (info.st_mode & 0111) != 0 && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<std::string> find_executable(const spec::Process& process) {
    const std::string& name = process.args[0];
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) return name;
        return fail_errno("process.args[0]: \"" + name + "\"");
    }
    std::string search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const auto& entry : process.env)
        if (entry.rfind("PATH=", 0) == 0) search = entry.substr(5);
    size_t position = 0;
    while (position <= search.size()) {
        size_t end = search.find(':', position);
        if (end == std::string::npos) end = search.size();
        std::string directory = search.substr(position, end - position);
        std::string candidate = (directory.empty() ? "." : directory) + "/" + name;
        if (is_executable_file(candidate)) return candidate;
        position = end + 1;
    }
    return fail("process.args[0]: \"{}\": executable file not found in $PATH", name);
}

void exec_container_process(const std::string& executable, const spec::Process& process,
                            const sigset_t& original_mask, int preserve_fds) {
    std::vector<char*> argv;
    for (const auto& arg : process.args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& entry : process.env)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);
    const auto first_closed = static_cast<unsigned>(3 + preserve_fds);
    ::syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int fd = 3; fd < 3 + preserve_fds; ++fd)
        ::fcntl(fd, F_SETFD, 0);
    ::sigprocmask(SIG_SETMASK, &original_mask, nullptr);
    ::execve(executable.c_str(), argv.data(), envp.data());
}

Result<UniqueFd> open_terminal_as_stdio(const spec::Process& process) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return fail_errno("process.terminal: open /dev/ptmx");
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0)
        return fail_errno("process.terminal: unlock the pty");
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY));
    if (!slave) return fail_errno("process.terminal: open the pty");
    if (process.console_size) {
        winsize size{};
        size.ws_row = process.console_size->height;
        size.ws_col = process.console_size->width;
        if (::ioctl(slave.get(), TIOCSWINSZ, &size) != 0)
            return fail_errno("process.consoleSize: set the window size");
    }
    // The program's user owns its terminal, as after a login.
    if (::fchown(slave.get(), process.user.uid, static_cast<gid_t>(-1)) != 0)
        return fail_errno("process.terminal: chown the pty");
    if (::setsid() < 0) return fail_errno("process.terminal: setsid");
    if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0)
        return fail_errno("process.terminal: make the pty the controlling terminal");
    for (int stdio = 0; stdio < 3; ++stdio)
        if (::dup2(slave.get(), stdio) < 0) return fail_errno("process.terminal: dup2");
    return master;
}

}  // namespace vessel::container::sys
