#include "agent/exec.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/protocol.h"
#include "agent/relay.h"
#include "agent/reply.h"
#include "base/log.h"
#include "base/process.h"

extern char** environ;

namespace vessel::agent {

namespace {

struct ExecRequest {
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    bool tty = false;
    uint16_t rows = 24;
    uint16_t cols = 80;
};

Result<ExecRequest> parse_exec(const JsonAt& request) {
    ExecRequest exec;
    exec.argv = TRY(TRY(request.child("argv")).string_array());
    if (exec.argv.empty()) return fail("request.argv: must not be empty");
    exec.tty = TRY(request.optional_boolean("tty")).value_or(false);
    if (request.has("env")) {
        exec.env = TRY(request.optional_string_array("env"));
    } else {
        exec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME=/root"};
        if (exec.tty) exec.env.push_back("TERM=xterm");
    }
    exec.cwd = TRY(request.optional_string("cwd")).value_or("/");
    exec.uid = TRY(request.optional_integer_in<uint32_t>("uid"));
    exec.gid = TRY(request.optional_integer_in<uint32_t>("gid"));
    exec.rows = TRY(request.optional_integer_in<uint16_t>("rows")).value_or(24);
    exec.cols = TRY(request.optional_integer_in<uint16_t>("cols")).value_or(80);
    return exec;
}

// What the child reports through the close-on-exec pipe when a step before exec fails.
enum class Step : int { setsid = 1, terminal, streams, groups, setgid, setuid, chdir, exec };

std::string describe_step(Step step, const ExecRequest& exec) {
    switch (step) {
        case Step::setsid:
            return "setsid";
        case Step::terminal:
            return "make the pseudo-terminal the controlling terminal";
        case Step::streams:
            return "set up standard descriptors";
        case Step::groups:
            return "drop supplementary groups";
        case Step::setgid:
            return fmt::format("setgid {}", exec.gid.value_or(0));
        case Step::setuid:
            return fmt::format("setuid {}", exec.uid.value_or(0));
        case Step::chdir:
            return "chdir " + single_line(exec.cwd);
        case Step::exec:
            break;
    }
    return {};
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (const auto& s : strings)
        pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

// Everything the child needs, prepared before fork so that the child only makes system calls.
struct ChildPlan {
    const ExecRequest* exec;
    char* const* argv;
    char* const* envp;
    std::string terminal;           // the pty slave's path, or empty
    int streams[3] = {-1, -1, -1};  // pipe ends for 0, 1, 2 without a terminal
    int report = -1;
};

[[noreturn]] void run_child(const ChildPlan& plan) {
    auto report = [&](Step step) {
        int payload[2] = {errno, static_cast<int>(step)};
        [[maybe_unused]] auto ignored = ::write(plan.report, payload, sizeof payload);
        ::_exit(127);
    };
    // Its own session and process group: a signal frame reaches the program and whatever it
    // started, and the group is what is killed when the host goes away.
    if (::setsid() < 0) report(Step::setsid);
    int wanted[3];
    if (!plan.terminal.empty()) {
        // Opened without O_NOCTTY by a session leader: it becomes the controlling terminal.
        int slave = ::open(plan.terminal.c_str(), O_RDWR | O_CLOEXEC);
        if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) < 0) report(Step::terminal);
        for (int& fd : wanted)
            fd = slave;
    } else {
        for (int i = 0; i < 3; ++i)
            wanted[i] = plan.streams[i];
    }
    // Sources above 2 first, so that one dup2 cannot overwrite a later source.
    for (int& fd : wanted) {
        if (fd <= 2) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) report(Step::streams);
    }
    for (int target = 0; target < 3; ++target)
        if (::dup2(wanted[target], target) < 0) report(Step::streams);
    // Whatever the agent inherited without close-on-exec stays out of the program (best effort:
    // kernels before 5.11 lack the flag).
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    const ExecRequest& exec = *plan.exec;
    if ((exec.uid || exec.gid) && ::geteuid() == 0 && ::setgroups(0, nullptr) != 0)
        report(Step::groups);
    if (exec.gid && ::setgid(*exec.gid) != 0) report(Step::setgid);
    if (exec.uid && ::setuid(*exec.uid) != 0) report(Step::setuid);
    // After setuid: the directory must be reachable by the user the program runs as.
    if (::chdir(exec.cwd.c_str()) != 0) report(Step::chdir);
    // An ignored signal stays ignored across exec: the agent ignores SIGPIPE, and a boot script
    // that starts it in the background makes it ignore SIGINT and SIGQUIT. The program gets every
    // signal at its default, so that a forwarded Ctrl-C ends it.
    reset_signal_dispositions();
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // execvp searches the PATH of the current environment; the program's is the request's.
    environ = const_cast<char**>(plan.envp);
    ::execvp(plan.argv[0], plan.argv);
    report(Step::exec);
    ::_exit(127);
}

Result<UniqueFd> open_terminal(const ExecRequest& exec, std::string& slave_path) {
    int raw = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (raw < 0) return fail_errno("open a pseudo-terminal");
    UniqueFd master(raw);
    if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0)
        return fail_errno("unlock the pseudo-terminal");
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0)
        return fail_errno("name the pseudo-terminal");
    slave_path = name;
    winsize size{.ws_row = exec.rows, .ws_col = exec.cols, .ws_xpixel = 0, .ws_ypixel = 0};
    if (::ioctl(master.get(), TIOCSWINSZ, &size) != 0) return fail_errno("set the terminal size");
    return master;
}

Result<RelayedProgram> start(const ExecRequest& exec, const std::string& where) {
    RelayedProgram program;
    program.tty = exec.tty;
    std::string slave_path;
    Pipe in, out, err;
    if (exec.tty) {
        program.output = TRY_CTX(open_terminal(exec, slave_path), "{}", where);
        int copy = ::fcntl(program.output.get(), F_DUPFD_CLOEXEC, 3);
        if (copy < 0) return fail_errno(where + ": dup the pseudo-terminal");
        program.input.reset(copy);
    } else {
        in = TRY_CTX(make_pipe(), "{}", where);
        out = TRY_CTX(make_pipe(), "{}", where);
        err = TRY_CTX(make_pipe(), "{}", where);
    }
    Pipe report = TRY_CTX(make_pipe(), "{}", where);
    auto argv = c_strings(exec.argv);
    auto envp = c_strings(exec.env);
    ChildPlan plan{.exec = &exec,
                   .argv = argv.data(),
                   .envp = envp.data(),
                   .terminal = slave_path,
                   .streams = {in.read.get(), out.write.get(), err.write.get()},
                   .report = report.write.get()};

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno(where + ": fork");
    if (pid == 0) run_child(plan);
    program.pid = pid;
    report.write.reset();
    in.read.reset();
    out.write.reset();
    err.write.reset();

    int payload[2] = {0, 0};
    ssize_t n;
    do {
        n = ::read(report.read.get(), payload, sizeof payload);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof payload) {
        int status;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        auto step = static_cast<Step>(payload[1]);
        // A failed exec is the program's own error ("exec nosuchprog: No such file or
        // directory"); the other steps say which one failed.
        if (step == Step::exec) return fail_errno(payload[0], where);
        return fail_errno(payload[0], where + ": " + describe_step(step, exec));
    }
    if (!exec.tty) {
        program.input = std::move(in.write);
        program.output = std::move(out.read);
        program.errors = std::move(err.read);
    }
    for (const UniqueFd* fd : {&program.input, &program.output, &program.errors})
        if (*fd) TRY_CTX(set_nonblocking(fd->get()), "{}", where);
    if (auto pidfd = open_pidfd(pid)) program.pidfd = std::move(*pidfd);
    return program;
}

}  // namespace

Result<> run_exec(int connection, const JsonAt& request) {
    auto exec = TRY_CTX(parse_exec(request), "exec");
    std::string where = "exec " + single_line(exec.argv[0]);
    auto program = TRY(start(exec, where));
    TRY(reply_ok(connection, {{"pid", program.pid}}));
    return relay_program(connection, std::move(program), std::move(where));
}

}  // namespace vessel::agent
