#include "base/json.h"

namespace vessel {

Result<Json> parse_json(std::string_view text, std::string_view source) {
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
        // Parse again with exceptions only to learn the position; the library reports it no other
        // way.
        try {
            Json unused = Json::parse(text);
        } catch (const Json::parse_error& error) {
            return fail("{}: invalid JSON at byte {}", source, error.byte);
        }
        return fail("{}: invalid JSON", source);
    }
    return value;
}

std::string json_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return fmt::format("{}.{}", parent, key);
}

std::string json_path(std::string_view parent, size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

Error JsonAt::error(std::string_view problem) const {
    return Error(path_.empty() ? std::string(problem) : fmt::format("{}: {}", path_, problem));
}

bool JsonAt::has(std::string_view key) const {
    return value_->is_object() && value_->contains(key) && !(*value_)[std::string(key)].is_null();
}

Result<JsonAt> JsonAt::child(std::string_view key) const {
    TRY(expect_object());
    if (!has(key))
        return std::unexpected(JsonAt(*value_, json_path(path_, key)).error("is required"));
    return JsonAt((*value_)[std::string(key)], json_path(path_, key));
}

std::optional<JsonAt> JsonAt::optional_child(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return JsonAt((*value_)[std::string(key)], json_path(path_, key));
}

Result<> JsonAt::expect_object() const {
    if (!value_->is_object()) return std::unexpected(error("must be an object"));
    return {};
}

Result<std::vector<JsonAt>> JsonAt::array() const {
    if (!value_->is_array()) return std::unexpected(error("must be an array"));
    std::vector<JsonAt> items;
    items.reserve(value_->size());
    for (size_t i = 0; i < value_->size(); ++i)
        items.emplace_back((*value_)[i], json_path(path_, i));
    return items;
}

Result<std::string> JsonAt::string() const {
    if (!value_->is_string()) return std::unexpected(error("must be a string"));
    return value_->get<std::string>();
}

Result<bool> JsonAt::boolean() const {
    if (!value_->is_boolean()) return std::unexpected(error("must be a boolean"));
    return value_->get<bool>();
}

Result<int64_t> JsonAt::integer() const {
    if (value_->is_number_unsigned() && value_->get<uint64_t>() > INT64_MAX)
        return std::unexpected(error("is out of range"));
    if (!value_->is_number_integer()) return std::unexpected(error("must be an integer"));
    return value_->get<int64_t>();
}

Result<uint64_t> JsonAt::unsigned_integer() const {
    // A document built in code stores 0 as a signed integer; only parsed text has the unsigned
    // kind.
    if (!value_->is_number_integer() ||
        (!value_->is_number_unsigned() && value_->get<int64_t>() < 0))
        return std::unexpected(error("must be an unsigned integer"));
    return value_->get<uint64_t>();
}

Result<std::vector<std::string>> JsonAt::string_array() const {
    std::vector<std::string> strings;
    for (const auto& item : TRY(array()))
        strings.push_back(TRY(item.string()));
    return strings;
}

Result<std::optional<std::string>> JsonAt::optional_string(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::optional<std::string>{};
    return std::optional<std::string>(TRY(item->string()));
}

Result<std::optional<bool>> JsonAt::optional_boolean(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::optional<bool>{};
    return std::optional<bool>(TRY(item->boolean()));
}

Result<std::optional<int64_t>> JsonAt::optional_integer(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::optional<int64_t>{};
    return std::optional<int64_t>(TRY(item->integer()));
}

Result<std::optional<uint64_t>> JsonAt::optional_unsigned(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::optional<uint64_t>{};
    return std::optional<uint64_t>(TRY(item->unsigned_integer()));
}

Result<std::vector<std::string>> JsonAt::optional_string_array(std::string_view key) const {
    TRY(expect_object());
    auto item = optional_child(key);
    if (!item) return std::vector<std::string>{};
    return item->string_array();
}

}  // namespace vessel
