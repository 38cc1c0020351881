// vessel: the command-line client of vesseld. Every command is one or two REST calls, in a small
// handler of its own (cli/command.h lists the groups); the CLI holds no logic beyond reading its
// arguments and formatting the answers.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/api_target.h"
#include "cli/command.h"
#include "manager/tls/tls_client.h"

int main(int argc, char** argv) {
    using namespace vessel::cli;
    // The relay threads of remote connections and of the console run until the process exits.
    vessel::manager::tls::keep_openssl_state_at_exit();
    CLI::App app{"vessel: manage Vessel containers and virtual machines through vesseld"};
    app.require_subcommand(1);
    ApiTarget api;
    app.add_option("--socket", api.socket, "vesseld's API socket")->envname("VESSEL_SOCKET");
    Commands commands(app, api);
    add_instance_commands(commands);
    add_exec_commands(commands);
    add_config_commands(commands);
    add_snapshot_commands(commands);
    add_image_commands(commands);
    add_remote_commands(commands);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    auto outcome = commands.run();
    if (!outcome) {
        std::fprintf(stderr, "vessel: %s\n", outcome.error().message().c_str());
        return 1;
    }
    return *outcome;
}
