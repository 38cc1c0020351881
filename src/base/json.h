// JSON helpers on nlohmann::json that turn type mismatches into errors naming the JSON path, so a
// bad config reads "process.user.uid: must be an unsigned integer" instead of an exception.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel {

using Json = nlohmann::json;

// Parses text; a syntax error names `source` and the byte offset.
Result<Json> parse_json(std::string_view text, std::string_view source);

// Joins a path with an object key or an array index: ("process", "args") -> "process.args",
// ("process.args", 0) -> "process.args[0]".
std::string json_path(std::string_view parent, std::string_view key);
std::string json_path(std::string_view parent, size_t index);

// A JSON value and where it sits in the document. Getters return an error naming the path when the
// value has the wrong type; optional getters return nullopt when the key is absent or null.
class JsonAt {
  public:
    JsonAt(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {}

    const Json& value() const { return *value_; }
    const std::string& path() const { return path_; }

    bool has(std::string_view key) const;
    Result<JsonAt> child(std::string_view key) const;  // required
    std::optional<JsonAt> optional_child(std::string_view key) const;

    Result<> expect_object() const;
    Result<std::vector<JsonAt>> array() const;

    Result<std::string> string() const;
    Result<bool> boolean() const;
    Result<int64_t> integer() const;
    Result<uint64_t> unsigned_integer() const;
    Result<std::vector<std::string>> string_array() const;

    Result<std::optional<std::string>> optional_string(std::string_view key) const;
    Result<std::optional<bool>> optional_boolean(std::string_view key) const;
    Result<std::optional<int64_t>> optional_integer(std::string_view key) const;
    Result<std::optional<uint64_t>> optional_unsigned(std::string_view key) const;
    Result<std::vector<std::string>> optional_string_array(std::string_view key) const;

    // An error "<path>: <problem>".
    Error error(std::string_view problem) const;

  private:
    const Json* value_;
    std::string path_;
};

}  // namespace vessel
