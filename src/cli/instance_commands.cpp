// launch, list, start, stop, restart, freeze, unfreeze, delete, info, copy, export, import.
#include <memory>

#include "base/log.h"
#include "cli/answers.h"
#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/output.h"

namespace vessel::cli {

namespace {

struct InstanceOptions {
    std::string image, name, source, file, format = "table", remote;
    std::vector<std::string> names, config_pairs;
    bool vm = false, force = false, instance_only = false;
    int timeout = 30;
};

// A VM's own report through its agent. Every string in it comes from the guest, which may be
// hostile: escaped to one line, so that it cannot drive the terminal.
Result<> print_guest_state(const JsonAt& guest) {
    auto show = [](std::string_view value) { return single_line(value); };
    std::printf("Agent: %s\n", show(TRY(text(guest, "agent"))).c_str());
    if (auto error = TRY(guest.optional_string("error")))
        std::printf("Agent error: %s\n", show(*error).c_str());
    if (auto os = guest.optional_child("os"))
        if (auto name = TRY(os->optional_string("pretty_name")))
            std::printf("Guest OS: %s\n", show(*name).c_str());
    if (auto kernel = TRY(guest.optional_string("kernel")))
        std::printf("Guest kernel: %s (%s)\n", show(*kernel).c_str(),
                    show(TRY(text(guest, "arch"))).c_str());
    if (auto hostname = TRY(guest.optional_string("hostname")))
        std::printf("Guest hostname: %s\n", show(*hostname).c_str());
    if (auto memory = guest.optional_child("memory")) {
        auto total = TRY(memory->optional_integer_in<uint64_t>("total")).value_or(0);
        auto available = TRY(memory->optional_integer_in<uint64_t>("available")).value_or(0);
        std::printf("Guest memory: %llu MiB available of %llu MiB\n",
                    static_cast<unsigned long long>(available >> 20),
                    static_cast<unsigned long long>(total >> 20));
    }
    if (auto addresses = guest.optional_child("addresses"))
        for (const auto& address : TRY(addresses->array()))
            std::printf("Guest address: %s %s/%lld\n",
                        show(TRY(text(address, "interface"))).c_str(),
                        show(TRY(text(address, "address"))).c_str(),
                        static_cast<long long>(
                            TRY(address.optional_integer_in<int>("prefix")).value_or(0)));
    return {};
}

CommandResult info(ApiTarget& api, std::string name) {
    TRY(api.take_remote(name));
    auto instance_json = TRY(api.call("GET", "/1.0/instances/" + encode(name)));
    auto state_json = TRY(api.call("GET", "/1.0/instances/" + encode(name) + "/state"));
    JsonAt instance(instance_json, "instance"), state(state_json, "state");
    std::printf("Name: %s\nType: %s\nStatus: %s\nImage: %s\n", name.c_str(),
                TRY(text(instance, "type")).c_str(), upper(TRY(text(state, "status"))).c_str(),
                TRY(text(instance, "image")).substr(0, 12).c_str());
    if (auto pid = TRY(state.optional_integer_in<pid_t>("pid"))) std::printf("PID: %d\n", *pid);
    if (auto cgroup = TRY(state.optional_string("cgroup")))
        std::printf("Cgroup: %s\n", cgroup->c_str());
    if (auto exit = state.optional_child("exit"))
        std::printf("Last exit: %s\n", TRY(text(*exit, "description")).c_str());
    if (auto guest = state.optional_child("guest")) TRY(print_guest_state(*guest));
    auto config = TRY(instance_config(instance));
    if (!config.empty()) {
        std::puts("Config:");
        for (const auto& [k, v] : config)
            std::printf("  %s: %s\n", k.c_str(), v.c_str());
    }
    auto snapshots =
        TRY(api.call("GET", "/1.0/instances/" + encode(name) + "/snapshots?recursion=1"));
    auto listed = TRY(items(snapshots, "snapshots"));
    if (!listed.empty()) {
        std::puts("Snapshots:");
        for (const auto& s : listed)
            std::printf("  %s (taken at %s)\n", TRY(text(s, "name")).c_str(),
                        TRY(taken_at(s)).c_str());
    }
    return 0;
}

CommandResult list(ApiTarget& api, const InstanceOptions& o) {
    TRY(take_listed_remote(api, o.remote));
    auto instances = TRY(api.call("GET", "/1.0/instances?recursion=1"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& i : TRY(items(instances, "instances"))) {
        std::string ipv4;
        for (const auto& a : TRY(texts(i, "ipv4")))
            ipv4 += (ipv4.empty() ? "" : ", ") + a;
        auto snapshots = TRY(i.optional_integer_in<size_t>("snapshots")).value_or(0);
        rows.push_back({TRY(text(i, "name")), upper(TRY(text(i, "status"))), ipv4,
                        upper(TRY(text(i, "type"))), std::to_string(snapshots)});
    }
    print_listing(*format_named(o.format), {"NAME", "STATE", "IPV4", "TYPE", "SNAPSHOTS"}, rows,
                  instances);
    return 0;
}

// PUT .../state for each name: start, stop, restart, freeze, unfreeze.
CommandResult change_state(ApiTarget& api, const InstanceOptions& o, const std::string& action) {
    auto names = o.names;
    for (auto& name : names)
        TRY(api.take_remote(name));
    for (const auto& name : names)
        TRY(api.run("PUT", "/1.0/instances/" + encode(name) + "/state",
                    Json{{"action", action}, {"timeout", o.timeout}, {"force", o.force}}));
    return 0;
}

}  // namespace

void add_instance_commands(Commands& commands) {
    auto& app = commands.app();
    auto& api = commands.api();
    auto o = std::make_shared<InstanceOptions>();

    auto* launch = app.add_subcommand("launch", "create and start an instance");
    launch->add_option("image", o->image, "image alias or fingerprint")->required();
    launch->add_option("name", o->name, "instance name (a DNS label), [REMOTE:]NAME")->required();
    launch->add_flag("--vm", o->vm, "a virtual machine instead of a container");
    launch->add_option("-c,--config", o->config_pairs,
                       "key=value (limits.memory, limits.cpu, ...)");
    commands.on(launch, [&api, o]() -> CommandResult {
        auto name = o->name, image = o->image;
        TRY(api.take_remote(name));
        TRY(api.take_remote(image));
        auto config = TRY(parse_config_pairs(o->config_pairs));
        TRY(api.run("POST", "/1.0/instances",
                    Json{{"name", name},
                         {"source", {{"alias", image}}},
                         {"type", o->vm ? "vm" : "container"},
                         {"config", config}}));
        std::printf("Launched %s\n", name.c_str());
        return 0;
    });

    auto* list_command = app.add_subcommand("list", "list instances");
    commands.add_format_option(list_command, o->format);
    commands.add_remote_argument(list_command, o->remote);
    commands.on(list_command, [&api, o] { return list(api, *o); });

    for (auto [action, help] : {std::pair{"start", "start instances"},
                                {"stop", "stop instances (SIGTERM, then SIGKILL)"},
                                {"restart", "restart instances"},
                                {"freeze", "freeze instances"},
                                {"unfreeze", "unfreeze instances"}}) {
        auto* command = app.add_subcommand(action, help);
        command->add_option("names", o->names, "[REMOTE:]NAME...")->required();
        if (std::string_view(action) == "stop" || std::string_view(action) == "restart") {
            command->add_flag("-f,--force", o->force, "kill at once");
            command->add_option("--timeout", o->timeout, "seconds to wait before killing");
        }
        commands.on(command, [&api, o, action = std::string(action)] {
            return change_state(api, *o, action);
        });
    }

    auto* remove = app.add_subcommand("delete", "delete instances");
    remove->add_option("names", o->names, "[REMOTE:]NAME...")->required();
    remove->add_flag("-f,--force", o->force, "stop a running instance first");
    commands.on(remove, [&api, o]() -> CommandResult {
        auto names = o->names;
        for (auto& name : names)
            TRY(api.take_remote(name));
        for (const auto& name : names)
            TRY(api.run("DELETE", "/1.0/instances/" + encode(name) + (o->force ? "?force=1" : "")));
        return 0;
    });

    auto* info_command = app.add_subcommand("info", "show an instance");
    info_command->add_option("name", o->name, "[REMOTE:]NAME")->required();
    commands.on(info_command, [&api, o] { return info(api, o->name); });

    auto* copy = app.add_subcommand(
        "copy",
        "copy SOURCE TARGET: a new stopped instance with the source's files, config and "
        "snapshots (a running source is frozen meanwhile)");
    copy->add_option("source", o->source)->required();
    copy->add_option("target", o->name)->required();
    copy->add_flag("--instance-only", o->instance_only, "without the source's snapshots");
    commands.on(copy, [&api, o]() -> CommandResult {
        auto source = o->source, target = o->name;
        TRY(api.take_remote(source));
        TRY(api.take_remote(target));
        TRY(api.run_with_progress(
            "copy", target, "POST", "/1.0/instances",
            Json{{"name", target},
                 {"source",
                  {{"type", "copy"}, {"source", source}, {"instance_only", o->instance_only}}}}));
        return 0;
    });

    auto* export_command = app.add_subcommand(
        "export",
        "export NAME FILE: the instance, its image and its snapshots in one archive "
        "(FILE.tar.gz, .tar.zst, .tar.xz or .tar; a running instance is frozen for a moment)");
    export_command->add_option("name", o->name, "[REMOTE:]NAME")->required();
    export_command->add_option("file", o->file, "on the server's host")->required();
    export_command->add_flag("--instance-only", o->instance_only,
                             "without the instance's snapshots");
    commands.on(export_command, [&api, o]() -> CommandResult {
        auto name = o->name;
        TRY(api.take_remote(name));
        TRY(api.run_with_progress(
            "export", name, "POST", "/1.0/instances/" + encode(name) + "/export",
            Json{{"path", absolute_path(o->file)}, {"instance_only", o->instance_only}}));
        return 0;
    });

    auto* import_command = app.add_subcommand(
        "import", "import FILE [NAME]: a new stopped instance from an export (named as exported)");
    import_command->add_option("file", o->file, "on the server's host")->required();
    import_command->add_option("name", o->name, "the new instance's name");
    commands.on(import_command, [&api, o]() -> CommandResult {
        auto name = o->name;
        TRY(api.take_remote(name));
        Json body{{"source", {{"type", "backup"}, {"path", absolute_path(o->file)}}}};
        if (!name.empty()) body["name"] = name;
        TRY(api.run_with_progress("import", name, "POST", "/1.0/instances", body));
        return 0;
    });
}

}  // namespace vessel::cli
