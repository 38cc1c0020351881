// The config.json that `vessel-runc spec` writes: the same shape as `runc spec`'s, restricted to
// what Vessel applies today (no terminal, no capabilities list until the security module lands).
#pragma once

#include "base/json.h"

namespace vessel::container::spec {

Json default_spec();

}  // namespace vessel::container::spec
