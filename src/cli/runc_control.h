// vessel-runc's commands on a live container that need no bundle: exec, update, events, ps,
// pause, resume.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "container/runtime/runtime.h"

namespace vessel::cli {

struct ControlCommands {
    CLI::App* exec = nullptr;
    container::runtime::ExecOptions exec_options;
    std::string console_socket;
    CLI::App* update = nullptr;
    std::string resources_file;  // "-": standard input
    // update's flags, as runc spells them; empty when not given.
    std::map<std::string, std::string> update_flags;
    CLI::App* events = nullptr;
    bool stats_once = false;
    std::string interval = "5s";
    CLI::App* ps = nullptr;
    CLI::App* pause = nullptr;
    CLI::App* resume = nullptr;
    std::string id;
    std::string format = "table";
};

void add_control_commands(CLI::App& app, ControlCommands& commands);

// nullopt when none of these commands was given; otherwise the exit status to return (output
// already printed) or the error for the caller to report.
std::optional<Result<int>> run_control_command(ControlCommands& commands,
                                               const container::runtime::Runtime& runtime);

}  // namespace vessel::cli
