// JSON that reaches people and clients is text, but the strings in it may carry bytes from
// elsewhere: a program's error output, a file name from a tarball, a path on the host. nlohmann's
// dump() throws on invalid UTF-8 (which would turn an error into a 500, or an event into a daemon
// abort); these helpers make the choice explicit instead.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace vessel::manager {

// Serializes for display: invalid UTF-8 becomes U+FFFD, so the rest of the message survives.
std::string dump_json(const Json& value, int indent = -1);

// Serializes data that must arrive exactly: invalid UTF-8 is an error naming the first string
// that has it ("request body: command[1]: not valid UTF-8").
Result<std::string> dump_json_exact(const Json& value, std::string_view source, int indent = -1);

bool is_valid_utf8(std::string_view text);

}  // namespace vessel::manager
