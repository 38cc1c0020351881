// JSON helpers on nlohmann::json that turn type mismatches into errors naming the JSON path, so a
// bad config reads "process.user.uid: must be an unsigned integer" instead of an exception.
#pragma once

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
    // An integer that must fit T: "process.user.uid: must be an integer from 0 to 4294967295".
    template <std::integral T>
    Result<T> integer_in() const;
    // A finite number, integer or not.
    Result<double> number() const;

    Result<std::optional<std::string>> optional_string(std::string_view key) const;
    Result<std::optional<bool>> optional_boolean(std::string_view key) const;
    Result<std::optional<int64_t>> optional_integer(std::string_view key) const;
    Result<std::optional<uint64_t>> optional_unsigned(std::string_view key) const;
    Result<std::vector<std::string>> optional_string_array(std::string_view key) const;
    template <std::integral T>
    Result<std::optional<T>> optional_integer_in(std::string_view key) const;

    // An error "<path>: <problem>".
    Error error(std::string_view problem) const;

  private:
    const Json* value_;
    std::string path_;
};

template <std::integral T>
Result<T> JsonAt::integer_in() const {
    constexpr auto lowest = std::numeric_limits<T>::min();
    constexpr auto highest = std::numeric_limits<T>::max();
    auto out_of_range = [&] {
        return std::unexpected(
            error(fmt::format("must be an integer from {} to {}", lowest, highest)));
    };
    if (!value_->is_number_integer()) return out_of_range();
    if (value_->is_number_unsigned()) {
        auto value = value_->get<uint64_t>();
        if (value > static_cast<uint64_t>(highest)) return out_of_range();
        return static_cast<T>(value);
    }
    auto value = value_->get<int64_t>();
    if (std::cmp_less(value, lowest) || std::cmp_greater(value, highest)) return out_of_range();
    return static_cast<T>(value);
}

template <std::integral T>
Result<std::optional<T>> JsonAt::optional_integer_in(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::optional<T>{};
    return std::optional<T>(TRY(item->template integer_in<T>()));
}

}  // namespace vessel
