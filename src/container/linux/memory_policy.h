// linux.memoryPolicy: the NUMA memory policy of the container's process, set by its init before
// exec (the policy is inherited across fork and kept across execve).
#pragma once

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

Result<> set_memory_policy(const spec::Linux& config);

}  // namespace vessel::container::sys
