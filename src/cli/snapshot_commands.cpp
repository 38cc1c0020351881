// snapshot create, list, restore, delete.
#include <memory>

#include "cli/answers.h"
#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/output.h"

namespace vessel::cli {

void add_snapshot_commands(Commands& commands) {
    auto& app = commands.app();
    auto& api = commands.api();
    struct SnapshotOptions {
        std::string name, snapshot, format = "table";
    };
    auto o = std::make_shared<SnapshotOptions>();
    // The instance named, its REMOTE: taken off.
    auto instance = [&api, o]() -> Result<std::string> {
        auto name = o->name;
        TRY(api.take_remote(name));
        return "/1.0/instances/" + encode(name);
    };

    auto* snapshot = app.add_subcommand("snapshot", "snapshots of instances");
    snapshot->require_subcommand(1);
    auto* create = snapshot->add_subcommand(
        "create", "snapshot an instance, running (frozen meanwhile) or not: create NAME [SNAP]");
    create->add_option("name", o->name, "[REMOTE:]NAME")->required();
    create->add_option("snapshot", o->snapshot, "the snapshot's name (default: snapN)");
    commands.on(create, [&api, o, instance]() -> CommandResult {
        Json body = Json::object();
        if (!o->snapshot.empty()) body["name"] = o->snapshot;
        TRY(api.run("POST", TRY(instance()) + "/snapshots", body));
        return 0;
    });
    auto* list = snapshot->add_subcommand("list", "list an instance's snapshots");
    list->add_option("name", o->name, "[REMOTE:]NAME")->required();
    commands.add_format_option(list, o->format);
    commands.on(list, [&api, o, instance]() -> CommandResult {
        auto snapshots = TRY(api.call("GET", TRY(instance()) + "/snapshots?recursion=1"));
        std::vector<std::vector<std::string>> rows;
        for (const auto& s : TRY(items(snapshots, "snapshots")))
            rows.push_back({TRY(text(s, "name")), TRY(taken_at(s))});
        print_listing(*format_named(o->format), {"NAME", "TAKEN AT"}, rows, snapshots);
        return 0;
    });
    auto* restore = snapshot->add_subcommand(
        "restore", "put a stopped instance back as it was: restore NAME SNAP (files and config)");
    restore->add_option("name", o->name, "[REMOTE:]NAME")->required();
    restore->add_option("snapshot", o->snapshot)->required();
    commands.on(restore, [&api, o, instance]() -> CommandResult {
        TRY(api.run("PUT", TRY(instance()), Json{{"restore", o->snapshot}}));
        return 0;
    });
    auto* remove = snapshot->add_subcommand("delete", "delete NAME SNAP");
    remove->add_option("name", o->name, "[REMOTE:]NAME")->required();
    remove->add_option("snapshot", o->snapshot)->required();
    commands.on(remove, [&api, o, instance]() -> CommandResult {
        TRY(api.run("DELETE", TRY(instance()) + "/snapshots/" + encode(o->snapshot)));
        return 0;
    });
}

}  // namespace vessel::cli
