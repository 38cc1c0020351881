// Plugging a container into the managed bridge: `vesseld net-attach`, run by the OCI runtime as
// the container's createRuntime hook (its network namespace exists, its program has not started;
// the OCI state with the init's pid comes on stdin). The veth's container end is eth0, with the
// instance's fixed MAC so its DHCP lease is found again; the host end joins the bridge. When the
// container's network namespace goes, the kernel removes both ends.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace vessel::manager {

struct NetAttachment {
    std::string bridge;
    std::string host_interface;
    std::string mac;
};

Result<> attach_container(const NetAttachment& attachment, pid_t init_pid);

// The hook's command line (after "vesseld"), for the container's config.json.
std::vector<std::string> net_attach_arguments(const NetAttachment& attachment);

// `vesseld net-attach --bridge B --host-interface H --mac M` with the OCI state on stdin.
int run_net_attach(int argc, char** argv);

}  // namespace vessel::manager
