// Translation of OCI mount options ("ro", "rbind", "rslave", "mode=755") into mount(2) flags,
// propagation and filesystem data.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::spec {

// Fills mount.bind/recursive/flags/propagation/data from mount.type and mount.options. `path` is
// the mount's JSON path ("mounts[3]") for errors.
Result<> apply_mount_options(Mount& mount, const std::string& path);

// "rslave" -> MS_SLAVE|MS_REC; 0 for a name that is not a propagation.
unsigned long propagation_flags(const std::string& name);

}  // namespace vessel::container::spec
