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
#include "agent/reply.h"
#include "base/log.h"
#include "base/process.h"

extern char** environ;

namespace vessel::agent {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr size_t output_chunk = 64 * 1024;
// Once the program is reaped, a background child may still hold its output open: what is already
// there is worth sending, an open-ended wait is not.
constexpr auto drain_after_exit = 200ms;
// Without a pidfd (kernels before 5.3), how often the program is checked for its end.
constexpr int exit_check_ms = 50;

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
    // The agent ignores SIGPIPE, and an ignored signal stays ignored across exec.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // execvp searches the PATH of the current environment; the program's is the request's.
    environ = const_cast<char**>(plan.envp);
    ::execvp(plan.argv[0], plan.argv);
    report(Step::exec);
    ::_exit(127);
}

Result<> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        return fail_errno("set O_NONBLOCK");
    return {};
}

// A started program as the relay sees it. With a terminal, input and output are two descriptors
// of the same master, and there is no separate error stream.
struct Program {
    pid_t pid = -1;
    UniqueFd pidfd;  // invalid when the kernel has no pidfd_open
    UniqueFd input;
    UniqueFd output;
    UniqueFd errors;
    bool tty = false;
};

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

Result<Program> start(const ExecRequest& exec, const std::string& where) {
    Program program;
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

// Moves bytes between the connection and the program until the program has ended and its
// output is drained, then sends the exit frame.
class Relay {
  public:
    Relay(int connection, Program program, std::string where)
        : connection_(connection), program_(std::move(program)), where_(std::move(where)) {}

    Result<> run() {
        auto result = relay();
        if (!result && !status_) kill_program();
        return result;
    }

  private:
    Result<> relay() {
        std::vector<char> buffer(output_chunk);
        for (;;) {
            bool drained = !program_.output && !program_.errors;
            if (status_ && (drained || Clock::now() >= drain_deadline_)) break;

            pollfd fds[5];
            nfds_t count = 0;
            auto add = [&](int fd, short events) {
                fds[count] = {.fd = fd, .events = events, .revents = 0};
                return static_cast<int>(count++);
            };
            // Host input is read only once the previous chunk is in the program: the host's
            // writes block instead of the agent buffering without bound. Hang-ups are still
            // reported with no events asked for.
            int host = add(connection_, pending_.empty() ? POLLIN : 0);
            int input =
                program_.input && !pending_.empty() ? add(program_.input.get(), POLLOUT) : -1;
            int output = program_.output ? add(program_.output.get(), POLLIN) : -1;
            int errors = program_.errors ? add(program_.errors.get(), POLLIN) : -1;
            int exited = !status_ && program_.pidfd ? add(program_.pidfd.get(), POLLIN) : -1;

            int timeout = -1;
            if (status_) {
                auto left =
                    std::chrono::ceil<std::chrono::milliseconds>(drain_deadline_ - Clock::now());
                timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
            } else if (!program_.pidfd) {
                timeout = exit_check_ms;
            }
            int ready = ::poll(fds, count, timeout);
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) return fail_errno(where_ + ": poll");

            if (!status_ && (exited < 0 ? !program_.pidfd : fds[exited].revents != 0))
                TRY(check_exit());
            if (output >= 0 && fds[output].revents != 0)
                TRY(forward_output(program_.output, FrameType::output, buffer));
            if (errors >= 0 && fds[errors].revents != 0)
                TRY(forward_output(program_.errors, FrameType::error_output, buffer));
            if (input >= 0 && fds[input].revents != 0) flush_input();
            short host_events = fds[host].revents;
            if (host_events != 0) {
                if (fds[host].events & POLLIN)
                    TRY(read_host_frame());
                else if (host_events & (POLLHUP | POLLERR))
                    TRY(host_gone());
            }
        }
        Json end = WIFSIGNALED(*status_) ? Json{{"signal", WTERMSIG(*status_)}}
                                         : Json{{"code", WEXITSTATUS(*status_)}};
        return with_context(write_json_frame(connection_, FrameType::exit, end), where_);
    }

    Result<> check_exit() {
        int status;
        pid_t got = ::waitpid(program_.pid, &status, WNOHANG);
        if (got < 0 && errno != EINTR) return fail_errno(where_ + ": waitpid");
        if (got == program_.pid) {
            status_ = status;
            drain_deadline_ = Clock::now() + drain_after_exit;
        }
        return {};
    }

    Result<> forward_output(UniqueFd& fd, FrameType type, std::vector<char>& buffer) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n > 0)
            return with_context(
                write_frame(connection_, type,
                            std::string_view(buffer.data(), static_cast<size_t>(n))),
                where_ + ": send output");
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return {};
        // End of file, or EIO from a terminal master once every slave descriptor is closed.
        if (program_.tty) {
            // The master stays open until the end all the same: closing it hangs the terminal
            // up, and the SIGHUP would kill a program that closed its descriptors but has not
            // exited yet.
            hung_up_terminal_ = std::move(fd);
            close_input();
        }
        fd.reset();
        return {};
    }

    void close_input() {
        program_.input.reset();
        pending_.clear();
        pending_offset_ = 0;
    }

    void flush_input() {
        while (pending_offset_ < pending_.size()) {
            ssize_t n = ::write(program_.input.get(), pending_.data() + pending_offset_,
                                pending_.size() - pending_offset_);
            if (n > 0) {
                pending_offset_ += static_cast<size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && errno == EAGAIN) {
                return;
            } else {
                // EPIPE: the program closed its input; what the host sends from now on is dropped.
                close_input();
                return;
            }
        }
        pending_.clear();
        pending_offset_ = 0;
    }

    Result<> read_host_frame() {
        auto frame = read_frame(connection_);
        if (!frame) return std::unexpected(frame.error().context(where_));
        if (!*frame) return host_gone();
        auto& [type, payload] = **frame;
        switch (type) {
            case FrameType::input:
                if (program_.input && !input_ended_) {
                    pending_ = std::move(payload);
                    pending_offset_ = 0;
                    flush_input();
                }
                return {};
            case FrameType::input_end:
                if (input_ended_ || !program_.input) return {};
                input_ended_ = true;
                // A terminal has no end of input of its own: its EOF character is the nearest
                // thing (it ends a read at the start of a line).
                if (program_.tty) {
                    pending_ = "\x04";
                    pending_offset_ = 0;
                    flush_input();
                } else {
                    close_input();
                }
                return {};
            case FrameType::signal: {
                auto json = TRY_CTX(frame_json(**frame), "{}", where_);
                auto number = TRY_CTX(JsonAt(json, "signal").child("signal"), "{}", where_);
                auto signal = TRY_CTX(number.integer_in<int>(), "{}", where_);
                if (signal < 1 || signal > SIGRTMAX)
                    return fail("{}: signal {} does not exist", where_, signal);
                // After the reap the group number may be reused: nothing of ours to signal.
                if (!status_) ::kill(-program_.pid, signal);
                return {};
            }
            case FrameType::resize: {
                auto json = TRY_CTX(frame_json(**frame), "{}", where_);
                JsonAt at(json, "resize");
                auto rows = TRY_CTX(TRY_CTX(at.child("rows"), "{}", where_).integer_in<uint16_t>(),
                                    "{}", where_);
                auto cols = TRY_CTX(TRY_CTX(at.child("cols"), "{}", where_).integer_in<uint16_t>(),
                                    "{}", where_);
                winsize size{.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
                if (program_.tty && program_.output)
                    ::ioctl(program_.output.get(), TIOCSWINSZ, &size);
                return {};
            }
            default:
                return fail("{}: unexpected {} frame from the host", where_, frame_type_name(type));
        }
    }

    Result<> host_gone() {
        if (status_) return fail("{}: the host closed the connection", where_);
        kill_program();
        return fail("{}: the host closed the connection before the program ended", where_);
    }

    // The program's whole group, so that nothing it started keeps running for a host that left.
    void kill_program() {
        if (status_) return;
        ::kill(-program_.pid, SIGKILL);
        int status;
        while (::waitpid(program_.pid, &status, 0) < 0 && errno == EINTR) {
        }
        status_ = status;
    }

    int connection_;
    Program program_;
    std::string where_;
    std::string pending_;
    size_t pending_offset_ = 0;
    bool input_ended_ = false;
    std::optional<int> status_;
    Clock::time_point drain_deadline_;
    UniqueFd hung_up_terminal_;
};

}  // namespace

Result<> run_exec(int connection, const JsonAt& request) {
    auto exec = TRY_CTX(parse_exec(request), "exec");
    std::string where = "exec " + single_line(exec.argv[0]);
    auto program = TRY(start(exec, where));
    TRY(reply_ok(connection, {{"pid", program.pid}}));
    return Relay(connection, std::move(program), std::move(where)).run();
}

}  // namespace vessel::agent
