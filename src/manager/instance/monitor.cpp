#include "manager/instance/monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <thread>

#include "base/file.h"
#include "host/cgroup/cgroup.h"
#include "manager/crash_point.h"
#include "manager/instance/console_mux.h"
#include "manager/instance/limits.h"

namespace vessel::manager {

namespace {

constexpr const char* exit_file = "exit.json";
constexpr const char* payload_file = "payload.json";
constexpr const char* identity_file = "monitor-pid.json";
constexpr const char* lock_file = "monitor.lock";

Result<std::optional<ProcessIdentity>> read_identity(const std::string& path) {
    if (!path_exists(path)) return std::optional<ProcessIdentity>{};
    auto json = TRY(parse_json(TRY(read_file(path)), path));
    JsonAt at(json, path);
    return std::optional<ProcessIdentity>(
        ProcessIdentity{.pid = TRY(TRY(at.child("pid")).integer_in<pid_t>()),
                        .start_time = TRY(TRY(at.child("start_time")).unsigned_integer())});
}

}  // namespace

Json MonitorPlan::to_json() const {
    Json json = {{"instance_dir", instance_dir},
                 {"console_path", console_path},
                 {"runtime", runtime},
                 {"runtime_root", runtime_root},
                 {"container_id", container_id},
                 {"bundle", bundle},
                 {"command", command},
                 {"interactive_console", interactive_console},
                 {"cgroup_path", cgroup_path},
                 {"cpu_quota_us", cpu_quota_us},
                 {"pid_namespace", pid_namespace}};
    if (overlay)
        json["overlay"] = {{"lower", overlay->lower},
                           {"upper", overlay->upper},
                           {"work", overlay->work},
                           {"target", overlay->target}};
    return json;
}

Result<MonitorPlan> MonitorPlan::from_json(const Json& json) {
    JsonAt root(json, "plan");
    TRY(root.expect_object());
    MonitorPlan plan;
    plan.instance_dir = TRY(TRY(root.child("instance_dir")).string());
    plan.console_path = TRY(TRY(root.child("console_path")).string());
    plan.runtime = TRY(root.optional_string("runtime")).value_or("");
    plan.runtime_root = TRY(root.optional_string("runtime_root")).value_or("");
    plan.container_id = TRY(root.optional_string("container_id")).value_or("");
    plan.bundle = TRY(root.optional_string("bundle")).value_or("");
    plan.command = TRY(root.optional_string_array("command"));
    plan.interactive_console = TRY(root.optional_boolean("interactive_console")).value_or(false);
    plan.cgroup_path = TRY(root.optional_string("cgroup_path")).value_or("");
    plan.cpu_quota_us = TRY(root.optional_unsigned("cpu_quota_us")).value_or(0);
    plan.pid_namespace = TRY(root.optional_boolean("pid_namespace")).value_or(false);
    if (auto overlay = root.optional_child("overlay")) {
        plan.overlay = OverlayMount{.lower = TRY(TRY(overlay->child("lower")).string()),
                                    .upper = TRY(TRY(overlay->child("upper")).string()),
                                    .work = TRY(TRY(overlay->child("work")).string()),
                                    .target = TRY(TRY(overlay->child("target")).string())};
    }
    if (plan.runtime.empty() && plan.command.empty())
        return fail("plan: neither a runtime nor a command");
    return plan;
}

Result<uint64_t> process_start_time(pid_t pid) {
    auto stat = TRY(read_file(fmt::format("/proc/{}/stat", pid)));
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) return fail("/proc/{}/stat: malformed", pid);
    std::string_view rest = std::string_view(stat).substr(close + 2);
    // rest starts at field 3 (state); start time is field 22.
    for (int field = 3; field < 22; ++field) {
        auto space = rest.find(' ');
        if (space == std::string_view::npos) return fail("/proc/{}/stat: too short", pid);
        rest.remove_prefix(space + 1);
    }
    uint64_t start = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), start);
    if (ec != std::errc()) return fail("/proc/{}/stat: malformed start time", pid);
    (void)end;
    return start;
}

bool process_matches(const ProcessIdentity& identity) {
    if (identity.pid <= 0) return false;
    auto stat = read_file(fmt::format("/proc/{}/stat", identity.pid));
    if (!stat) return false;
    auto close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) return false;
    char state = (*stat)[close + 2];
    if (state == 'Z' || state == 'X') return false;
    auto start = process_start_time(identity.pid);
    return start && *start == identity.start_time;
}

Result<bool> wait_for_exit(const ProcessIdentity& identity, std::chrono::milliseconds timeout) {
    auto pidfd = open_pidfd(identity.pid);
    if (!pidfd) return !process_matches(identity);
    // The pid could have been reused between the check and pidfd_open: confirm it is ours.
    if (!process_matches(identity)) return true;
    pollfd watch{.fd = pidfd->get(), .events = POLLIN, .revents = 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        int ready = ::poll(&watch, 1, static_cast<int>(std::max<long>(0, left.count())));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail_errno("poll pidfd");
        if (ready > 0) {
            // A monitor that is our child (it never should be: it forks away) would linger as a
            // zombie; reap it if so.
            siginfo_t info{};
            (void)::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd->get()), &info,
                           WEXITED | WNOHANG);
            return true;
        }
        return false;
    }
}

Result<MonitorReady> launch_monitor(std::vector<std::string> monitor_argv,
                                    const std::string& instance_dir,
                                    std::chrono::milliseconds timeout) {
    auto lock = TRY(open_file(instance_dir + "/" + lock_file, O_RDWR | O_CREAT, 0600));
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
        return fail_errno(errno == EWOULDBLOCK ? EBUSY : errno,
                          fmt::format("a monitor already runs for {}", instance_dir));
    // Stale from a monitor that was killed: this one writes its own.
    ::unlink((instance_dir + "/" + identity_file).c_str());
    auto [read_end, write_end] = TRY(make_pipe());
    auto null = TRY(open_file("/dev/null", O_RDWR));
    monitor_argv.push_back(fmt::format("--ready-fd={}", write_end.get()));
    monitor_argv.push_back(fmt::format("--lock-fd={}", lock.get()));
    auto child = TRY(spawn({.argv = monitor_argv,
                            .stdin_fd = null.get(),
                            .stdout_fd = null.get(),
                            .stderr_fd = null.get(),
                            .keep_fds = {write_end.get(), lock.get()},
                            .search_path = false,
                            .new_session = true}));
    write_end.reset();
    crash_point("monitor-spawned");
    // The first process forks the real monitor and exits at once.
    (void)child.wait();

    std::string message;
    pollfd watch{.fd = read_end.get(), .events = POLLIN, .revents = 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return fail_errno(ETIMEDOUT, "the instance monitor did not report in time");
        int ready = ::poll(&watch, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return fail_errno("poll");
        if (ready == 0) continue;
        char buffer[4096];
        ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        message.append(buffer, static_cast<size_t>(n));
    }
    if (message.starts_with("error ")) {
        while (message.ends_with('\n'))
            message.pop_back();
        return fail("{}", message.substr(6));
    }
    MonitorReady ready;
    unsigned long long values[4];
    if (std::sscanf(message.c_str(), "ok %llu %llu %llu %llu", &values[0], &values[1], &values[2],
                    &values[3]) != 4)
        return fail("the instance monitor ended without reporting");
    ready.monitor = {static_cast<pid_t>(values[0]), values[1]};
    ready.payload = {static_cast<pid_t>(values[2]), values[3]};
    return ready;
}

bool monitor_holds_lock(const std::string& instance_dir) {
    auto lock = open_file(instance_dir + "/" + lock_file, O_RDWR);
    if (!lock) return false;
    if (::flock(lock->get(), LOCK_EX | LOCK_NB) == 0) return false;  // released with the close
    return errno == EWOULDBLOCK;
}

Result<std::optional<ProcessIdentity>> read_monitor_identity(const std::string& instance_dir) {
    return read_identity(instance_dir + "/" + identity_file);
}

Result<std::optional<ExitStatus>> read_exit_status(const std::string& instance_dir) {
    auto path = instance_dir + "/" + exit_file;
    if (!path_exists(path)) return std::optional<ExitStatus>{};
    auto json = TRY(parse_json(TRY(read_file(path)), path));
    JsonAt at(json, path);
    return std::optional<ExitStatus>(
        ExitStatus{.code = TRY(at.optional_integer_in<int>("code")).value_or(0),
                   .signal = TRY(at.optional_integer_in<int>("signal")).value_or(0)});
}

Result<std::optional<ProcessIdentity>> read_payload_identity(const std::string& instance_dir) {
    return read_identity(instance_dir + "/" + payload_file);
}

namespace {

// Everything below runs in the monitor process.

class Monitor {
  public:
    Monitor(MonitorPlan plan, int ready_fd) : plan_(std::move(plan)), ready_fd_(ready_fd) {}

    int run() {
        auto payload = set_up();
        if (!payload) {
            report("error " + payload.error().message() + "\n");
            return 1;
        }
        auto payload_start = process_start_time(*payload).value_or(0);
        (void)write_file_atomic(plan_.instance_dir + "/" + payload_file,
                                Json{{"pid", *payload}, {"start_time", payload_start}}.dump());
        report(fmt::format("ok {} {} {} {}\n", ::getpid(),
                           process_start_time(::getpid()).value_or(0), *payload, payload_start));
        if (console_) console_->serve_until_exit(payload_->pidfd());
        ExitStatus status = wait_for_payload(*payload);
        // Recorded before cleanup, and the monitor exits only after cleanup: once vesseld sees the
        // monitor gone, the exit status is there and nothing is left mounted.
        (void)write_file_atomic(plan_.instance_dir + "/" + exit_file,
                                Json{{"code", status.code}, {"signal", status.signal}}.dump());
        ::unlink((plan_.instance_dir + "/" + payload_file).c_str());
        tear_down();
        return 0;
    }

  private:
    void report(const std::string& line) {
        if (ready_fd_ < 0) return;
        (void)write_all(ready_fd_, line);
        ::close(ready_fd_);
        ready_fd_ = -1;
    }

    Result<UniqueFd> open_console() {
        return open_file(plan_.console_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    }

    Result<CapturedOutput> runtime(std::vector<std::string> args) {
        std::vector<std::string> argv = {plan_.runtime, "--root", plan_.runtime_root};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_capture(argv, std::chrono::seconds(60));
    }

    Result<pid_t> set_up() {
        if (plan_.runtime.empty()) {
            auto started = start_process();
            if (!started) tear_down();
            return started;
        }
        if (plan_.overlay) {
            const auto& o = *plan_.overlay;
            TRY(make_directories(o.target, 0755));
            auto options =
                fmt::format("lowerdir={},upperdir={},workdir={}", o.lower, o.upper, o.work);
            if (::mount("overlay", o.target.c_str(), "overlay", MS_NODEV, options.c_str()) != 0)
                return fail_errno(fmt::format("mount overlay root on {}", o.target));
            mounted_ = true;
        }
        auto created = start_container();
        if (!created) tear_down();
        return created;
    }

    Result<pid_t> start_process() {
        auto console = TRY(open_console());
        auto null = TRY(open_file("/dev/null", O_RDONLY));
        int input = null.get(), output = console.get();
        if (plan_.interactive_console) {
            console_ =
                TRY(ConsoleMux::open(plan_.console_path, plan_.instance_dir + "/console.sock"));
            input = output = console_->payload_end();
        }
        // stderr (the payload's own messages) goes to the log only.
        auto child = TRY(spawn({.argv = plan_.command,
                                .stdin_fd = input,
                                .stdout_fd = output,
                                .stderr_fd = console.get(),
                                .search_path = false,
                                .new_pid_namespace = plan_.pid_namespace}));
        if (console_) console_->close_payload_end();
        if (!plan_.cgroup_path.empty()) {
            if (auto placed = place_in_cgroup(child.pid()); !placed) {
                (void)child.signal(SIGKILL);
                (void)child.wait();
                return std::unexpected(placed.error());
            }
        }
        pid_t pid = child.pid();
        payload_ = std::move(child);
        return pid;
    }

    Result<pid_t> start_container() {
        auto console = TRY(open_console());
        auto null = TRY(open_file("/dev/null", O_RDONLY));
        std::string pid_file = plan_.instance_dir + "/init.pid";
        ::unlink(pid_file.c_str());
        // The container's stdio is the console file, so `create` must run with it too; its error
        // output is captured through a log file of its own instead.
        std::string log = plan_.instance_dir + "/runtime.log";
        ::unlink(log.c_str());
        auto create = spawn({.argv = {plan_.runtime, "--root", plan_.runtime_root, "--log", log,
                                      "--log-format", "json", "create", "--bundle", plan_.bundle,
                                      "--pid-file", pid_file, plan_.container_id},
                             .stdin_fd = null.get(),
                             .stdout_fd = console.get(),
                             .stderr_fd = console.get(),
                             .search_path = true});
        if (!create) return std::unexpected(create.error());
        auto created = TRY(create->wait());
        if (!created.success()) {
            auto text = read_file(log).value_or("");
            return fail("container create failed ({}): {}", created.describe(),
                        last_log_message(text));
        }
        created_ = true;
        auto pid_text = TRY(read_file(pid_file));
        pid_t pid = 0;
        std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
        if (pid <= 0) return fail("runtime wrote no pid to {}", pid_file);
        auto started = TRY(runtime({"start", plan_.container_id}));
        if (!started.status.success())
            return fail("container start failed: {}", first_line(started.err));
        return pid;
    }

    // The VMM's own cgroup: limits.cpu as a CFS quota, which vesseld can change live.
    Result<> place_in_cgroup(pid_t pid) {
        auto layout = TRY(host::cgroup::detect_layout());
        cgroup_ = host::cgroup::make_cgroup(layout, plan_.cgroup_path);
        TRY(cgroup_->create());
        host::cgroup::Resources resources;
        if (plan_.cpu_quota_us > 0) {
            resources.cpu.quota = static_cast<int64_t>(plan_.cpu_quota_us);
            resources.cpu.period = ResourceLimits::cpu_period_us;
        }
        Logger quiet;
        TRY(cgroup_->apply(resources, quiet));
        return cgroup_->add_process(pid);
    }

    static std::string first_line(const std::string& text) {
        auto line = text.substr(0, text.find('\n'));
        return line.empty() ? "no error message" : line;
    }

    // runc-style logs are JSON lines {"level","msg"}; the last error-level message explains.
    static std::string last_log_message(const std::string& text) {
        std::string best;
        size_t start = 0;
        while (start < text.size()) {
            auto end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            auto line = text.substr(start, end - start);
            start = end + 1;
            if (line.empty()) continue;
            auto json = parse_json(line, "log");
            if (json && json->is_object() && json->contains("msg"))
                best = json->value("msg", line);
            else
                best = line;
        }
        return best.empty() ? "no error message" : best;
    }

    ExitStatus wait_for_payload(pid_t payload) {
        // As a child subreaper, the container's init (whose parent, `create`, exited) is ours to
        // reap; so is anything else orphaned beneath us.
        for (;;) {
            int status = 0;
            pid_t pid = ::waitpid(-1, &status, 0);
            if (pid < 0 && errno == EINTR) continue;
            if (pid < 0) return ExitStatus{.code = 255, .signal = 0};
            if (pid == payload) return exit_status_from_wait(status);
        }
    }

    void tear_down() {
        if (cgroup_) {
            (void)cgroup_->destroy();
            cgroup_.reset();
        }
        if (created_) {
            (void)runtime({"delete", "--force", plan_.container_id});
            created_ = false;
        }
        if (mounted_) {
            if (::umount2(plan_.overlay->target.c_str(), 0) != 0)
                ::umount2(plan_.overlay->target.c_str(), MNT_DETACH);
            mounted_ = false;
        }
        // Reap whatever the runtime left orphaned to us.
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
    }

    MonitorPlan plan_;
    int ready_fd_;
    std::optional<ConsoleMux> console_;
    std::optional<Child> payload_;
    std::unique_ptr<host::cgroup::Cgroup>
        cgroup_;  // a process payload (its pidfd tells the console when to stop)
    bool mounted_ = false;
    bool created_ = false;
};

}  // namespace

int run_monitor(const std::string& plan_path, int ready_fd, int lock_fd) {
    auto report_error = [&](const Error& error) {
        (void)write_all(ready_fd, "error " + error.message() + "\n");
        return 1;
    };
    auto text = read_file(plan_path);
    if (!text) return report_error(text.error());
    auto json = parse_json(*text, plan_path);
    if (!json) return report_error(json.error());
    auto plan = MonitorPlan::from_json(*json);
    if (!plan) return report_error(plan.error());

    // Leave vesseld's process tree: the monitor must not be its child, so that it never lingers
    // as vesseld's zombie and is treated the same before and after a daemon restart.
    pid_t forked = ::fork();
    if (forked < 0) return report_error(Error("fork", errno));
    if (forked > 0) ::_exit(0);
    // The lock stays with this process alone: nothing it starts inherits it.
    if (lock_fd >= 0) ::fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
    auto self = process_start_time(::getpid());
    if (!self) return report_error(self.error());
    if (auto recorded = write_file_atomic(plan->instance_dir + "/" + identity_file,
                                          Json{{"pid", ::getpid()}, {"start_time", *self}}.dump());
        !recorded)
        return report_error(recorded.error());
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return report_error(Error("subreaper", errno));
    int code = Monitor(*plan, ready_fd).run();
    // Gone before the lock is released (at exit): whoever sees the lock held may find this file.
    ::unlink((plan->instance_dir + "/" + identity_file).c_str());
    return code;
}

}  // namespace vessel::manager
