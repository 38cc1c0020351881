// vessel-slirp: the user-mode network of one VM (libslirp), in a process of its own. vessel-vmm
// starts it with one end of a SOCK_SEQPACKET pair on --fd; see src/vm/backends/user_network.h.
#include <sys/prctl.h>
#include <sys/socket.h>

#include <csignal>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "vm/backends/slirp.h"
#include "vm/backends/user_network.h"

int main(int argc, char** argv) {
    CLI::App app{"vessel-slirp: the user-mode network of a vessel-vmm VM"};
    int fd = -1;
    std::vector<std::string> forwards;
    app.add_option("--fd", fd, "the frame socket")->required();
    app.add_option("--hostfwd", forwards, "tcp:HOSTPORT-GUESTPORT (the host side on 127.0.0.1)");
    CLI11_PARSE(app, argc, argv);
    // The VMM's end closing ends this process; a dead VMM must not leave it serving forwards.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::signal(SIGPIPE, SIG_IGN);
    auto report = [fd](const std::string& message) {
        ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
    };
    std::vector<vessel::vm::PortForward> rules;
    for (const auto& text : forwards) {
        auto parsed = vessel::vm::parse_hostfwd(text);
        if (!parsed) {
            report("error: vessel-slirp: " + parsed.error().message());
            return 1;
        }
        rules.push_back(*parsed);
    }
    vessel::Logger log;
    bool announced = false;
    auto ran = vessel::vm::run_slirp(fd, rules, log, [&] {
        report(vessel::vm::kUserNetworkReady);
        announced = true;
    });
    if (!ran) {
        if (!announced) report("error: " + ran.error().message());
        log.error("{}", ran.error().message());
        return 1;
    }
    return 0;
}
