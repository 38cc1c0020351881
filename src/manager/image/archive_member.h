// The names inside archives vesseld extracts (image tarballs, instance backups): relative, with
// no ".." component, so that joined to the extraction root they stay under it.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel::manager {

// "./usr/bin/x" -> "usr/bin/x"; "./" -> "". An error naming the member for an
// empty or absolute name or a ".." component.
Result<std::string> clean_member_name(std::string_view name);

}  // namespace vessel::manager
