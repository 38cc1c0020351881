// Lists of CPUs or NUMA nodes as the kernel writes them ("0-3,7"): the spec checks them, the
// process set-up turns them into masks.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace vessel::container::spec {

// The most NUMA nodes a memory policy may name (the kernel's largest MAX_NUMNODES).
inline constexpr unsigned kMaxNumaNodes = 1024;

// The inclusive ranges of `list`, each number below `limit`. The error says what is wrong
// without naming the field ("must be a list ..." or "N is beyond LIMIT").
Result<std::vector<std::pair<unsigned, unsigned>>> parse_number_list(std::string_view list,
                                                                     unsigned limit);

}  // namespace vessel::container::spec
