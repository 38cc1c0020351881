#include "cli/runc_control.h"

#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <thread>

#include "base/file.h"

namespace vessel::cli {

namespace {

// The command line of a process, arguments separated by spaces ("" when it is gone).
std::string command_line(pid_t pid) {
    auto text = read_file(fmt::format("/proc/{}/cmdline", pid));
    if (!text) return {};
    std::string line = *text;
    while (!line.empty() && line.back() == '\0')
        line.pop_back();
    for (char& c : line)
        if (c == '\0') c = ' ';
    return line;
}

Result<> print_processes(const ControlCommands& commands,
                         const container::runtime::Runtime& runtime) {
    auto pids = TRY(runtime.processes(commands.id));
    if (commands.format == "json") {
        std::printf("%s\n", Json(pids).dump().c_str());
        return {};
    }
    std::printf("%-8s %s\n", "PID", "CMD");
    for (pid_t pid : pids)
        std::printf("%-8d %s\n", pid, command_line(pid).c_str());
    return {};
}

// "512M", "1g", "4096", "-1": bytes, with runc's binary suffixes (k, m, g, t; an optional b).
Result<int64_t> parse_bytes(const std::string& flag, std::string_view text) {
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end == text.data())
        return fail("--{}: \"{}\" is not a size", flag, text);
    std::string suffix(end, text.data() + text.size());
    for (char& c : suffix)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (suffix.ends_with('b') && suffix.size() == 2) suffix.pop_back();
    static constexpr std::pair<const char*, int> kUnits[] = {{"", 0},   {"b", 0},  {"k", 10},
                                                             {"m", 20}, {"g", 30}, {"t", 40}};
    for (auto [name, shift] : kUnits)
        if (suffix == name) {
            if (number > 0 && number > (INT64_MAX >> shift))
                return fail("--{}: \"{}\" is too large", flag, text);
            return number < 0 ? number : number << shift;
        }
    return fail("--{}: \"{}\" has an unknown unit (use k, m, g or t)", flag, text);
}

Result<int64_t> parse_integer(const std::string& flag, std::string_view text) {
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size())
        return fail("--{}: \"{}\" is not an integer", flag, text);
    return number;
}

// The linux.resources object update applies: --resources, or the flags.
Result<Json> update_resources(const ControlCommands& commands) {
    if (!commands.resources_file.empty()) {
        std::string text;
        if (commands.resources_file == "-") {
            char buffer[4096];
            ssize_t got;
            while ((got = ::read(0, buffer, sizeof buffer)) > 0)
                text.append(buffer, static_cast<size_t>(got));
        } else {
            text = TRY_CTX(read_file(commands.resources_file), "--resources");
        }
        return with_context(parse_json(text, commands.resources_file), "--resources");
    }
    Json resources = Json::object();
    for (const auto& [flag, value] : commands.update_flags) {
        if (value.empty()) continue;
        if (flag == "memory")
            resources["memory"]["limit"] = TRY(parse_bytes(flag, value));
        else if (flag == "memory-swap")
            resources["memory"]["swap"] = TRY(parse_bytes(flag, value));
        else if (flag == "memory-reservation")
            resources["memory"]["reservation"] = TRY(parse_bytes(flag, value));
        else if (flag == "cpu-shares")
            resources["cpu"]["shares"] = TRY(parse_integer(flag, value));
        else if (flag == "cpu-quota")
            resources["cpu"]["quota"] = TRY(parse_integer(flag, value));
        else if (flag == "cpu-period")
            resources["cpu"]["period"] = TRY(parse_integer(flag, value));
        else if (flag == "cpuset-cpus")
            resources["cpu"]["cpus"] = value;
        else if (flag == "cpuset-mems")
            resources["cpu"]["mems"] = value;
        else if (flag == "pids-limit")
            resources["pids"]["limit"] = TRY(parse_integer(flag, value));
        else if (flag == "blkio-weight")
            resources["blockIO"]["weight"] = TRY(parse_integer(flag, value));
    }
    if (resources.empty()) return fail("update: nothing to change (give --resources or a limit)");
    return resources;
}

// "5s", "500ms", "2m" or plain seconds.
Result<std::chrono::milliseconds> parse_interval(std::string_view text) {
    int64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    if (error != std::errc() || number <= 0)
        return fail("--interval: \"{}\" is not a positive duration", text);
    if (unit == "ms") return std::chrono::milliseconds(number);
    if (unit.empty() || unit == "s") return std::chrono::milliseconds(number * 1000);
    if (unit == "m") return std::chrono::milliseconds(number * 60000);
    return fail("--interval: \"{}\" has an unknown unit (use ms, s or m)", text);
}

// events: one stats record with --stats; otherwise one every interval while the container lives,
// and an {"type": "oom"} record as soon as the kernel's OOM killer kills in it (as runc).
Result<> print_events(const ControlCommands& commands, const container::runtime::Runtime& runtime) {
    auto interval = TRY(parse_interval(commands.interval));
    auto print = [](const Json& record) {
        std::printf("%s\n", record.dump().c_str());
        std::fflush(stdout);
    };
    if (commands.stats_once) {
        print(TRY(runtime.stats(commands.id)));
        return {};
    }
    auto oom = runtime.watch_oom_kills(commands.id);
    if (!oom) {
        if (!runtime.is_running(commands.id)) return std::unexpected(oom.error());
        std::fprintf(stderr, "vessel-runc: %s; OOM kills are not reported\n",
                     oom.error().message().c_str());
    }
    using Clock = std::chrono::steady_clock;
    auto next_stats = Clock::now();
    // The kernel's notice comes when the cgroup runs out of memory, before the killer has
    // counted its kill: after one the counter is read again every 20 ms for a second.
    int rechecks_left = 0;
    auto report_kills = [&]() -> Result<> {
        if (!oom) return {};
        uint64_t kills = TRY(oom->new_kills());
        if (kills > 0) {
            print(Json{{"type", "oom"}, {"id", commands.id}});
            rechecks_left = 0;
        }
        return {};
    };
    for (;;) {
        if (Clock::now() >= next_stats) {
            auto stats = runtime.stats(commands.id);
            if (!stats) {
                if (runtime.is_running(commands.id)) return std::unexpected(stats.error());
                return report_kills();  // it stopped between the check and the read
            }
            print(*stats);
            next_stats = Clock::now() + interval;
        }
        auto wait =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_stats - Clock::now());
        if (rechecks_left > 0) wait = std::min(wait, std::chrono::milliseconds(20));
        wait = std::max(wait, std::chrono::milliseconds(0));
        if (oom) {
            pollfd ready{.fd = oom->fd(), .events = POLLIN, .revents = 0};
            int polled = ::poll(&ready, 1, static_cast<int>(wait.count()));
            if (polled < 0 && errno != EINTR) return fail_errno("events: poll");
            if (polled > 0)
                rechecks_left = 50;
            else if (rechecks_left > 0)
                --rechecks_left;
            if (polled > 0 || rechecks_left > 0) TRY(report_kills());
        } else {
            std::this_thread::sleep_for(wait);
        }
        if (!runtime.is_running(commands.id)) return report_kills();
    }
}

}  // namespace

void add_control_commands(CLI::App& app, ControlCommands& commands) {
    auto& exec = commands.exec_options;
    commands.exec = app.add_subcommand("exec", "run a process in a running container");
    // `exec [flags] ID COMMAND...`: everything from the id on is ours, dashes included.
    commands.exec->prefix_command();
    commands.exec->add_option("-p,--process", exec.process_file,
                              "JSON file with the process to run (an OCI process object)");
    commands.exec->add_option("--cwd", exec.cwd, "working directory in the container");
    // One value per occurrence: the id and command that follow are not more values.
    commands.exec->add_option("-e,--env", exec.env, "KEY=VALUE to set (repeatable)")
        ->allow_extra_args(false);
    commands.exec->add_option("-u,--user", exec.user, "uid[:gid] to run as");
    commands.exec
        ->add_option("-c,--cap", exec.additional_capabilities, "capability to add (repeatable)")
        ->allow_extra_args(false);
    commands.exec->add_flag("--no-new-privs", exec.no_new_privileges, "set no_new_privs");
    commands.exec->add_flag("-t,--tty", exec.tty, "allocate a pseudo-terminal");
    commands.exec->add_flag("-d,--detach", exec.detach, "do not wait for the process");
    commands.exec->add_option("--pid-file", exec.pid_file, "file to write the process's pid to");
    commands.exec->add_option("--preserve-fds", exec.preserve_fds,
                              "pass descriptors 3 to 3+N-1 on to the process");
    commands.exec->add_option("--console-socket", commands.console_socket,
                              "unix socket for the pty master (with -t)");
    commands.update = app.add_subcommand("update", "change a live container's resource limits");
    commands.update->add_option("id", commands.id, "container id")->required();
    commands.update->add_option("-r,--resources", commands.resources_file,
                                "JSON file with an OCI linux.resources object (- for stdin)");
    for (const char* flag :
         {"memory", "memory-swap", "memory-reservation", "cpu-shares", "cpu-quota", "cpu-period",
          "cpuset-cpus", "cpuset-mems", "pids-limit", "blkio-weight"})
        commands.update->add_option(std::string("--") + flag, commands.update_flags[flag],
                                    "as in runc update");
    commands.events = app.add_subcommand("events", "print a container's resource usage");
    commands.events->add_option("id", commands.id, "container id")->required();
    commands.events->add_flag("--stats", commands.stats_once, "print one record and exit");
    commands.events->add_option("--interval", commands.interval,
                                "time between records (default 5s)");
    commands.ps = app.add_subcommand("ps", "list the processes in a container's cgroup");
    commands.ps->add_option("id", commands.id, "container id")->required();
    commands.ps->add_option("-f,--format", commands.format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    commands.pause = app.add_subcommand("pause", "freeze every process of a container");
    commands.pause->add_option("id", commands.id, "container id")->required();
    commands.resume = app.add_subcommand("resume", "thaw a paused container");
    commands.resume->add_option("id", commands.id, "container id")->required();
}

std::optional<Result<int>> run_control_command(ControlCommands& commands,
                                               const container::runtime::Runtime& runtime) {
    auto done = [](Result<> outcome) -> Result<int> {
        if (!outcome) return std::unexpected(outcome.error());
        return 0;
    };
    if (commands.exec->parsed()) {
        std::vector<std::string> rest = commands.exec->remaining();
        if (rest.empty()) return Result<int>(fail("exec: a container id is required"));
        commands.exec_options.id = rest.front();
        commands.exec_options.args.assign(rest.begin() + 1, rest.end());
        commands.exec_options.console_socket = commands.console_socket;
        return runtime.exec(commands.exec_options);
    }
    if (commands.update->parsed()) {
        auto resources = update_resources(commands);
        if (!resources) return std::unexpected(resources.error());
        return done(runtime.update(commands.id, *resources));
    }
    if (commands.events->parsed()) return done(print_events(commands, runtime));
    if (commands.ps->parsed()) return done(print_processes(commands, runtime));
    if (commands.pause->parsed()) return done(runtime.pause(commands.id));
    if (commands.resume->parsed()) return done(runtime.resume(commands.id));
    return std::nullopt;
}

}  // namespace vessel::cli
