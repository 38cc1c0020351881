// The commands of `vessel`, one small handler each: every group registers its CLI11 subcommands
// and their handlers here, sharing one client (ApiTarget: the socket or a remote) and the output
// formats; main parses the line and runs the handler of the command chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "cli/api_target.h"

namespace vessel::cli {

// The exit status, or the error main prints.
using CommandResult = Result<int>;

class Commands {
  public:
    Commands(CLI::App& app, ApiTarget& api) : app_(app), api_(api) {}

    CLI::App& app() { return app_; }
    ApiTarget& api() { return api_; }

    // `handler` runs when `command` is the one chosen, once the whole line parsed.
    void on(CLI::App* command, std::function<CommandResult()> handler);
    // "REMOTE:" as an optional argument of a listing: which server to list.
    void add_remote_argument(CLI::App* command, std::string& remote);
    // --format table|json|yaml|csv.
    void add_format_option(CLI::App* command, std::string& format);
    // The chosen command's handler.
    CommandResult run();

  private:
    CLI::App& app_;
    ApiTarget& api_;
    std::vector<std::pair<CLI::App*, std::function<CommandResult()>>> handlers_;
};

// 0, or the error.
CommandResult done(Result<> result);
// A path made absolute against the working directory: the daemon does not share it.
std::string absolute_path(const std::string& path);
// Takes a "REMOTE:" listing argument (empty: none) as the target.
Result<> take_listed_remote(ApiTarget& api, std::string remote);

void add_instance_commands(Commands& commands);  // launch, list, start...delete, info, copy,
                                                 // export, import
void add_exec_commands(Commands& commands);      // exec, file push|pull, console
void add_config_commands(Commands& commands);    // config set|get|unset|show, config trust
void add_snapshot_commands(Commands& commands);  // snapshot create|list|restore|delete
void add_image_commands(Commands& commands);     // image ..., network ...
void add_remote_commands(Commands& commands);    // remote add|list|remove|switch

}  // namespace vessel::cli
