// Instance names are DNS labels (they become hostnames and cgroup/directory names), and a mistyped
// name gets "did you mean" suggestions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel::manager {

// 1-63 characters of [a-z0-9-], starting with a letter, not ending with '-'.
Result<> validate_instance_name(std::string_view name);
// The same rules: a snapshot's name is a directory name under its instance's and a path segment of
// the API (/1.0/instances/NAME/snapshots/SNAP).
Result<> validate_snapshot_name(std::string_view name);

size_t edit_distance(std::string_view a, std::string_view b);

// The known names within a small edit distance of `wanted`, closest first.
std::vector<std::string> close_names(std::string_view wanted,
                                     const std::vector<std::string>& known);

// "instance NAME not found" plus " (did you mean c1, c2?)" when some are close.
std::string not_found_message(std::string_view kind, std::string_view wanted,
                              const std::vector<std::string>& known);

}  // namespace vessel::manager
