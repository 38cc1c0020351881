#include "base/process.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/file.h"

extern char** environ;

namespace vessel {

std::string ExitStatus::describe() const {
    if (signal != 0) return fmt::format("killed by signal {} ({})", signal, ::strsignal(signal));
    return fmt::format("exit status {}", code);
}

void reset_signal_dispositions() noexcept {
    // rt_sigaction itself: glibc's sigaction refuses the two signals it keeps for threads (32 and
    // 33), which a parent may still have left ignored. SIG_DFL with no flags and an empty mask is
    // all zero bytes in every architecture's kernel struct sigaction.
    const unsigned char default_action[64] = {};
    for (int signal = 1; signal < _NSIG; ++signal)
        if (signal != SIGKILL && signal != SIGSTOP)
            ::syscall(SYS_rt_sigaction, signal, default_action, nullptr, _NSIG / 8);
}

ExitStatus exit_status_from_wait(int wait_status) {
    if (WIFSIGNALED(wait_status)) return {.code = 0, .signal = WTERMSIG(wait_status)};
    return {.code = WEXITSTATUS(wait_status), .signal = 0};
}

Result<UniqueFd> open_pidfd(pid_t pid) {
    // Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" and cannot link from C++.
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return fail_errno(fmt::format("pidfd_open {}", pid));
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    return UniqueFd(fd);
}

Result<> Child::signal(int signal_number) const {
    if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal_number, nullptr, 0) != 0)
        return fail_errno(fmt::format("signal {} to pid {}", signal_number, pid_));
    return {};
}

Result<ExitStatus> Child::wait() {
    siginfo_t info{};
    for (;;) {
        if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                     WEXITED) == 0)
            break;
        if (errno != EINTR) return fail_errno(fmt::format("wait for pid {}", pid_));
    }
    if (info.si_code == CLD_EXITED) return ExitStatus{.code = info.si_status, .signal = 0};
    return ExitStatus{.code = 0, .signal = info.si_status};
}

Result<std::optional<ExitStatus>> Child::wait_for(std::chrono::milliseconds timeout) {
    pollfd waiting{.fd = pidfd_.get(), .events = POLLIN, .revents = 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        int ready = ::poll(&waiting, 1, static_cast<int>(std::max<long>(0, left.count())));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll pidfd");
        }
        if (ready == 0) return std::optional<ExitStatus>{};
        return std::optional<ExitStatus>(TRY(wait()));
    }
}

namespace {

// Runs in the child between clone and exec: only raw system calls, and failures go back to the
// parent through the close-on-exec pipe as an errno plus a step number. Raw, not libc's
// wrappers: a sanitizer runtime intercepts some of those (dup2, _exit) and takes its own locks
// in them, which another thread of the parent may have held at the clone (ThreadSanitizer's
// vesseld spun forever in dup2).
[[noreturn]] void exec_child(const SpawnOptions& options, const std::vector<int>& keep,
                             char* const* argv, char* const* envp, int report_fd) {
    auto report = [&](int step) {
        int payload[2] = {errno, step};
        ::syscall(SYS_write, report_fd, payload, sizeof payload);
        ::syscall(SYS_exit_group, 127);
        __builtin_unreachable();
    };
    if (options.new_session && ::syscall(SYS_setsid) < 0) report(1);
    int wanted[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    // Move sources above the standard numbers first so that a dup cannot clobber a later source.
    for (int& fd : wanted) {
        if (fd >= 0 && fd <= 2) {
            fd = static_cast<int>(::syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3));
            if (fd < 0) report(2);
        }
    }
    // Every source is 3 or above now, never its target: dup3 (which refuses equal numbers) fits.
    for (int target = 0; target < 3; ++target) {
        if (wanted[target] >= 0 && ::syscall(SYS_dup3, wanted[target], target, 0) < 0) report(2);
    }
    // Close every other descriptor except the ones asked for and the report pipe (cloexec).
    int low = 3;
    for (int kept : keep) {
        if (kept < low) continue;
        if (kept > low) ::syscall(SYS_close_range, low, kept - 1, 0);
        if (kept != report_fd) ::syscall(SYS_fcntl, kept, F_SETFD, 0);
        low = kept + 1;
    }
    ::syscall(SYS_close_range, low, ~0U, 0);
    if (!options.cwd.empty() && ::syscall(SYS_chdir, options.cwd.c_str()) != 0) report(3);
    // exec keeps ignored signals ignored, and `yes | head` in a container must end with SIGPIPE.
    reset_signal_dispositions();
    const uint64_t no_signals = 0;
    ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &no_signals, nullptr, sizeof no_signals);
    if (options.search_path)
        ::execvpe(argv[0], argv, envp);
    else
        ::syscall(SYS_execve, argv[0], argv, envp);
    report(4);
    __builtin_unreachable();
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    pointers.reserve(strings.size() + 1);
    for (const auto& s : strings)
        pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

}  // namespace

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_errno("pipe");
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Result<Child> spawn(const SpawnOptions& options) {
    if (options.argv.empty()) return fail("spawn: empty argument list");
    auto argv = c_strings(options.argv);
    std::vector<char*> envp = options.env ? c_strings(*options.env) : std::vector<char*>{};
    char* const* env_pointer = options.env ? envp.data() : environ;

    int report_pipe[2];
    if (::pipe2(report_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd report_read(report_pipe[0]);
    UniqueFd report_write(report_pipe[1]);

    // Sorted here, before the fork: the child of a multithreaded parent must not allocate.
    std::vector<int> keep = options.keep_fds;
    keep.push_back(report_write.get());
    std::sort(keep.begin(), keep.end());

    int pidfd = -1;
    clone_args args{};
    args.flags = CLONE_PIDFD | (options.new_pid_namespace ? CLONE_NEWPID : 0);
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return fail_errno("clone3 for " + options.argv[0]);
    if (pid == 0) exec_child(options, keep, argv.data(), env_pointer, report_write.get());

    Child child(static_cast<pid_t>(pid), UniqueFd(pidfd));
    report_write.reset();
    int payload[2] = {0, 0};
    ssize_t n;
    do {
        n = ::read(report_read.get(), payload, sizeof payload);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof payload) {
        (void)child.wait();
        std::string what;
        switch (payload[1]) {
            case 1:
                what = "setsid";
                break;
            case 2:
                what = "set up standard descriptors";
                break;
            case 3:
                what = "chdir to " + options.cwd;
                break;
            default:
                what = "exec " + options.argv[0];
                break;
        }
        return fail_errno(payload[0], what);
    }
    return child;
}

Result<CapturedOutput> run_capture(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout,
                                   const std::string& stdin_data) {
    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);

    SpawnOptions options;
    options.argv = argv;
    options.stdin_fd = in_read.get();
    options.stdout_fd = out_write.get();
    options.stderr_fd = err_write.get();
    auto child = TRY(spawn(options));
    in_read.reset();
    out_write.reset();
    err_write.reset();

    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    std::string_view pending_input = stdin_data;
    if (pending_input.empty()) in_write.reset();

    CapturedOutput captured;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_read || err_read || in_write) {
        pollfd fds[3];
        int count = 0;
        UniqueFd* owners[3];
        for (UniqueFd* fd : {&out_read, &err_read}) {
            if (*fd) {
                fds[count] = {.fd = fd->get(), .events = POLLIN, .revents = 0};
                owners[count++] = fd;
            }
        }
        if (in_write) {
            fds[count] = {.fd = in_write.get(), .events = POLLOUT, .revents = 0};
            owners[count++] = &in_write;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            (void)child.signal(SIGKILL);
            (void)child.wait();
            return fail_errno(
                ETIMEDOUT, fmt::format("{} did not finish within {} ms", argv[0], timeout.count()));
        }
        int ready = ::poll(fds, static_cast<nfds_t>(count), static_cast<int>(left.count()));
        if (ready < 0) {
            if (errno == EINTR) continue;
            return fail_errno("poll");
        }
        for (int i = 0; i < count; ++i) {
            if (fds[i].revents == 0) continue;
            if (owners[i] == &in_write) {
                ssize_t n = ::write(in_write.get(), pending_input.data(), pending_input.size());
                if (n > 0) pending_input.remove_prefix(static_cast<size_t>(n));
                if (n < 0 && errno != EAGAIN && errno != EINTR) pending_input = {};
                if (pending_input.empty()) in_write.reset();
                continue;
            }
            char buffer[4096];
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                (owners[i] == &out_read ? captured.out : captured.err)
                    .append(buffer, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                owners[i]->reset();
            }
        }
    }
    captured.status = TRY(child.wait());
    return captured;
}

Result<std::string> run_checked(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout, const std::string& stdin_data) {
    auto ran = TRY(run_capture(argv, timeout, stdin_data));
    if (ran.status.success()) return std::move(ran.out);
    std::string command;
    for (const auto& word : argv)
        command += (command.empty() ? "" : " ") + word;
    std::string reason = ran.err.substr(0, ran.err.find('\n'));
    return fail("{}: {}", command, reason.empty() ? ran.status.describe() : reason);
}

}  // namespace vessel
