// `vessel exec` in a container: vessel-runc exec runs the program inside the container (its
// namespaces, cgroup, capabilities and seccomp profile), and vesseld either captures its output
// (the JSON API) or relays its streams or terminal as frames (the streamed API), with the relay the
// agent uses in a VM, so that the two kinds behave the same.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include "agent/protocol.h"
#include "agent/relay.h"
#include "base/fd_passing.h"
#include "base/file.h"
#include "base/log.h"
#include "manager/instance/container_driver.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

using namespace std::chrono_literals;

// vessel-runc hands over the terminal once the program is set up; far less than this.
constexpr auto terminal_timeout = 30s;

// A directory of one exec's files (its process JSON, the pid vessel-runc reports), inside the
// instance directory: root's alone, gone with the instance, and swept at start-up when vesseld
// died during the exec.
class ExecScratch {
  public:
    static Result<ExecScratch> make(const std::string& instance_dir) {
        std::string pattern = instance_dir + "/exec-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr)
            return fail_errno(fmt::format("exec: create a directory in {}", instance_dir));
        return ExecScratch(std::move(pattern));
    }
    ExecScratch(ExecScratch&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    ExecScratch& operator=(ExecScratch&&) = delete;
    ~ExecScratch() {
        if (!path_.empty()) (void)remove_instance_tree(path_);
    }

    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  private:
    explicit ExecScratch(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

// Sends `signal` to the exec's program if it is still the child of vessel-runc `runtime` (so the
// pid read from the pid file cannot be a recycled one).
void signal_exec_program(const Child& runtime, const std::string& pid_file, int signal) {
    auto text = read_file(pid_file);
    if (!text) return;
    pid_t pid = 0;
    std::from_chars(text->data(), text->data() + text->size(), pid);
    if (pid <= 0) return;
    auto pidfd = open_pidfd(pid);
    if (!pidfd) return;
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) return;
    auto close = stat->rfind(')');
    if (close == std::string::npos) return;
    // Fields after the command name: state, then the parent's pid.
    pid_t parent = 0;
    auto fields = std::string_view(*stat).substr(close + 2);
    auto space = fields.find(' ');
    if (space == std::string_view::npos) return;
    fields.remove_prefix(space + 1);
    std::from_chars(fields.data(), fields.data() + fields.size(), parent);
    if (parent != runtime.pid()) return;
    (void)::syscall(SYS_pidfd_send_signal, pidfd->get(), signal, nullptr, 0);
}

// Whether the child ends within `timeout`; it is left unreaped for whoever waits for it.
bool ends_within(const Child& child, std::chrono::milliseconds timeout) {
    pollfd watch{.fd = child.pidfd(), .events = POLLIN, .revents = 0};
    return ::poll(&watch, 1, static_cast<int>(timeout.count())) > 0;
}

// Ends an exec whose client went away or whose time ran out. The program first: killing
// vessel-runc alone would leave it running under the container's init, with nobody to answer.
// Then vessel-runc, asked (SIGTERM) and then made (SIGKILL) to go. The caller reaps it.
void stop_exec(const Child& runtime, const std::string& pid_file) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    bool asked = false;
    for (;;) {
        // Again each round: the pid file appears only once the program runs.
        signal_exec_program(runtime, pid_file, SIGKILL);
        if (!asked) asked = runtime.signal(SIGTERM).has_value();
        if (ends_within(runtime, 50ms)) return;
        if (std::chrono::steady_clock::now() >= deadline) break;
    }
    (void)runtime.signal(SIGKILL);
}

// The OCI process of an exec: passed as a file, so that no argument can be mistaken for a flag.
Json exec_process(const ExecSpec& spec) {
    Json process = {{"terminal", spec.tty}, {"user", {{"uid", spec.uid}, {"gid", spec.gid}}},
                    {"args", spec.argv},    {"env", exec_environment(spec)},
                    {"cwd", spec.cwd},      {"capabilities", container_capabilities()}};
    if (spec.tty) process["consoleSize"] = {{"height", spec.rows}, {"width", spec.cols}};
    return process;
}

// What vessel-runc said on its way out (its first line), for an exec that never started.
std::string runtime_complaint(int stderr_pipe) {
    char buffer[4096];
    ssize_t n = ::read(stderr_pipe, buffer, sizeof buffer);
    if (n <= 0) return "the runtime exited without a message";
    std::string text(buffer, static_cast<size_t>(n));
    return single_line(text.substr(0, text.find('\n')));
}

// With a terminal, vessel-runc sends the pty master to --console-socket once the program is set
// up; if it exits first, the exec failed and its message says why.
Result<UniqueFd> receive_terminal(int listener, const Child& runtime, int runtime_stderr) {
    pollfd fds[2] = {{.fd = listener, .events = POLLIN, .revents = 0},
                     {.fd = runtime.pidfd(), .events = POLLIN, .revents = 0}};
    int ready;
    do {
        ready =
            ::poll(fds, 2, static_cast<int>(std::chrono::milliseconds(terminal_timeout).count()));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return fail_errno("poll");
    if (ready == 0)
        return fail_errno(ETIMEDOUT,
                          fmt::format("the runtime did not hand over the terminal within {} s",
                                      terminal_timeout.count()));
    if (fds[0].revents == 0) return fail("{}", runtime_complaint(runtime_stderr));
    UniqueFd connection(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) return fail_errno("accept the terminal");
    auto [message, master] = TRY(receive_fd(connection.get()));
    if (!master) return fail("the runtime sent no terminal");
    return std::move(master);
}

// An exec's runtime that no relay took charge of is stopped and reaped on every way out.
class RuntimeGuard {
  public:
    RuntimeGuard(Child& runtime, const std::string& pid_file)
        : runtime_(runtime), pid_file_(pid_file) {}
    RuntimeGuard(const RuntimeGuard&) = delete;
    RuntimeGuard& operator=(const RuntimeGuard&) = delete;
    ~RuntimeGuard() {
        if (!armed_) return;
        stop_exec(runtime_, pid_file_);
        (void)runtime_.wait();
    }
    void release() { armed_ = false; }

  private:
    Child& runtime_;
    const std::string& pid_file_;
    bool armed_ = true;
};

Result<UniqueFd> duplicate(int fd) {
    UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
    if (!copy) return fail_errno("dup");
    return copy;
}

}  // namespace

Result<ExecResult> ContainerInstance::exec(const std::vector<std::string>& argv,
                                           const std::string& stdin_data,
                                           const Cancellation& cancel) {
    if (argv.empty()) return fail("exec: no command");
    if (status().state != InstanceState::running)
        return fail("instance {} is not running", record_.name);
    auto scratch = TRY(ExecScratch::make(directory()));
    auto process_file = scratch.file("process.json");
    auto pid_file = scratch.file("pid");
    TRY(write_file_atomic(
        process_file,
        TRY(dump_json_exact(exec_process({.argv = argv, .env = {"TERM=xterm"}}), "exec process")),
        0600));
    auto result = TRY(
        run_cancellable({.argv = {context_.runtime, "--root", context_.runtime_root, "exec",
                                  "--process", process_file, "--pid-file", pid_file, record_.name},
                         .stdin_data = stdin_data,
                         .timeout = std::chrono::minutes(10),
                         .stop = [&](Child& runtime) { stop_exec(runtime, pid_file); }},
                        cancel));
    return ExecResult{
        .status = result.status, .out = std::move(result.out), .err = std::move(result.err)};
}

Result<> ContainerInstance::exec_stream(const ExecSpec& spec, int connection) {
    if (spec.argv.empty()) return fail("exec: no command");
    auto where = fmt::format("exec in container {}", record_.name);
    if (status().state != InstanceState::running)
        return fail_errno(EBUSY, fmt::format("instance {} is not running", record_.name));
    auto scratch = TRY_CTX(ExecScratch::make(directory()), "{}", where);
    auto process_file = scratch.file("process.json");
    auto pid_file = scratch.file("pid");
    TRY(write_file_atomic(process_file, TRY(dump_json_exact(exec_process(spec), "exec process")),
                          0600));
    std::vector<std::string> argv = {context_.runtime, "--root",    context_.runtime_root,
                                     "exec",           "--process", process_file,
                                     "--pid-file",     pid_file};
    UniqueFd listener;
    if (spec.tty) {
        auto socket_path = scratch.file("console.sock");
        listener = TRY_CTX(listen_unix(socket_path), "{}", where);
        argv.insert(argv.end(), {"--console-socket", socket_path});
    }
    argv.push_back(record_.name);

    // The runtime's own messages go where the program's standard error goes; with a terminal the
    // program has the terminal, and the runtime's standard input and output are empty.
    Pipe in, out;
    auto err = TRY_CTX(make_pipe(), "{}", where);
    UniqueFd null;
    if (spec.tty) {
        null = TRY_CTX(open_file("/dev/null", O_RDWR), "{}", where);
    } else {
        in = TRY_CTX(make_pipe(), "{}", where);
        out = TRY_CTX(make_pipe(), "{}", where);
    }
    auto runtime = TRY_CTX(spawn({.argv = argv,
                                  .stdin_fd = spec.tty ? null.get() : in.read.get(),
                                  .stdout_fd = spec.tty ? null.get() : out.write.get(),
                                  .stderr_fd = err.write.get()}),
                           "{}", where);
    RuntimeGuard guard(runtime, pid_file);
    in.read.reset();
    out.write.reset();
    err.write.reset();
    null.reset();

    agent::RelayedProgram program{.pid = runtime.pid(), .tty = spec.tty};
    if (spec.tty) {
        auto master =
            TRY_CTX(receive_terminal(listener.get(), runtime, err.read.get()), "{}", where);
        program.input = TRY_CTX(duplicate(master.get()), "{}", where);
        program.output = std::move(master);
    } else {
        program.input = std::move(in.write);
        program.output = std::move(out.read);
    }
    program.errors = std::move(err.read);
    for (const UniqueFd* fd : {&program.input, &program.output, &program.errors})
        TRY_CTX(agent::set_nonblocking(fd->get()), "{}", where);
    program.pidfd = TRY_CTX(duplicate(runtime.pidfd()), "{}", where);
    program.signal = [&](int signal) { signal_exec_program(runtime, pid_file, signal); };
    program.kill = [&] { stop_exec(runtime, pid_file); };

    TRY(agent::write_json_frame(connection, agent::FrameType::reply, Json{{"ok", true}}));
    // From here the relay reaps the runtime, whatever happens.
    guard.release();
    return agent::relay_program(connection, std::move(program), where);
}

}  // namespace vessel::manager
