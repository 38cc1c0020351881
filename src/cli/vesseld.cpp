// vesseld: the manager daemon. Serves the REST API on a unix socket until SIGINT/SIGTERM.
// `vesseld monitor PLAN --ready-fd=N` is the per-instance monitor (internal).
#include <signal.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <climits>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "base/file.h"
#include "base/log.h"
#include "manager/api/handlers.h"
#include "manager/api/server.h"
#include "manager/instance/monitor.h"
#include "manager/manager.h"
#include "manager/network/net_attach.h"
#include "manager/tls/https_listener.h"

namespace {

using namespace vessel;
using namespace vessel::manager;

std::string own_path() {
    char buffer[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (n <= 0) return "vesseld";
    return std::string(buffer, static_cast<size_t>(n));
}

int serve(const std::string& socket_path, ManagerOptions options, const std::string& ui_directory,
          bool debug) {
    Logger logger;
    logger.set_threshold(debug ? LogLevel::debug : LogLevel::info);
    // SIGINT/SIGTERM are taken by a waiting thread (blocked everywhere else, so that children
    // inherit a clean mask through spawn, which resets it).
    sigset_t stop_signals;
    ::sigemptyset(&stop_signals);
    ::sigaddset(&stop_signals, SIGINT);
    ::sigaddset(&stop_signals, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    auto slash = socket_path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
        if (auto made = make_directories(socket_path.substr(0, slash), 0755); !made) {
            std::fprintf(stderr, "vesseld: %s\n", made.error().message().c_str());
            return 1;
        }
    }
    auto manager = Manager::open(std::move(options), logger);
    if (!manager) {
        std::fprintf(stderr, "vesseld: %s\n", manager.error().message().c_str());
        return 1;
    }
    api::RequestMetrics request_metrics;
    auto router = make_api_router(**manager, request_metrics);
    auto handler = make_api_handler(router, **manager, request_metrics, ui_directory);
    auto server = http::Server::listen({.socket_path = socket_path}, handler);
    if (!server) {
        std::fprintf(stderr, "vesseld: %s\n", server.error().message().c_str());
        return 1;
    }
    // The HTTPS listener follows core.https_address, at start and on every change.
    std::mutex https_mutex;
    std::unique_ptr<tls::HttpsListener> https;
    bool shutting_down = false;
    auto follow = [&](const std::map<std::string, std::string>& config) -> Result<> {
        std::lock_guard lock(https_mutex);
        if (shutting_down) return fail("vesseld is shutting down");
        auto wanted =
            config.contains("core.https_address") ? config.at("core.https_address") : std::string();
        if (https && https->address() == wanted) return {};
        std::string previous = https ? https->address() : std::string();
        // The old listener goes first: the new address may share its port.
        https.reset();
        if (wanted.empty()) {
            if (!previous.empty()) logger.info("stopped listening on https://{}", previous);
            return {};
        }
        auto started = tls::HttpsListener::start(
            {.address = wanted, .certificate = (*manager)->server_certificate()}, **server);
        if (!started) {
            if (!previous.empty())
                if (auto again = tls::HttpsListener::start(
                        {.address = previous, .certificate = (*manager)->server_certificate()},
                        **server))
                    https = std::move(*again);
            Result<> failed = std::unexpected(started.error());
            return with_context(std::move(failed), fmt::format("core.https_address {}", wanted));
        }
        https = std::move(*started);
        logger.info("listening on https://{} (port {}), certificate fingerprint {}", wanted,
                    https->port(), (*manager)->server_fingerprint());
        return {};
    };
    if (auto followed = (*manager)->follow_server_config(follow); !followed)
        logger.warning("no HTTPS listener: {}", followed.error().message());
    std::thread signals([&] {
        int received = 0;
        ::sigwait(&stop_signals, &received);
        logger.info("signal {}: shutting down (instances keep running)", received);
        (*server)->stop();
    });
    logger.info("listening on {}", socket_path);
    auto served = (*server)->serve();
    if (signals.joinable()) {
        // serve() also ends on error: wake the signal thread so that it can be joined.
        ::kill(::getpid(), SIGTERM);
        signals.join();
    }
    {
        std::lock_guard lock(https_mutex);
        shutting_down = true;
        https.reset();
    }
    server->reset();
    manager->reset();
    if (!served) {
        std::fprintf(stderr, "vesseld: %s\n", served.error().message().c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::string_view(argv[1]) == "net-attach")
        return vessel::manager::run_net_attach(argc, argv);
    if (argc >= 3 && std::string_view(argv[1]) == "monitor") {
        int ready_fd = -1, lock_fd = -1;
        for (int i = 3; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (arg.starts_with("--ready-fd=")) ready_fd = std::atoi(argv[i] + 11);
            if (arg.starts_with("--lock-fd=")) lock_fd = std::atoi(argv[i] + 10);
        }
        return vessel::manager::run_monitor(argv[2], ready_fd, lock_fd);
    }

    CLI::App app{"vesseld: the Vessel manager daemon (REST API on a unix socket)"};
    std::string socket_path = "/run/vessel/vessel.sock";
    vessel::manager::ManagerOptions options;
    // The runtime and the VMM installed beside vesseld (the build tree keeps them together too).
    std::string own_directory = own_path().substr(0, own_path().rfind('/'));
    for (auto [option, name] :
         {std::pair{&options.runtime, "vessel-runc"}, std::pair{&options.vmm_binary, "vessel-vmm"}})
        *option = ::access((own_directory + "/" + name).c_str(), X_OK) == 0
                      ? own_directory + "/" + name
                      : std::string(name);
    // The agent baked into VM images of this host's architecture: beside vesseld when installed,
    // in src/agent/ of the build tree.
    for (const auto& candidate :
         {own_directory + "/vessel-agent", own_directory + "/../agent/vessel-agent"})
        if (::access(candidate.c_str(), X_OK) == 0) {
            options.agent_binary = candidate;
            break;
        }
    bool debug = false;
    // The web UI's files: beside vesseld (the build tree puts them there too).
    std::string ui_directory = own_directory + "/ui";
    app.add_option("--ui-dir", ui_directory, "the web UI's files, served at /ui/");
    app.add_option("--socket", socket_path, "unix socket of the API (mode 0600)")
        ->envname("VESSEL_SOCKET");
    app.add_option("--state-dir", options.state_dir, "database, images and instances");
    app.add_option("--runtime", options.runtime,
                   "runc-compatible OCI runtime for containers (default: vessel-runc beside "
                   "vesseld)");
    app.add_option("--vmm", options.vmm_binary,
                   "vessel-vmm binary for VMs (default: beside vesseld)");
    bool no_vmm_jail = false;
    app.add_flag("--no-vmm-jail", no_vmm_jail,
                 "run VMMs unjailed, as root with every capability (for debugging vessel-vmm "
                 "with gdb or strace only)");
    app.add_option("--bridge", options.bridge,
                   "managed bridge for containers (NAT, DHCP); empty: no network");
    app.add_option("--bridge-address", options.bridge_gateway,
                   "the bridge's IPv4 address, x.y.z.1; containers get x.y.z.2-254");
    app.add_option("--image-cache", options.image_cache,
                   "where `vessel image build` keeps the root filesystems it built");
    app.add_option("--agent", options.agent_binary,
                   "static vessel-agent that `vessel image build --vm` bakes into this host's "
                   "architecture's VM images (default: beside vesseld)");
    app.add_option("--guest-cache", options.guest_cache,
                   "where `make guest` left the riscv64/busybox kernel and root disk");
    app.add_option("--cgroup-parent", options.cgroup_parent,
                   "cgroup under which containers are placed");
    app.add_option("--busybox", options.busybox, "static busybox for the built-in image");
    app.add_flag("--debug", debug, "log debug messages");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    options.monitor_binary = own_path();
    options.vmm_jail = !no_vmm_jail;
    return serve(socket_path, std::move(options), ui_directory, debug);
}
