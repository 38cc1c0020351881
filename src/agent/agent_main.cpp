// vessel-agent: the in-guest agent of Vessel VMs. Started at boot, it serves the host over
// AF_VSOCK port 7700 (docs/agent-protocol.md); `--listen unix:PATH` serves a unix socket instead,
// for tests on the host, where shutdown only says what it would do. `--end poweroff|reboot` brings
// the guest down at once the way the host's shutdown does: for a guest init's own reboot and
// poweroff commands.
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/grow_root.h"
#include "agent/power.h"
#include "agent/protocol.h"
#include "agent/reply.h"
#include "agent/server.h"
#include "base/file.h"

namespace {

using namespace std::chrono_literals;
using namespace vessel;
using namespace vessel::agent;

constexpr std::string_view usage =
    "usage: vessel-agent [--listen vsock|unix:PATH] [--port N]\n"
    "       vessel-agent --end poweroff|reboot\n";

struct Options {
    std::string listen = "vsock";
    uint32_t port = agent_port;
    std::optional<PowerAction> end;
};

Result<Options> parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view value;
        auto take = [&](std::string_view name) -> Result<bool> {
            if (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=') {
                value = arg.substr(name.size() + 1);
                return true;
            }
            if (arg != name) return false;
            if (i + 1 >= argc) return fail("{} needs a value", name);
            value = argv[++i];
            return true;
        };
        if (TRY(take("--listen"))) {
            if (value != "vsock" && !(value.starts_with("unix:") && value.size() > 5))
                return fail("--listen {}: must be vsock or unix:PATH", value);
            options.listen = value;
        } else if (TRY(take("--end"))) {
            if (value == "poweroff")
                options.end = PowerAction::poweroff;
            else if (value == "reboot")
                options.end = PowerAction::reboot;
            else
                return fail("--end {}: must be poweroff or reboot", value);
        } else if (TRY(take("--port"))) {
            auto [end, error] =
                std::from_chars(value.data(), value.data() + value.size(), options.port);
            if (error != std::errc() || end != value.data() + value.size())
                return fail("--port {}: must be a number from 0 to 4294967295", value);
        } else {
            return fail("unknown argument \"{}\"", arg);
        }
    }
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        (void)write_all(1, usage);
        return 0;
    }
    auto options = parse_options(argc, argv);
    if (!options) {
        log_failure(options.error().message());
        (void)write_all(2, usage);
        return 2;
    }
    if (options->end) {
        // The real sequence ends every other process on the machine: only a guest's init, which
        // execs the agent for it, may ask (never a program run by hand on a host).
        if (::getpid() != 1) {
            log_failure("--end is for the guest's init (pid 1) only");
            return 2;
        }
        GuestPower().shut_down(*options->end);
        return 1;
    }
    // A host that goes away mid-write must be an EPIPE error on that connection, not our death.
    ::signal(SIGPIPE, SIG_IGN);

    bool vsock = options->listen == "vsock";
    // Only in a guest (vsock): a host test's agent must never touch the host's root. Before
    // listening, so that a VM counts as started only once its root filled a disk the host grew.
    if (vsock) grow_root_at_boot();
    auto listener =
        vsock ? listen_vsock(options->port, 30s) : listen_unix(options->listen.substr(5));
    if (!listener) {
        log_failure(listener.error().message());
        return 1;
    }
    GuestPower guest_power;
    PretendPower pretend_power;
    PowerActions& power = vsock ? static_cast<PowerActions&>(guest_power) : pretend_power;
    auto served = serve(listener->get(), power);
    log_failure(served.error().message());
    return 1;
}
