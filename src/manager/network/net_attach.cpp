#include "manager/network/net_attach.h"

#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "base/file.h"
#include "base/json.h"
#include "base/process.h"

namespace vessel::manager {

namespace {

// ip and nsenter, whose output is not needed.
Result<> run_ip(const std::vector<std::string>& argv) {
    TRY(run_checked(argv, std::chrono::seconds(30)));
    return {};
}

Result<std::string> read_all_stdin() {
    std::string text;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(0, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("read the OCI state from stdin");
        if (got == 0) return text;
        text.append(buffer, static_cast<size_t>(got));
    }
}

}  // namespace

Result<> attach_container(const NetAttachment& attachment, pid_t init_pid) {
    const std::string& host = attachment.host_interface;
    // A leftover of the same instance (its namespace outlived a crash) would block the name.
    if (path_exists("/sys/class/net/" + host)) TRY(run_ip({"ip", "link", "del", host}));
    TRY(run_ip({"ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "address",
                attachment.mac, "netns", std::to_string(init_pid)}));
    auto plugged = [&]() -> Result<> {
        TRY(run_ip({"ip", "link", "set", host, "master", attachment.bridge, "up"}));
        std::string netns = fmt::format("--net=/proc/{}/ns/net", init_pid);
        TRY(run_ip({"nsenter", netns, "ip", "link", "set", "lo", "up"}));
        TRY(run_ip({"nsenter", netns, "ip", "link", "set", "eth0", "up"}));
        return {};
    };
    if (auto done = plugged(); !done) {
        (void)run_ip({"ip", "link", "del", host});
        return std::unexpected(done.error());
    }
    return {};
}

std::vector<std::string> net_attach_arguments(const NetAttachment& attachment) {
    return {"net-attach",
            "--bridge",
            attachment.bridge,
            "--host-interface",
            attachment.host_interface,
            "--mac",
            attachment.mac};
}

int run_net_attach(int argc, char** argv) {
    NetAttachment attachment;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string_view flag = argv[i];
        std::string value = argv[i + 1];
        if (flag == "--bridge")
            attachment.bridge = value;
        else if (flag == "--host-interface")
            attachment.host_interface = value;
        else if (flag == "--mac")
            attachment.mac = value;
    }
    auto attach = [&]() -> Result<> {
        if (attachment.bridge.empty() || attachment.host_interface.empty() ||
            attachment.mac.empty())
            return fail("usage: vesseld net-attach --bridge B --host-interface H --mac M");
        auto state = TRY(parse_json(TRY(read_all_stdin()), "the OCI state on stdin"));
        auto pid = TRY(JsonAt(state, "state").child("pid"));
        return attach_container(attachment, static_cast<pid_t>(TRY(pid.integer())));
    };
    if (auto attached = attach(); !attached) {
        std::fprintf(stderr, "vesseld net-attach: %s\n", attached.error().message().c_str());
        return 1;
    }
    return 0;
}

}  // namespace vessel::manager
