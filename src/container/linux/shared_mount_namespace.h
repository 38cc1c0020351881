// A container without a mount namespace of its own shares the runtime's (runtime-spec: a namespace
// type not listed is inherited). Its mounts are then made where the host sees them, so the runtime
// first binds root.path onto itself as a private mount: everything the init mounts below it stays
// out of the host's peer groups, and one lazy unmount of that bind removes all of it at delete.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace vessel::container::sys {

// Binds `rootfs` onto itself, private and recursive; returns the new mount's id.
Result<uint64_t> bind_rootfs_privately(const std::string& rootfs);

// Detaches the bind (and every mount below it) if the topmost mount at `rootfs` is still the one
// with `mount_id`: a mount stacked there by someone else since is left alone, and so is a bind
// that is already gone.
Result<> detach_rootfs_bind(const std::string& rootfs, uint64_t mount_id);

}  // namespace vessel::container::sys
