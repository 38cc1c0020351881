// The config.json that `vessel-runc spec` writes: the same shape as `runc spec`'s, with the default
// capabilities, seccomp profile, masked and read-only paths.
#pragma once

#include <sys/types.h>

#include "base/json.h"

namespace vessel::container::spec {

Json default_spec();

// `spec --rootless`: the default spec made runnable by an unprivileged user whose ids are
// uid/gid: a user namespace mapping container root to them, the host's network and /sys (a
// sysfs mount needs a network namespace of one's own), no cgroup mount or resource limits, and a
// devpts without the gid=5 that is not mapped.
Json rootless_spec(uid_t uid, gid_t gid);

}  // namespace vessel::container::spec
