// config set|get|unset|show (an instance's keys, or the server's core.* without a name) and
// config trust (the client certificates the server trusts).
#include <memory>

#include "cli/answers.h"
#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/remote_commands.h"

namespace vessel::cli {

namespace {

struct ConfigOptions {
    std::vector<std::string> arguments;
    std::string name, format = "table";
    std::string trust_name, trust_file, trust_fingerprint;
    int64_t trust_expiry = 86400;
    bool token = false;
};

// set, get or unset, on an instance or the server.
CommandResult change(ApiTarget& api, std::vector<std::string> arguments, std::string_view verb) {
    if (!arguments.empty() && arguments[0].find('=') == std::string::npos)
        TRY(api.take_remote(arguments[0]));
    bool setting = verb == "set";
    auto where = TRY(config_target(std::move(arguments), setting));
    std::string path = where.instance.empty() ? "/1.0" : "/1.0/instances/" + encode(where.instance);
    if (verb == "get") {
        auto answer = TRY(api.call("GET", path));
        for (const auto& [k, v] :
             TRY(where.instance.empty() ? server_config(answer)
                                        : instance_config(JsonAt(answer, "instance"))))
            if (k == where.words.at(0)) std::puts(v.c_str());
        return 0;
    }
    Json changes =
        setting ? TRY(parse_config_pairs(where.words)) : Json{{where.words.at(0), nullptr}};
    TRY(api.call("PATCH", path, Json{{"config", changes}}));
    return 0;
}

CommandResult show(ApiTarget& api, std::string name) {
    TRY(api.take_remote(name));
    auto answer = TRY(api.call("GET", name.empty() ? "/1.0" : "/1.0/instances/" + encode(name)));
    for (const auto& [k, v] :
         TRY(name.empty() ? server_config(answer) : instance_config(JsonAt(answer, "instance"))))
        std::printf("%s: %s\n", k.c_str(), v.c_str());
    return 0;
}

}  // namespace

void add_config_commands(Commands& commands) {
    auto& app = commands.app();
    auto& api = commands.api();
    auto o = std::make_shared<ConfigOptions>();

    auto* config = app.add_subcommand(
        "config", "instance and server configuration, and the clients the server trusts");
    config->require_subcommand(1);
    auto* set = config->add_subcommand(
        "set",
        "set keys: config set [REMOTE:]NAME key=value... (an instance), or config set "
        "key=value... / config set KEY VALUE (the server: core.https_address)");
    set->add_option("arguments", o->arguments)->required();
    commands.on(set, [&api, o] { return change(api, o->arguments, "set"); });
    auto* get = config->add_subcommand(
        "get", "print one key: config get [REMOTE:]NAME KEY, or config get KEY (the server)");
    get->add_option("arguments", o->arguments)->required()->expected(1, 2);
    commands.on(get, [&api, o] { return change(api, o->arguments, "get"); });
    auto* unset = config->add_subcommand(
        "unset",
        "remove one key: config unset [REMOTE:]NAME KEY, or config unset KEY (the server)");
    unset->add_option("arguments", o->arguments)->required()->expected(1, 2);
    commands.on(unset, [&api, o] { return change(api, o->arguments, "unset"); });
    auto* show_command = config->add_subcommand(
        "show", "print the configuration of an instance, or without one the server's");
    show_command->add_option("name", o->name, "[REMOTE:]NAME, or REMOTE: for that server's");
    commands.on(show_command, [&api, o] { return show(api, o->name); });

    auto* trust = config->add_subcommand(
        "trust", "the client certificates the server trusts over HTTPS (docs/remote.md)");
    trust->require_subcommand(1);
    auto* add = trust->add_subcommand(
        "add", "print a one-time token that lets a new client trust itself (vessel remote add)");
    add->add_option("--name", o->trust_name, "what the client will be called");
    add->add_flag("--token", o->token, "a token (the only kind; for Incus's spelling)");
    add->add_option("--expiry", o->trust_expiry, "seconds the token stays valid (default a day)")
        ->check(CLI::Range(int64_t{1}, int64_t{365 * 86400}));
    commands.on(add, [&api, o] { return done(trust_add(api, o->trust_name, o->trust_expiry)); });
    auto* add_certificate = trust->add_subcommand(
        "add-certificate", "trust a client's certificate file (PEM) directly");
    add_certificate->add_option("file", o->trust_file)->required();
    add_certificate->add_option("--name", o->trust_name, "what the client is called");
    commands.on(add_certificate, [&api, o] {
        return done(trust_add_certificate(api, absolute_path(o->trust_file), o->trust_name));
    });
    auto* list = trust->add_subcommand("list", "list the trusted client certificates");
    commands.add_format_option(list, o->format);
    commands.on(list, [&api, o] { return done(trust_list(api, o->format)); });
    auto* remove = trust->add_subcommand(
        "remove", "stop trusting a certificate (at once, on open connections too)");
    remove->add_option("fingerprint", o->trust_fingerprint, "12 or more hex characters")
        ->required();
    commands.on(remove, [&api, o] { return done(trust_remove(api, o->trust_fingerprint)); });
}

}  // namespace vessel::cli
