#include "container/runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "base/unique_fd.h"

namespace vessel::container::runtime {

namespace {

constexpr int kNamespacesForHooks =
    CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWPID;
constexpr size_t kStderrKept = 2000;

Result<std::vector<Hook>> parse_list(const JsonAt& list) {
    std::vector<Hook> hooks;
    for (const JsonAt& item : TRY(list.array())) {
        TRY(item.expect_object());
        Hook hook;
        hook.where = item.path();
        auto path = TRY(item.child("path"));
        hook.path = TRY(path.string());
        if (hook.path.empty() || hook.path[0] != '/')
            return std::unexpected(path.error("must be an absolute path"));
        if (::access(hook.path.c_str(), X_OK) != 0)
            return std::unexpected(path.error(Error(hook.path, errno).message()));
        hook.args = TRY(item.optional_string_array("args"));
        if (hook.args.empty()) hook.args = {hook.path};
        hook.env = TRY(item.optional_string_array("env"));
        if (auto timeout = item.optional_child("timeout")) {
            if (!timeout->value().is_number_integer() || timeout->value().get<int64_t>() <= 0 ||
                timeout->value().get<int64_t>() > 86400)
                return std::unexpected(timeout->error("must be a positive number of seconds"));
            hook.timeout_seconds = timeout->value().get<int>();
        }
        hooks.push_back(std::move(hook));
    }
    return hooks;
}

// Runs one hook; the error says why it failed.
Result<> run_hook(const Hook& hook, const std::string& state_text, int container_pidfd) {
    // stdin is a socket, not a pipe: a hook that exits without reading it must not kill the
    // runtime with SIGPIPE (send with MSG_NOSIGNAL below).
    int input[2], errors[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input) != 0 ||
        ::pipe2(errors, O_CLOEXEC) != 0)
        return fail_errno(hook.where + ": pipe");
    UniqueFd input_read(input[0]), input_write(input[1]), errors_read(errors[0]),
        errors_write(errors[1]);
    // Opened here, in the runtime's mount namespace, whatever namespace the hook runs in.
    UniqueFd binary(::open(hook.path.c_str(), O_PATH));
    if (!binary) return fail_errno(fmt::format("{}: {}", hook.where, hook.path));

    std::vector<char*> argv, envp;
    for (const auto& arg : hook.args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    for (const auto& entry : hook.env)
        envp.push_back(const_cast<char*>(entry.c_str()));
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno(hook.where + ": fork");
    if (pid == 0) {
        ::dup2(input_read.get(), 0);
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(errors_write.get(), 2);
        // Our ends close now, not at exec: the relay below never execs, and a write end of the
        // hook's stdin left open would keep the hook from ever reading end-of-file.
        for (int fd : {input_read.get(), input_write.get(), errors_read.get(), errors_write.get()})
            ::close(fd);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (container_pidfd >= 0) {
            if (::setns(container_pidfd, kNamespacesForHooks) != 0) {
                dprintf(2, "join the container's namespaces: %s", std::strerror(errno));
                ::_exit(126);
            }
            // Joining a pid namespace places only children in it; the hook must be one (a
            // script's /dev/fd/N is read through the container's /proc/self).
            pid_t hook_pid = ::fork();
            if (hook_pid < 0) ::_exit(126);
            if (hook_pid > 0) {
                int status = 0;
                while (::waitpid(hook_pid, &status, 0) < 0 && errno == EINTR) {
                }
                ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            }
            ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        }
        ::syscall(SYS_execveat, binary.get(), "", argv.data(), envp.data(), AT_EMPTY_PATH);
        dprintf(2, "exec %s: %s", hook.path.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    input_read.reset();
    errors_write.reset();
    // The state is small (well under a pipe's buffer); a hook that does not read it is fine.
    (void)!::send(input_write.get(), state_text.data(), state_text.size(), MSG_NOSIGNAL);
    input_write.reset();

    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    auto deadline = hook.timeout_seconds ? std::chrono::steady_clock::now() +
                                               std::chrono::seconds(*hook.timeout_seconds)
                                         : std::chrono::steady_clock::time_point::max();
    std::string stderr_text;
    bool timed_out = false;
    for (bool errors_open = true, exited = false; !exited || errors_open;) {
        int wait_ms = -1;
        if (hook.timeout_seconds) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
        }
        pollfd fds[2] = {{pidfd.get(), POLLIN, 0},
                         {errors_open ? errors_read.get() : -1, POLLIN, 0}};
        int ready = ::poll(fds, 2, exited ? 1000 : wait_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0 && !exited) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            exited = true;  // reaped below
            break;
        }
        if (ready == 0) break;  // exited, but a grandchild holds stderr open: stop reading
        if (fds[0].revents) exited = true;
        if (fds[1].revents) {
            char buffer[512];
            ssize_t got = ::read(errors_read.get(), buffer, sizeof buffer);
            if (got <= 0)
                errors_open = false;
            else if (stderr_text.size() < kStderrKept)
                stderr_text.append(buffer, static_cast<size_t>(got));
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' '))
        stderr_text.pop_back();
    std::string said = stderr_text.empty() ? "" : ": " + stderr_text;
    if (timed_out)
        return fail("{}: {} timed out after {} s and was killed{}", hook.where, hook.path,
                    *hook.timeout_seconds, said);
    if (WIFSIGNALED(status))
        return fail("{}: {} was killed by signal {}{}", hook.where, hook.path, WTERMSIG(status),
                    said);
    if (WEXITSTATUS(status) != 0)
        return fail("{}: {} exited with status {}{}", hook.where, hook.path, WEXITSTATUS(status),
                    said);
    return {};
}

}  // namespace

Result<Hooks> parse_hooks(const Json& hooks) {
    Hooks parsed;
    if (hooks.is_null()) return parsed;
    JsonAt at(hooks, "hooks");
    TRY(at.expect_object());
    for (const auto& [name, list] : hooks.items()) {
        JsonAt item(list, json_path("hooks", name));
        std::vector<Hook>* target = name == "prestart"          ? &parsed.prestart
                                    : name == "createRuntime"   ? &parsed.create_runtime
                                    : name == "createContainer" ? &parsed.create_container
                                    : name == "startContainer"  ? &parsed.start_container
                                    : name == "poststart"       ? &parsed.poststart
                                    : name == "poststop"        ? &parsed.poststop
                                                                : nullptr;
        if (!target) return std::unexpected(item.error("is not an OCI hook"));
        if (list.is_null()) continue;
        *target = TRY(parse_list(item));
    }
    return parsed;
}

Result<> run_hooks(const std::vector<Hook>& hooks, const Json& state, int container_pidfd) {
    std::string text = state.dump();
    for (const Hook& hook : hooks)
        TRY(run_hook(hook, text, container_pidfd));
    return {};
}

void run_hooks_warning_only(const std::vector<Hook>& hooks, const Json& state, const Logger& log) {
    std::string text = state.dump();
    for (const Hook& hook : hooks)
        if (auto ran = run_hook(hook, text, -1); !ran) log.warning("{}", ran.error().message());
}

}  // namespace vessel::container::runtime
