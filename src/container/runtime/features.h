// The OCI "features" document (runtime-spec features.md): what this build of the runtime really
// implements, so that engines do not ask for the rest.
#pragma once

#include "base/json.h"

namespace vessel::container::runtime {

Json features();

}  // namespace vessel::container::runtime
