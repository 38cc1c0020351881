// vessel: the command-line client of vesseld. Every command is one or two REST calls; the CLI
// holds no logic of its own beyond formatting.
#include <fmt/ranges.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <thread>

#include <charconv>
#include <cstdio>
#include <ctime>

#include "base/fd_passing.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/api_target.h"
#include "cli/console_attach.h"
#include "cli/event_watch.h"
#include "cli/exec_client.h"
#include "cli/file_client.h"
#include "cli/output.h"
#include "cli/remote_commands.h"
#include "manager/api/client.h"
#include "manager/api/server.h"
#include "manager/instance/files.h"

namespace {

using namespace vessel;
using namespace vessel::manager;
using vessel::cli::upper;

// Requests go to vesseld's socket or to a remote (REMOTE:NAME, or the default remote).
using Cli = cli::ApiTarget;

std::string encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

Result<Json> parse_config_pairs(const std::vector<std::string>& pairs) {
    Json config = Json::object();
    for (const auto& pair : pairs) {
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail("{}: config must be given as key=value", pair);
        config[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    return config;
}

// Fields of the daemon's answers. A field of another type than expected (or a number too large for
// its type) is an error naming it, never an exception; an absent one is empty.
Result<std::string> text(const JsonAt& at, std::string_view key) {
    return TRY(at.optional_string(key)).value_or("");
}

Result<std::vector<std::string>> texts(const JsonAt& at, std::string_view key) {
    return at.optional_string_array(key);
}

Result<std::vector<JsonAt>> items(const Json& list, std::string_view what) {
    return JsonAt(list, std::string(what)).array();
}

// When a snapshot was taken, in UTC (its created_at, seconds since the epoch).
Result<std::string> taken_at(const JsonAt& snapshot) {
    auto seconds = TRY(snapshot.optional_integer_in<time_t>("created_at")).value_or(0);
    struct tm utc {};
    if (::gmtime_r(&seconds, &utc) == nullptr) return std::string("?");
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return std::string(text);
}

// The config of an instance: an object of strings.
Result<std::vector<std::pair<std::string, std::string>>> instance_config(const JsonAt& instance) {
    std::vector<std::pair<std::string, std::string>> pairs;
    auto config = instance.optional_child("config");
    if (!config) return pairs;
    TRY(config->expect_object());
    for (const auto& [key, value] : config->value().items())
        pairs.emplace_back(key, TRY(JsonAt(value, json_path(config->path(), key)).string()));
    return pairs;
}

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

// Whose config a `config set|get|unset` names, with Incus's rule: the server's when the first word
// is KEY=VALUE, or for `set KEY VALUE`, `get KEY`, `unset KEY` (a REMOTE: prefix taken off
// already leaves an empty first word); else the first word is the instance. `words` are the
// KEY=VALUE pairs of a set (KEY VALUE joined), or the KEY of a get or unset.
struct ConfigTarget {
    std::string instance;
    std::vector<std::string> words;
};
Result<ConfigTarget> config_target(std::vector<std::string> args, bool setting) {
    ConfigTarget target;
    bool server = args.empty() || args[0].empty() || args[0].find('=') != std::string::npos ||
                  (args.size() == 1 && !setting) ||
                  (setting && args.size() == 2 && args[1].find('=') == std::string::npos);
    if (!server || (!args.empty() && args[0].empty())) {
        if (!server) target.instance = args[0];
        args.erase(args.begin());
    }
    if (setting && args.size() == 2 && args[0].find('=') == std::string::npos &&
        args[1].find('=') == std::string::npos)
        args = {args[0] + "=" + args[1]};
    if (args.empty()) return fail_errno(EINVAL, "config: no key given");
    if (!setting && args.size() != 1) return fail_errno(EINVAL, "config: give one key");
    target.words = std::move(args);
    return target;
}

// The server's settings from GET /1.0.
Result<std::vector<std::pair<std::string, std::string>>> server_config(const Json& answer) {
    return instance_config(JsonAt(answer, "server"));
}

// "NAME/PATH" of vessel file: the instance and the absolute path in it.
Result<std::pair<std::string, std::string>> split_instance_path(const std::string& target) {
    auto slash = target.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == target.size())
        return fail("'{}': expected NAME/PATH (the instance, then the path in it)", target);
    return std::pair{target.substr(0, slash), target.substr(slash)};
}

Result<mode_t> parse_mode(const std::string& text) {
    mode_t mode = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
    if (error != std::errc() || end != text.data() + text.size() || mode > 07777)
        return fail("--mode {}: expected an octal mode such as 0644", text);
    return mode;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"vessel: manage Vessel containers and virtual machines through vesseld"};
    app.require_subcommand(1);
    Cli cli;
    app.add_option("--socket", cli.socket, "vesseld's API socket")->envname("VESSEL_SOCKET");

    std::string image, name, format = "table", alias, tarball, kernel, initrd, disk, append;
    std::vector<std::string> config_pairs, command, names;
    bool vm = false, force = false, forward_stdin = false;
    int timeout = 30;

    auto* launch = app.add_subcommand("launch", "create and start an instance");
    launch->add_option("image", image, "image alias or fingerprint")->required();
    launch->add_option("name", name, "instance name (a DNS label)")->required();
    launch->add_flag("--vm", vm, "a virtual machine instead of a container");
    launch->add_option("-c,--config", config_pairs, "key=value (limits.memory, limits.cpu, ...)");

    // "REMOTE:" of the listing commands: which server to list (default: the default remote).
    std::string listed_remote;
    auto remote_argument = [&](CLI::App* command) {
        command->add_option("remote", listed_remote, "REMOTE: (default: the default remote)");
    };
    auto* list = app.add_subcommand("list", "list instances");
    list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    remote_argument(list);

    auto* start = app.add_subcommand("start", "start instances");
    start->add_option("names", names)->required();
    auto* stop = app.add_subcommand("stop", "stop instances (SIGTERM, then SIGKILL)");
    stop->add_option("names", names)->required();
    stop->add_flag("-f,--force", force, "kill at once");
    stop->add_option("--timeout", timeout, "seconds to wait before killing");
    auto* restart = app.add_subcommand("restart", "restart instances");
    restart->add_option("names", names)->required();
    restart->add_flag("-f,--force", force, "kill at once");
    restart->add_option("--timeout", timeout, "seconds to wait before killing");
    auto* freeze = app.add_subcommand("freeze", "freeze instances");
    freeze->add_option("names", names)->required();
    auto* unfreeze = app.add_subcommand("unfreeze", "unfreeze instances");
    unfreeze->add_option("names", names)->required();
    auto* remove = app.add_subcommand("delete", "delete instances");
    remove->add_option("names", names)->required();
    remove->add_flag("-f,--force", force, "stop a running instance first");

    auto* exec = app.add_subcommand("exec", "run a command in an instance: exec NAME -- CMD...");
    exec->add_option("name", name)->required();
    exec->add_option("command", command)->required();
    exec->add_flag("-i,--stdin", forward_stdin, "send this process's standard input");
    bool exec_tty = false;
    std::vector<std::string> exec_env;
    std::string exec_cwd = "/";
    uint32_t exec_user = 0, exec_group = 0;
    exec->add_flag("-t,--tty", exec_tty, "run the command on a terminal (implies -i)");
    exec->add_option("--env", exec_env, "KEY=VALUE in the command's environment (repeatable)");
    exec->add_option("--cwd", exec_cwd, "the command's working directory");
    exec->add_option("--user", exec_user, "user id to run the command as");
    exec->add_option("--group", exec_group, "group id to run the command as");

    auto* file_cmd = app.add_subcommand("file", "copy files into and out of instances");
    file_cmd->require_subcommand(1);
    std::string file_source, file_target, file_mode;
    std::optional<uid_t> file_uid;
    std::optional<gid_t> file_gid;
    bool file_parents = false;
    auto* file_push =
        file_cmd->add_subcommand("push", "push SRC NAME/PATH: copy a host file into an instance");
    file_push->add_option("source", file_source, "file on this host ('-': standard input)")
        ->required();
    file_push->add_option("target", file_target, "NAME/PATH, PATH absolute in the instance")
        ->required();
    file_push->add_option("--mode", file_mode, "octal mode (default: the source's)");
    file_push->add_option("--uid", file_uid, "owner in the instance (default 0)");
    file_push->add_option("--gid", file_gid, "group in the instance (default 0)");
    file_push->add_flag("-p,--create-dirs", file_parents, "create missing parent directories");
    auto* file_pull =
        file_cmd->add_subcommand("pull", "pull NAME/PATH DST: copy a file out of an instance");
    file_pull->add_option("source", file_source, "NAME/PATH, PATH absolute in the instance")
        ->required();
    file_pull->add_option("target", file_target, "file on this host ('-': standard output)")
        ->required();

    auto* info = app.add_subcommand("info", "show an instance");
    info->add_option("name", name)->required();
    auto* console = app.add_subcommand(
        "console", "attach to a VM's serial console (Ctrl-A q detaches), or --show-log");
    console->add_option("name", name)->required();
    bool show_log = false;
    console->add_flag("--show-log", show_log, "print the console output so far and exit");

    auto* config = app.add_subcommand(
        "config", "instance and server configuration, and the clients the server trusts");
    config->require_subcommand(1);
    std::vector<std::string> config_args;
    auto* config_set = config->add_subcommand(
        "set",
        "set keys: config set [REMOTE:]NAME key=value... (an instance), or config set "
        "key=value... / config set KEY VALUE (the server: core.https_address)");
    config_set->add_option("arguments", config_args)->required();
    auto* config_get = config->add_subcommand(
        "get", "print one key: config get [REMOTE:]NAME KEY, or config get KEY (the server)");
    config_get->add_option("arguments", config_args)->required()->expected(1, 2);
    auto* config_unset = config->add_subcommand(
        "unset",
        "remove one key: config unset [REMOTE:]NAME KEY, or config unset KEY (the server)");
    config_unset->add_option("arguments", config_args)->required()->expected(1, 2);
    auto* config_show = config->add_subcommand(
        "show", "print the configuration of an instance, or without one the server's");
    config_show->add_option("name", name, "[REMOTE:]NAME, or REMOTE: for that server's");

    auto* trust_cmd = config->add_subcommand(
        "trust", "the client certificates the server trusts over HTTPS (docs/remote.md)");
    trust_cmd->require_subcommand(1);
    std::string trust_name, trust_file, trust_fingerprint;
    int64_t trust_expiry = 86400;
    auto* trust_add = trust_cmd->add_subcommand(
        "add", "print a one-time token that lets a new client trust itself (vessel remote add)");
    trust_add->add_option("--name", trust_name, "what the client will be called");
    bool token_flag = false;
    trust_add->add_flag("--token", token_flag, "a token (the only kind; for Incus's spelling)");
    trust_add->add_option("--expiry", trust_expiry, "seconds the token stays valid (default a day)")
        ->check(CLI::Range(int64_t{1}, int64_t{365 * 86400}));
    auto* trust_add_certificate = trust_cmd->add_subcommand(
        "add-certificate", "trust a client's certificate file (PEM) directly");
    trust_add_certificate->add_option("file", trust_file)->required();
    trust_add_certificate->add_option("--name", trust_name, "what the client is called");
    auto* trust_list = trust_cmd->add_subcommand("list", "list the trusted client certificates");
    trust_list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    auto* trust_remove = trust_cmd->add_subcommand(
        "remove", "stop trusting a certificate (at once, on open connections too)");
    trust_remove->add_option("fingerprint", trust_fingerprint, "12 or more hex characters")
        ->required();

    auto* remote_cmd = app.add_subcommand("remote", "the servers this client talks to");
    remote_cmd->require_subcommand(1);
    std::string remote_name, remote_url, remote_token;
    auto* remote_add = remote_cmd->add_subcommand(
        "add",
        "add NAME https://HOST:PORT --token TOKEN: trust this client there with a token "
        "from `vessel config trust add`, and pin the server's certificate");
    remote_add->add_option("name", remote_name)->required();
    remote_add->add_option("url", remote_url)->required();
    remote_add->add_option("--token", remote_token)->required();
    auto* remote_list = remote_cmd->add_subcommand("list", "list the remotes");
    remote_list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    auto* remote_remove = remote_cmd->add_subcommand("remove", "forget a remote");
    remote_remove->add_option("name", remote_name)->required();
    auto* remote_switch = remote_cmd->add_subcommand(
        "switch", "make a remote the default, for names without REMOTE:");
    remote_switch->add_option("name", remote_name)->required();

    auto* copy = app.add_subcommand(
        "copy",
        "copy SOURCE TARGET: a new stopped instance with the source's files, config and "
        "snapshots (a running source is frozen meanwhile)");
    std::string copy_source;
    bool instance_only = false;
    copy->add_option("source", copy_source)->required();
    copy->add_option("target", name)->required();
    copy->add_flag("--instance-only", instance_only, "without the source's snapshots");

    std::string backup_file;
    auto* export_cmd = app.add_subcommand(
        "export",
        "export NAME FILE: the instance, its image and its snapshots in one archive "
        "(FILE.tar.gz, .tar.zst, .tar.xz or .tar; a running instance is frozen for a moment)");
    export_cmd->add_option("name", name)->required();
    export_cmd->add_option("file", backup_file)->required();
    export_cmd->add_flag("--instance-only", instance_only, "without the instance's snapshots");
    auto* import_cmd = app.add_subcommand(
        "import", "import FILE [NAME]: a new stopped instance from an export (named as exported)");
    import_cmd->add_option("file", backup_file)->required();
    import_cmd->add_option("name", name, "the new instance's name");

    auto* snapshot_cmd = app.add_subcommand("snapshot", "snapshots of instances");
    snapshot_cmd->require_subcommand(1);
    std::string snapshot;
    auto* snapshot_create = snapshot_cmd->add_subcommand(
        "create", "snapshot an instance, running (frozen meanwhile) or not: create NAME [SNAP]");
    snapshot_create->add_option("name", name)->required();
    snapshot_create->add_option("snapshot", snapshot, "the snapshot's name (default: snapN)");
    auto* snapshot_list = snapshot_cmd->add_subcommand("list", "list an instance's snapshots");
    snapshot_list->add_option("name", name)->required();
    snapshot_list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    auto* snapshot_restore = snapshot_cmd->add_subcommand(
        "restore", "put a stopped instance back as it was: restore NAME SNAP (files and config)");
    snapshot_restore->add_option("name", name)->required();
    snapshot_restore->add_option("snapshot", snapshot)->required();
    auto* snapshot_delete = snapshot_cmd->add_subcommand("delete", "delete NAME SNAP");
    snapshot_delete->add_option("name", name)->required();
    snapshot_delete->add_option("snapshot", snapshot)->required();

    auto* image_cmd = app.add_subcommand("image", "images");
    image_cmd->require_subcommand(1);
    auto* image_list = image_cmd->add_subcommand("list", "list images");
    image_list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    remote_argument(image_list);
    auto* image_import = image_cmd->add_subcommand(
        "import",
        "import ROOTFS.tar[.gz|.xz|.zst] --alias NAME, or --vm --kernel K [--initrd I] [--disk D]");
    image_import->add_option("tarball", tarball, "root filesystem tarball");
    image_import->add_option("--alias", alias, "name for the image")->required();
    image_import->add_flag("--vm", vm, "a VM image from a kernel and an initramfs");
    image_import->add_option("--kernel", kernel);
    image_import->add_option("--initrd", initrd);
    image_import->add_option("--disk", disk, "root disk image (raw); each VM gets a copy");
    bool agent = false;
    image_import->add_flag("--agent", agent, "the disk's guest starts vessel-agent at boot");
    image_import->add_option("--append", append, "kernel command line");
    std::string distribution;
    std::string architecture;
    auto* image_build = image_cmd->add_subcommand(
        "build",
        "build an image: build debian/12|debian/13 [--vm [--arch riscv64]] [--alias NAME] "
        "(debootstrap, cached)");
    image_build->add_option("distribution", distribution)->required();
    image_build->add_option("--alias", alias, "name for the image (default: the distribution)");
    image_build->add_flag("--vm", vm,
                          "a VM image: kernel, initramfs and a root disk with systemd and "
                          "vessel-agent");
    image_build->add_option("--arch", architecture,
                            "a VM image's architecture: this host's (default) or riscv64");
    auto* image_delete = image_cmd->add_subcommand("delete", "delete an image");
    image_delete->add_option("name", name)->required();

    auto* network_cmd = app.add_subcommand("network", "the managed container network");
    network_cmd->require_subcommand(1);
    auto* network_list = network_cmd->add_subcommand("list", "list networks");
    network_list->add_option("--format", format, "table, json, yaml or csv")
        ->check(CLI::IsMember(cli::format_names));
    remote_argument(network_list);
    auto* network_delete = network_cmd->add_subcommand(
        "delete", "remove the network from the host (bridge, NAT rules, DHCP server)");
    network_delete->add_option("name", name)->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    // A REMOTE: prefix on any instance (or image) name picks the server; all must agree.
    auto taken = [&]() -> Result<> {
        if (!listed_remote.empty()) {
            if (!listed_remote.ends_with(':'))
                return fail_errno(
                    EINVAL, fmt::format("{:?}: expected REMOTE: (with the colon)", listed_remote));
            TRY(cli.take_remote(listed_remote));
        }
        if (*config_set || *config_get || *config_unset) {
            if (!config_args.empty() && config_args[0].find('=') == std::string::npos)
                TRY(cli.take_remote(config_args[0]));
        } else if (!name.empty()) {
            TRY(cli.take_remote(name));
        }
        if (*launch) TRY(cli.take_remote(image));
        for (auto& each : names)
            TRY(cli.take_remote(each));
        if (*copy) TRY(cli.take_remote(copy_source));
        if (*file_push) TRY(cli.take_remote(file_target));
        if (*file_pull) TRY(cli.take_remote(file_source));
        return {};
    }();
    if (!taken) {
        std::fprintf(stderr, "vessel: %s\n", taken.error().message().c_str());
        return 1;
    }

    auto absolute = [](const std::string& path) {
        if (path.empty() || path.front() == '/') return path;
        char cwd[4096];
        return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
    };
    auto for_each_name =
        [&](const std::function<Result<>(const std::string&)>& action) -> Result<> {
        for (const auto& n : names)
            TRY(action(n));
        return {};
    };
    auto state_action = [&](const std::string& action) {
        return for_each_name([&](const std::string& n) -> Result<> {
            TRY(cli.run("PUT", "/1.0/instances/" + encode(n) + "/state",
                        Json{{"action", action}, {"timeout", timeout}, {"force", force}}));
            return {};
        });
    };

    Result<int> outcome = 0;
    auto done = [](Result<> r) -> Result<int> {
        if (!r) return std::unexpected(r.error());
        return 0;
    };
    if (*launch) {
        outcome = [&]() -> Result<int> {
            auto cfg = TRY(parse_config_pairs(config_pairs));
            TRY(cli.run("POST", "/1.0/instances",
                        Json{{"name", name},
                             {"source", {{"alias", image}}},
                             {"type", vm ? "vm" : "container"},
                             {"config", cfg}}));
            std::printf("Launched %s\n", name.c_str());
            return 0;
        }();
    } else if (*list) {
        outcome = [&]() -> Result<int> {
            auto instances = TRY(cli.call("GET", "/1.0/instances?recursion=1"));
            std::vector<std::vector<std::string>> rows;
            for (const auto& i : TRY(items(instances, "instances"))) {
                std::string ipv4;
                for (const auto& a : TRY(texts(i, "ipv4")))
                    ipv4 += (ipv4.empty() ? "" : ", ") + a;
                auto snapshots = TRY(i.optional_integer_in<size_t>("snapshots")).value_or(0);
                rows.push_back({TRY(text(i, "name")), upper(TRY(text(i, "status"))), ipv4,
                                upper(TRY(text(i, "type"))), std::to_string(snapshots)});
            }
            cli::print_listing(*cli::format_named(format),
                               {"NAME", "STATE", "IPV4", "TYPE", "SNAPSHOTS"}, rows, instances);
            return 0;
        }();
    } else if (*start) {
        outcome = done(state_action("start"));
    } else if (*stop) {
        outcome = done(state_action("stop"));
    } else if (*restart) {
        outcome = done(state_action("restart"));
    } else if (*freeze) {
        outcome = done(state_action("freeze"));
    } else if (*unfreeze) {
        outcome = done(state_action("unfreeze"));
    } else if (*remove) {
        outcome = done(for_each_name([&](const std::string& n) -> Result<> {
            TRY(cli.run("DELETE", "/1.0/instances/" + encode(n) + (force ? "?force=1" : "")));
            return {};
        }));
    } else if (*file_push) {
        outcome = [&]() -> Result<int> {
            auto [instance, path] = TRY(split_instance_path(file_target));
            UniqueFd source;
            mode_t mode = 0644;
            if (file_source != "-") {
                source = TRY(open_file(file_source, O_RDONLY));
                struct stat source_info {};
                if (::fstat(source.get(), &source_info) != 0)
                    return fail_errno(fmt::format("stat {}", file_source));
                if (!S_ISREG(source_info.st_mode))
                    return fail("file push: {} is not a regular file", file_source);
                mode = source_info.st_mode & 07777;
            }
            if (!file_mode.empty()) mode = TRY(parse_mode(file_mode));
            auto client = TRY(cli.connect());
            auto stream = TRY(client.stream("POST", "/1.0/instances/" + encode(instance) + "/files",
                                            Json{{"path", path},
                                                 {"mode", mode},
                                                 {"uid", file_uid.value_or(0)},
                                                 {"gid", file_gid.value_or(0)},
                                                 {"parents", file_parents}}));
            TRY(send_pushed_file(stream.fd.get(), std::move(stream.early_bytes),
                                 source ? source.get() : 0));
            return 0;
        }();
    } else if (*file_pull) {
        outcome = [&]() -> Result<int> {
            auto [instance, path] = TRY(split_instance_path(file_source));
            auto client = TRY(cli.connect());
            auto stream = TRY(client.stream(
                "GET", "/1.0/instances/" + encode(instance) + "/files?path=" + encode(path)));
            TRY(receive_pulled_file(stream.fd.get(), std::move(stream.early_bytes), file_target));
            return 0;
        }();
    } else if (*exec) {
        outcome = [&]() -> Result<int> {
            Json environment = Json::object();
            for (const auto& pair : exec_env) {
                auto eq = pair.find('=');
                if (eq == std::string::npos || eq == 0)
                    return fail("--env {}: expected KEY=VALUE", pair);
                environment[pair.substr(0, eq)] = pair.substr(eq + 1);
            }
            auto [rows, cols] = local_terminal_size();
            auto client = TRY(cli.connect());
            auto stream = TRY(client.stream("POST", "/1.0/instances/" + encode(name) + "/exec",
                                            Json{{"command", command},
                                                 {"environment", environment},
                                                 {"cwd", exec_cwd},
                                                 {"user", exec_user},
                                                 {"group", exec_group},
                                                 {"interactive", exec_tty},
                                                 {"width", cols},
                                                 {"height", rows}}));
            return run_exec_session(stream.fd.get(), std::move(stream.early_bytes),
                                    {.forward_stdin = forward_stdin || exec_tty, .tty = exec_tty});
        }();
    } else if (*info) {
        outcome = [&]() -> Result<int> {
            auto instance_json = TRY(cli.call("GET", "/1.0/instances/" + encode(name)));
            auto state_json = TRY(cli.call("GET", "/1.0/instances/" + encode(name) + "/state"));
            JsonAt instance(instance_json, "instance"), state(state_json, "state");
            std::printf("Name: %s\nType: %s\nStatus: %s\nImage: %s\n", name.c_str(),
                        TRY(text(instance, "type")).c_str(),
                        upper(TRY(text(state, "status"))).c_str(),
                        TRY(text(instance, "image")).substr(0, 12).c_str());
            if (auto pid = TRY(state.optional_integer_in<pid_t>("pid")))
                std::printf("PID: %d\n", *pid);
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
                TRY(cli.call("GET", "/1.0/instances/" + encode(name) + "/snapshots?recursion=1"));
            auto listed = TRY(items(snapshots, "snapshots"));
            if (!listed.empty()) {
                std::puts("Snapshots:");
                for (const auto& s : listed)
                    std::printf("  %s (taken at %s)\n", TRY(text(s, "name")).c_str(),
                                TRY(taken_at(s)).c_str());
            }
            return 0;
        }();
    } else if (*console && !show_log) {
        outcome = [&]() -> Result<int> {
            // The daemon hands out a unix socket of its own host to attach to.
            if (TRY(cli.remote_name()) != cli::Remotes::local)
                return fail_errno(ENOTSUP,
                                  "attaching to a console works on vesseld's own host "
                                  "only, for now; --show-log reads it from anywhere");
            auto where =
                TRY(cli.call("GET", "/1.0/instances/" + encode(name) + "/console?attach=1"));
            TRY(attach_console(TRY(text(JsonAt(where, "console"), "socket")), name));
            return 0;
        }();
    } else if (*console) {
        outcome = [&]() -> Result<int> {
            http::Connection connection(TRY(cli.connect_raw()));
            TRY(connection.write_request("GET", "/1.0/instances/" + encode(name) + "/console", ""));
            auto response = TRY(connection.read_response());
            if (response.status >= 400) {
                auto body = parse_json(response.body, "response");
                if (body && body->is_object() && (*body)["error"].is_string())
                    return fail("{}", (*body)["error"].get<std::string>());
                return fail("{}", response.body);
            }
            std::fwrite(response.body.data(), 1, response.body.size(), stdout);
            return 0;
        }();
    } else if (*config_set || *config_get || *config_unset) {
        outcome = [&]() -> Result<int> {
            bool setting = static_cast<bool>(*config_set);
            auto where = TRY(config_target(config_args, setting));
            std::string path =
                where.instance.empty() ? "/1.0" : "/1.0/instances/" + encode(where.instance);
            if (*config_get) {
                auto answer = TRY(cli.call("GET", path));
                for (const auto& [k, v] :
                     TRY(where.instance.empty() ? server_config(answer)
                                                : instance_config(JsonAt(answer, "instance"))))
                    if (k == where.words.at(0)) std::puts(v.c_str());
                return 0;
            }
            Json changes =
                setting ? TRY(parse_config_pairs(where.words)) : Json{{where.words.at(0), nullptr}};
            TRY(cli.call("PATCH", path, Json{{"config", changes}}));
            return 0;
        }();
    } else if (*config_show) {
        outcome = [&]() -> Result<int> {
            auto answer =
                TRY(cli.call("GET", name.empty() ? "/1.0" : "/1.0/instances/" + encode(name)));
            for (const auto& [k, v] :
                 TRY(name.empty() ? server_config(answer)
                                  : instance_config(JsonAt(answer, "instance"))))
                std::printf("%s: %s\n", k.c_str(), v.c_str());
            return 0;
        }();
    } else if (*trust_add) {
        outcome = done(cli::trust_add(cli, trust_name, trust_expiry));
    } else if (*trust_add_certificate) {
        outcome = done(cli::trust_add_certificate(cli, absolute(trust_file), trust_name));
    } else if (*trust_list) {
        outcome = done(cli::trust_list(cli, format));
    } else if (*trust_remove) {
        outcome = done(cli::trust_remove(cli, trust_fingerprint));
    } else if (*remote_add) {
        outcome = done(cli::remote_add(remote_name, remote_url, remote_token));
    } else if (*remote_list) {
        outcome = done(cli::remote_list(format));
    } else if (*remote_remove) {
        outcome = done(cli::remote_remove(remote_name));
    } else if (*remote_switch) {
        outcome = done(cli::remote_switch(remote_name));
    } else if (*copy) {
        outcome = [&]() -> Result<int> {
            TRY(cli.run_with_progress("copy", name, "POST", "/1.0/instances",
                                      Json{{"name", name},
                                           {"source",
                                            {{"type", "copy"},
                                             {"source", copy_source},
                                             {"instance_only", instance_only}}}}));
            return 0;
        }();
    } else if (*export_cmd) {
        outcome = [&]() -> Result<int> {
            TRY(cli.run_with_progress(
                "export", name, "POST", "/1.0/instances/" + encode(name) + "/export",
                Json{{"path", absolute(backup_file)}, {"instance_only", instance_only}}));
            return 0;
        }();
    } else if (*import_cmd) {
        outcome = [&]() -> Result<int> {
            Json body{{"source", {{"type", "backup"}, {"path", absolute(backup_file)}}}};
            if (!name.empty()) body["name"] = name;
            TRY(cli.run_with_progress("import", name, "POST", "/1.0/instances", body));
            return 0;
        }();
    } else if (*snapshot_create) {
        outcome = [&]() -> Result<int> {
            Json body = Json::object();
            if (!snapshot.empty()) body["name"] = snapshot;
            TRY(cli.run("POST", "/1.0/instances/" + encode(name) + "/snapshots", body));
            return 0;
        }();
    } else if (*snapshot_list) {
        outcome = [&]() -> Result<int> {
            auto snapshots =
                TRY(cli.call("GET", "/1.0/instances/" + encode(name) + "/snapshots?recursion=1"));
            std::vector<std::vector<std::string>> rows;
            for (const auto& s : TRY(items(snapshots, "snapshots")))
                rows.push_back({TRY(text(s, "name")), TRY(taken_at(s))});
            cli::print_listing(*cli::format_named(format), {"NAME", "TAKEN AT"}, rows, snapshots);
            return 0;
        }();
    } else if (*snapshot_restore) {
        outcome = [&]() -> Result<int> {
            TRY(cli.run("PUT", "/1.0/instances/" + encode(name), Json{{"restore", snapshot}}));
            return 0;
        }();
    } else if (*snapshot_delete) {
        outcome = [&]() -> Result<int> {
            TRY(cli.run("DELETE",
                        "/1.0/instances/" + encode(name) + "/snapshots/" + encode(snapshot)));
            return 0;
        }();
    } else if (*image_list) {
        outcome = [&]() -> Result<int> {
            auto images = TRY(cli.call("GET", "/1.0/images"));
            std::vector<std::vector<std::string>> rows;
            for (const auto& i : TRY(items(images, "images")))
                rows.push_back({fmt::format("{}", fmt::join(TRY(texts(i, "aliases")), ", ")),
                                TRY(text(i, "fingerprint")).substr(0, 12),
                                upper(TRY(text(i, "type"))), TRY(text(i, "description"))});
            cli::print_listing(*cli::format_named(format),
                               {"ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"}, rows, images);
            return 0;
        }();
    } else if (*image_import) {
        outcome = [&]() -> Result<int> {
            Json body = {{"alias", alias}};
            if (vm) {
                if (kernel.empty()) return fail("image import --vm needs --kernel");
                body["type"] = "vm";
                body["kernel"] = absolute(kernel);
                if (!initrd.empty()) body["initrd"] = absolute(initrd);
                if (!disk.empty()) body["disk"] = absolute(disk);
                if (agent) body["agent"] = true;
                if (!append.empty()) body["append"] = append;
            } else {
                if (tarball.empty()) return fail("image import needs a rootfs tarball");
                body["type"] = "container";
                body["source"] = absolute(tarball);
            }
            auto image = TRY(cli.call("POST", "/1.0/images", body));
            std::printf("Image imported with fingerprint: %s\n",
                        TRY(text(JsonAt(image, "image"), "fingerprint")).c_str());
            return 0;
        }();
    } else if (*network_list) {
        outcome = [&]() -> Result<int> {
            auto networks = TRY(cli.call("GET", "/1.0/networks"));
            std::vector<std::vector<std::string>> rows;
            for (const auto& n : TRY(items(networks, "networks"))) {
                auto leases = n.optional_child("leases");
                size_t count = leases ? TRY(leases->array()).size() : 0;
                rows.push_back({TRY(text(n, "name")), upper(TRY(text(n, "type"))),
                                TRY(text(n, "gateway")) + "/24", upper(TRY(text(n, "state"))),
                                std::to_string(count)});
            }
            cli::print_listing(*cli::format_named(format),
                               {"NAME", "TYPE", "IPV4", "STATE", "LEASES"}, rows, networks);
            return 0;
        }();
    } else if (*network_delete) {
        outcome = [&]() -> Result<int> {
            TRY(cli.call("DELETE", "/1.0/networks/" + encode(name)));
            return 0;
        }();
    } else if (*image_build) {
        outcome = [&]() -> Result<int> {
            std::string name = alias.empty() ? distribution : alias;
            // Progress comes as events on a connection of its own, subscribed before the build
            // starts.
            auto watch = TRY(cli::EventWatch::start(TRY(cli.connect()), [name](const Json& event) {
                JsonAt at(event, "event");
                auto metadata = at.optional_child("metadata");
                if (text(at, "type").value_or("") == "progress" && metadata &&
                    text(*metadata, "image").value_or("") == name)
                    std::printf("%s\n", text(*metadata, "message").value_or("").c_str());
                std::fflush(stdout);
            }));
            Json body{{"type", "build"}, {"distribution", distribution}, {"alias", alias}};
            if (vm) body["vm"] = true;
            if (!architecture.empty()) body["architecture"] = architecture;
            // Its last progress lines may still be on their way when the build's reply comes.
            watch->wait_for_end_of(TRY(cli.run("POST", "/1.0/images", body)));
            std::printf("Image %s built\n", name.c_str());
            return 0;
        }();
    } else if (*image_delete) {
        outcome = [&]() -> Result<int> {
            TRY(cli.call("DELETE", "/1.0/images/" + encode(name)));
            return 0;
        }();
    }
    if (!outcome) {
        std::fprintf(stderr, "vessel: %s\n", outcome.error().message().c_str());
        return 1;
    }
    return *outcome;
}
