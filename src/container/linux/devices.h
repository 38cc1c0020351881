// Device nodes in the container's /dev: the default set every container gets (null, zero, full,
// random, urandom, tty, the standard symlinks) and linux.devices.
#pragma once

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

// `rootfs_fd`: O_PATH descriptor of the rootfs. `dev_is_fresh`: /dev is a filesystem the config
// mounted (tmpfs), so it gets the default nodes; otherwise only linux.devices are made.
Result<> create_devices(int rootfs_fd, const spec::Spec& spec, bool dev_is_fresh);

}  // namespace vessel::container::sys
