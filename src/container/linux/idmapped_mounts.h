// Idmapped bind mounts (mounts[] with "idmap"/"ridmap" or their own uidMappings/gidMappings).
// The kernel lets only a process privileged over the source's filesystem, in the host's user
// namespace, set a mount's idmapping: so the runtime makes them before clone, as detached mounts,
// and the container's init (which inherits the descriptors) attaches them in its rootfs.
#pragma once

#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

// One entry per spec.mounts[i]: a detached, idmapped mount of its source, or an invalid
// descriptor for a mount that is not idmapped. Errors name mounts[i].
Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const spec::Spec& spec,
                                                      const std::string& bundle);

}  // namespace vessel::container::sys
