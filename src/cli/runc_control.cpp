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
    commands.exec->add_option("--console-socket", commands.console_socket,
                              "unix socket for the pty master (with -t)");
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
        return runtime.exec(commands.exec_options);
    }
    if (commands.ps->parsed()) return done(print_processes(commands, runtime));
    if (commands.pause->parsed()) return done(runtime.pause(commands.id));
    if (commands.resume->parsed()) return done(runtime.resume(commands.id));
    return std::nullopt;
}

}  // namespace vessel::cli
