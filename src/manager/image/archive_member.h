// The names inside archives vesseld extracts (image tarballs, instance backups): relative, with
// no ".." component, so that joined to the extraction root they stay under it.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

struct archive;

namespace vessel::manager {

// libarchive's message for the last error of `a`, or "unknown error" where it set none: a failing
// call does not always leave one, and a null pointer must never reach a format string.
std::string archive_error_text(archive* a);

// "./usr/bin/x" -> "usr/bin/x"; "./" -> "". An error naming the member for an
// empty or absolute name or a ".." component.
Result<std::string> clean_member_name(std::string_view name);

}  // namespace vessel::manager
