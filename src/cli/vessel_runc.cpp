// vessel-runc: the OCI runtime command line, compatible with runc's so that it can stand in for it
// (containerd, Podman). A thin layer: parse flags, call container::runtime::Runtime, print one
// line on error.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "base/file.h"
#include "base/log.h"
#include "cli/runc_control.h"
#include "container/runtime/features.h"
#include "container/runtime/runtime.h"
#include "container/runtime/signals.h"
#include "container/spec/default_spec.h"

namespace {

using namespace vessel;
using container::runtime::Runtime;

// As runc: root keeps state under /run; any other user in their runtime directory, or failing
// that a directory of their own under /tmp.
std::string default_state_root() {
    if (::geteuid() == 0) return "/run/vessel-runc";
    const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
    if (runtime_dir && runtime_dir[0] == '/') return std::string(runtime_dir) + "/vessel-runc";
    return fmt::format("/tmp/vessel-runc-{}", ::geteuid());
}

struct Globals {
    std::string root = default_state_root();
    std::string log_path;
    std::string log_format = "text";
    bool debug = false;
    bool systemd_cgroup = false;
    std::string rootless = "auto";
};

struct Arguments {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool detach = false;
    bool force = false;
    bool all = false;
    std::string signal = "SIGTERM";
    std::string format = "table";
    bool quiet = false;
    bool rootless_spec = false;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
};

Result<> write_spec(const Arguments& args) {
    std::string path = args.bundle + "/config.json";
    if (path_exists(path)) return fail("{} already exists; remove it first", path);
    Json spec = args.rootless_spec ? container::spec::rootless_spec(::geteuid(), ::getegid())
                                   : container::spec::default_spec();
    return write_file_atomic(path, spec.dump(4) + "\n", 0644);
}

void print_list(const std::vector<container::runtime::ContainerSummary>& containers,
                const Arguments& args) {
    if (args.quiet) {
        for (const auto& c : containers)
            std::printf("%s\n", c.state.id.c_str());
        return;
    }
    if (args.format == "json") {
        Json list = Json::array();
        for (const auto& c : containers)
            list.push_back(c.state.oci_state(c.status));
        std::printf("%s\n", list.dump().c_str());
        return;
    }
    size_t width = 2;
    for (const auto& c : containers)
        width = std::max(width, c.state.id.size());
    std::printf("%-*s   %-7s   %-7s   %-40s   %-30s   %s\n", static_cast<int>(width), "ID", "PID",
                "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (const auto& c : containers) {
        bool alive = c.status != container::runtime::Status::stopped;
        std::printf("%-*s   %-7d   %-7s   %-40s   %-30s   %s\n", static_cast<int>(width),
                    c.state.id.c_str(), alive ? c.state.pid : 0,
                    container::runtime::status_name(c.status), c.state.bundle.c_str(),
                    c.state.created.c_str(), c.state.owner.c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    Globals globals;
    Arguments args;
    CLI::App app{"vessel-runc: an OCI container runtime (runc-compatible command line)",
                 "vessel-runc"};
    app.require_subcommand(1);
    app.add_option("--root", globals.root,
                   "directory for container state (default /run/vessel-runc; for other users "
                   "$XDG_RUNTIME_DIR/vessel-runc)");
    app.add_option("--log", globals.log_path, "log file (default: standard error)");
    app.add_option("--log-format", globals.log_format, "log format: text or json");
    app.add_flag("--debug", globals.debug, "log debug messages");
    app.add_flag(
        "--systemd-cgroup", globals.systemd_cgroup,
        "create containers' cgroups as systemd units (linux.cgroupsPath \"slice:prefix:name\")");
    app.add_option("--rootless", globals.rootless, "accepted for runc compatibility (auto)");

    auto* spec_cmd = app.add_subcommand("spec", "write a default config.json into the bundle");
    spec_cmd->add_option("-b,--bundle", args.bundle, "bundle directory");
    spec_cmd->add_flag("--rootless", args.rootless_spec, "a spec an unprivileged user can run");

    auto add_create_flags = [&](CLI::App* command) {
        command->add_option("id", args.id, "container id")->required();
        command->add_option("-b,--bundle", args.bundle,
                            "bundle directory (default: current directory)");
        command->add_option("--pid-file", args.pid_file, "file to write the container's pid to");
        command->add_option("--console-socket", args.console_socket,
                            "unix socket to send the pty master to (process.terminal)");
        command->add_flag("--no-pivot", args.no_pivot, "not supported: pivot_root is always used");
        command->add_flag("--no-new-keyring", args.no_new_keyring, "keep the session keyring");
        command->add_option("--preserve-fds", args.preserve_fds,
                            "pass descriptors 3 to 3+N-1 on to the container's process");
    };
    auto* create_cmd =
        app.add_subcommand("create", "create a container, stopped before its program runs");
    add_create_flags(create_cmd);
    auto* run_cmd =
        app.add_subcommand("run", "create and start a container, wait for it, delete it");
    add_create_flags(run_cmd);
    run_cmd->add_flag("-d,--detach", args.detach, "do not wait for the container");
    auto* start_cmd = app.add_subcommand("start", "start a created container");
    start_cmd->add_option("id", args.id, "container id")->required();
    auto* state_cmd = app.add_subcommand("state", "print a container's OCI state");
    state_cmd->add_option("id", args.id, "container id")->required();
    auto* kill_cmd = app.add_subcommand("kill", "send a signal to a container's init");
    kill_cmd->add_option("id", args.id, "container id")->required();
    kill_cmd->add_option("signal", args.signal, "signal name or number (default SIGTERM)");
    kill_cmd->add_flag("-a,--all", args.all, "signal every process of the container");
    auto* delete_cmd = app.add_subcommand("delete", "delete a stopped container");
    delete_cmd->add_option("id", args.id, "container id")->required();
    delete_cmd->add_flag("-f,--force", args.force, "kill a running container first");
    auto* list_cmd = app.add_subcommand("list", "list containers");
    list_cmd->add_option("-f,--format", args.format, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
    list_cmd->add_flag("-q,--quiet", args.quiet, "only ids");
    auto* features_cmd = app.add_subcommand("features", "print the OCI features document");
    vessel::cli::ControlCommands control;
    vessel::cli::add_control_commands(app, control);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& help) {
        return app.exit(help);
    } catch (const CLI::CallForAllHelp& help) {
        return app.exit(help);
    } catch (const CLI::ParseError& error) {
        std::fprintf(stderr, "vessel-runc: %s\n", error.what());
        return 1;
    }

    // Before this process opens anything of its own (the --log file): a descriptor it opened
    // could take a number the caller left free and pass for one of the caller's.
    const int preserve_fds = control.exec->parsed() ? control.exec_options.preserve_fds
                             : (create_cmd->parsed() || run_cmd->parsed()) ? args.preserve_fds
                                                                           : 0;
    if (preserve_fds != 0) {
        if (preserve_fds < 0 || preserve_fds > 65536) {
            std::fprintf(stderr, "vessel-runc: --preserve-fds: %d is not a descriptor count\n",
                         preserve_fds);
            return 1;
        }
        for (int fd = 3; fd < 3 + preserve_fds; ++fd)
            if (::fcntl(fd, F_GETFD) == -1) {
                std::fprintf(stderr, "vessel-runc: --preserve-fds %d: descriptor %d is not open\n",
                             preserve_fds, fd);
                return 1;
            }
    }
    auto format = parse_log_format(globals.log_format);
    if (!format) {
        std::fprintf(stderr, "vessel-runc: --log-format: %s\n", format.error().message().c_str());
        return 1;
    }
    LogLevel threshold = globals.debug ? LogLevel::debug : LogLevel::warning;
    std::optional<Logger> log;
    if (!globals.log_path.empty()) {
        auto opened = Logger::to_file(globals.log_path, *format, threshold);
        if (!opened) {
            std::fprintf(stderr, "vessel-runc: --log: %s\n", opened.error().message().c_str());
            return 1;
        }
        log.emplace(std::move(*opened));
    } else {
        log.emplace(Logger::borrowing(2, *format, threshold));
    }
    bool log_is_stderr = globals.log_path.empty();
    auto failed = [&](const Error& error) {
        std::string message = single_line(error.message());
        std::fprintf(stderr, "vessel-runc: %s\n", message.c_str());
        if (!log_is_stderr) log->error("{}", message);
        return 1;
    };

    Runtime runtime(globals.root, *log);
    container::runtime::CreateOptions create_options{.id = args.id,
                                                     .bundle = args.bundle,
                                                     .pid_file = args.pid_file,
                                                     .console_socket = args.console_socket,
                                                     .detach = args.detach,
                                                     .preserve_fds = args.preserve_fds,
                                                     .systemd_cgroup = globals.systemd_cgroup};
    if ((create_cmd->parsed() || run_cmd->parsed())) {
        if (args.no_pivot)
            return failed(Error("--no-pivot: not supported; the rootfs is always pivoted"));
    }

    if (auto outcome = vessel::cli::run_control_command(control, runtime)) {
        if (!*outcome) return failed(outcome->error());
        return **outcome;
    } else if (spec_cmd->parsed()) {
        if (auto written = write_spec(args); !written) return failed(written.error());
    } else if (create_cmd->parsed()) {
        if (auto created = runtime.create(create_options); !created) return failed(created.error());
    } else if (run_cmd->parsed()) {
        auto status = runtime.run(create_options, args.detach);
        if (!status) return failed(status.error());
        return *status;
    } else if (start_cmd->parsed()) {
        if (auto started = runtime.start(args.id); !started) return failed(started.error());
    } else if (state_cmd->parsed()) {
        auto state = runtime.state(args.id);
        if (!state) return failed(state.error());
        std::printf("%s\n", state->dump(4).c_str());
    } else if (kill_cmd->parsed()) {
        auto signal = container::runtime::parse_signal(args.signal);
        if (!signal) return failed(signal.error());
        if (auto killed = runtime.kill(args.id, *signal, args.all); !killed)
            return failed(killed.error());
    } else if (delete_cmd->parsed()) {
        if (auto removed = runtime.remove(args.id, args.force); !removed)
            return failed(removed.error());
    } else if (list_cmd->parsed()) {
        auto containers = runtime.list();
        if (!containers) return failed(containers.error());
        print_list(*containers, args);
    } else if (features_cmd->parsed()) {
        std::printf("%s\n", container::runtime::features().dump(4).c_str());
    }
    return 0;
}
