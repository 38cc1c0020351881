#include "cli/runc_control.h"

#include <cstdio>

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

}  // namespace

void add_control_commands(CLI::App& app, ControlCommands& commands) {
    commands.ps = app.add_subcommand("ps", "list the processes in a container's cgroup");
    commands.ps->add_option("id", commands.id, "container id")->required();
    commands.ps->add_option("-f,--format", commands.format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    commands.pause = app.add_subcommand("pause", "freeze every process of a container");
    commands.pause->add_option("id", commands.id, "container id")->required();
    commands.resume = app.add_subcommand("resume", "thaw a paused container");
    commands.resume->add_option("id", commands.id, "container id")->required();
}

std::optional<Result<>> run_control_command(const ControlCommands& commands,
                                            const container::runtime::Runtime& runtime) {
    if (commands.ps->parsed()) return print_processes(commands, runtime);
    if (commands.pause->parsed()) return runtime.pause(commands.id);
    if (commands.resume->parsed()) return runtime.resume(commands.id);
    return std::nullopt;
}

}  // namespace vessel::cli
