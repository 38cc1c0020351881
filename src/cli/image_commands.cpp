// image list, import, build, delete; network list, delete.
#include <fmt/ranges.h>

#include <memory>

#include "cli/answers.h"
#include "cli/arguments.h"
#include "cli/command.h"
#include "cli/event_watch.h"
#include "cli/output.h"

namespace vessel::cli {

namespace {

struct ImageOptions {
    std::string name, alias, tarball, kernel, initrd, disk, append, distribution, architecture;
    std::string format = "table", remote;
    bool vm = false, agent = false;
};

CommandResult import(ApiTarget& api, const ImageOptions& o) {
    Json body = {{"alias", o.alias}};
    if (o.vm) {
        if (o.kernel.empty()) return fail("image import --vm needs --kernel");
        body["type"] = "vm";
        body["kernel"] = absolute_path(o.kernel);
        if (!o.initrd.empty()) body["initrd"] = absolute_path(o.initrd);
        if (!o.disk.empty()) body["disk"] = absolute_path(o.disk);
        if (o.agent) body["agent"] = true;
        if (!o.append.empty()) body["append"] = o.append;
    } else {
        if (o.tarball.empty()) return fail("image import needs a rootfs tarball");
        body["type"] = "container";
        body["source"] = absolute_path(o.tarball);
    }
    auto image = TRY(api.call("POST", "/1.0/images", body));
    std::printf("Image imported with fingerprint: %s\n",
                TRY(text(JsonAt(image, "image"), "fingerprint")).c_str());
    return 0;
}

CommandResult build(ApiTarget& api, const ImageOptions& o) {
    std::string name = o.alias.empty() ? o.distribution : o.alias;
    // Progress comes as events on a connection of its own, subscribed before the build starts.
    auto watch = TRY(EventWatch::start(TRY(api.connect()), [name](const Json& event) {
        JsonAt at(event, "event");
        auto metadata = at.optional_child("metadata");
        if (text(at, "type").value_or("") == "progress" && metadata &&
            text(*metadata, "image").value_or("") == name)
            std::printf("%s\n", text(*metadata, "message").value_or("").c_str());
        std::fflush(stdout);
    }));
    Json body{{"type", "build"}, {"distribution", o.distribution}, {"alias", o.alias}};
    if (o.vm) body["vm"] = true;
    if (!o.architecture.empty()) body["architecture"] = o.architecture;
    // Its last progress lines may still be on their way when the build's reply comes.
    watch->wait_for_end_of(TRY(api.run("POST", "/1.0/images", body)));
    std::printf("Image %s built\n", name.c_str());
    return 0;
}

}  // namespace

void add_image_commands(Commands& commands) {
    auto& app = commands.app();
    auto& api = commands.api();
    auto o = std::make_shared<ImageOptions>();

    auto* image = app.add_subcommand("image", "images");
    image->require_subcommand(1);
    auto* list = image->add_subcommand("list", "list images");
    commands.add_format_option(list, o->format);
    commands.add_remote_argument(list, o->remote);
    commands.on(list, [&api, o]() -> CommandResult {
        TRY(take_listed_remote(api, o->remote));
        auto images = TRY(api.call("GET", "/1.0/images"));
        std::vector<std::vector<std::string>> rows;
        for (const auto& i : TRY(items(images, "images")))
            rows.push_back({fmt::format("{}", fmt::join(TRY(texts(i, "aliases")), ", ")),
                            TRY(text(i, "fingerprint")).substr(0, 12), upper(TRY(text(i, "type"))),
                            TRY(text(i, "description"))});
        print_listing(*format_named(o->format), {"ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"},
                      rows, images);
        return 0;
    });
    auto* import_command = image->add_subcommand(
        "import",
        "import ROOTFS.tar[.gz|.xz|.zst] --alias NAME, or --vm --kernel K [--initrd I] [--disk D]");
    import_command->add_option("tarball", o->tarball, "root filesystem tarball");
    import_command->add_option("--alias", o->alias, "name for the image")->required();
    import_command->add_flag("--vm", o->vm, "a VM image from a kernel and an initramfs");
    import_command->add_option("--kernel", o->kernel);
    import_command->add_option("--initrd", o->initrd);
    import_command->add_option("--disk", o->disk, "root disk image (raw); each VM gets a copy");
    import_command->add_flag("--agent", o->agent, "the disk's guest starts vessel-agent at boot");
    import_command->add_option("--append", o->append, "kernel command line");
    commands.on(import_command, [&api, o] { return import(api, *o); });
    auto* build_command = image->add_subcommand(
        "build",
        "build an image: build debian/12|debian/13 [--vm [--arch riscv64]] [--alias NAME] "
        "(debootstrap, cached)");
    build_command->add_option("distribution", o->distribution)->required();
    build_command->add_option("--alias", o->alias,
                              "name for the image (default: the distribution)");
    build_command->add_flag(
        "--vm", o->vm,
        "a VM image: kernel, initramfs and a root disk with systemd and vessel-agent");
    build_command->add_option("--arch", o->architecture,
                              "a VM image's architecture: this host's (default) or riscv64");
    commands.on(build_command, [&api, o] { return build(api, *o); });
    auto* remove = image->add_subcommand("delete", "delete an image");
    remove->add_option("name", o->name, "[REMOTE:]ALIAS or fingerprint")->required();
    commands.on(remove, [&api, o]() -> CommandResult {
        auto name = o->name;
        TRY(api.take_remote(name));
        TRY(api.call("DELETE", "/1.0/images/" + encode(name)));
        return 0;
    });

    auto* network = app.add_subcommand("network", "the managed container network");
    network->require_subcommand(1);
    auto* network_list = network->add_subcommand("list", "list networks");
    commands.add_format_option(network_list, o->format);
    commands.add_remote_argument(network_list, o->remote);
    commands.on(network_list, [&api, o]() -> CommandResult {
        TRY(take_listed_remote(api, o->remote));
        auto networks = TRY(api.call("GET", "/1.0/networks"));
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : TRY(items(networks, "networks"))) {
            auto leases = n.optional_child("leases");
            size_t count = leases ? TRY(leases->array()).size() : 0;
            rows.push_back({TRY(text(n, "name")), upper(TRY(text(n, "type"))),
                            TRY(text(n, "gateway")) + "/24", upper(TRY(text(n, "state"))),
                            std::to_string(count)});
        }
        print_listing(*format_named(o->format), {"NAME", "TYPE", "IPV4", "STATE", "LEASES"}, rows,
                      networks);
        return 0;
    });
    auto* network_delete = network->add_subcommand(
        "delete", "remove the network from the host (bridge, NAT rules, DHCP server)");
    network_delete->add_option("name", o->name, "[REMOTE:]NAME")->required();
    commands.on(network_delete, [&api, o]() -> CommandResult {
        auto name = o->name;
        TRY(api.take_remote(name));
        TRY(api.call("DELETE", "/1.0/networks/" + encode(name)));
        return 0;
    });
}

}  // namespace vessel::cli
