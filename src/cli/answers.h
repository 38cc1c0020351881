// Reading vesseld's answers in the CLI: a field of another type than expected (or a number too
// large for its type) is an error naming it, never an exception; an absent one is empty.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace vessel::cli {

Result<std::string> text(const JsonAt& at, std::string_view key);
Result<std::vector<std::string>> texts(const JsonAt& at, std::string_view key);
Result<std::vector<JsonAt>> items(const Json& list, std::string_view what);
// When a snapshot was taken, in UTC (its created_at, seconds since the epoch).
Result<std::string> taken_at(const JsonAt& snapshot);
// The config of an instance: an object of strings.
Result<std::vector<std::pair<std::string, std::string>>> instance_config(const JsonAt& instance);
// The server's settings from GET /1.0.
Result<std::vector<std::pair<std::string, std::string>>> server_config(const Json& answer);

}  // namespace vessel::cli
