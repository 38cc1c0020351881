// User namespaces from the runtime's side: writing a new namespace's id maps (directly as root or
// for the caller's own ids, through the setuid newuidmap/newgidmap otherwise), and standalone
// namespaces that carry a mapping for idmapped mounts.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

// Writes the uid and gid maps of `pid`'s (new, still unmapped) user namespace. Errors name
// linux.uidMappings / linux.gidMappings.
Result<> write_id_maps(pid_t pid, const std::vector<spec::IdMapping>& uid_mappings,
                       const std::vector<spec::IdMapping>& gid_mappings);

// A user namespace with the given maps and no process in it, for mount_setattr(MOUNT_ATTR_IDMAP).
// Needs root.
Result<UniqueFd> make_mapped_user_namespace(const std::vector<spec::IdMapping>& uid_mappings,
                                            const std::vector<spec::IdMapping>& gid_mappings);

// In the init of a new user namespace once its maps are written: become its root (uid and gid 0),
// the identity the rootfs is built with, as runc's init does. Like any change of credentials this
// clears the parent-death signal.
Result<> become_namespace_root();

}  // namespace vessel::container::sys
