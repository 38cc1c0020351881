// Signal names as runc accepts them: "KILL", "SIGKILL", "kill" or "9".
#pragma once

#include <string_view>

#include "base/error.h"

namespace vessel::container::runtime {

Result<int> parse_signal(std::string_view text);

}  // namespace vessel::container::runtime
