#include "cli/command.h"

#include <unistd.h>

#include "cli/output.h"

namespace vessel::cli {

void Commands::on(CLI::App* command, std::function<CommandResult()> handler) {
    handlers_.emplace_back(command, std::move(handler));
}

void Commands::add_remote_argument(CLI::App* command, std::string& remote) {
    command->add_option("remote", remote, "REMOTE: (default: the default remote)");
}

void Commands::add_format_option(CLI::App* command, std::string& format) {
    command->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(format_names));
}

CommandResult Commands::run() {
    for (const auto& [command, handler] : handlers_)
        if (command->parsed()) return handler();
    return fail("no command given (vessel --help lists them)");
}

CommandResult done(Result<> result) {
    if (!result) return std::unexpected(result.error());
    return 0;
}

std::string absolute_path(const std::string& path) {
    if (path.empty() || path.front() == '/') return path;
    char cwd[4096];
    return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

Result<> take_listed_remote(ApiTarget& api, std::string remote) {
    if (remote.empty()) return {};
    if (!remote.ends_with(':'))
        return fail_errno(EINVAL, fmt::format("{:?}: expected REMOTE: (with the colon)", remote));
    return api.take_remote(remote);
}

}  // namespace vessel::cli
