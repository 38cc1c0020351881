#include "base/json.h"

#include <cmath>

namespace vessel {

namespace {

// Replays a document that failed to parse only to say where it failed: the JSON path of the value
// being read, so that a number too large for any type reads "process.user.uid: ... is out of
// range" instead of escaping as an exception. Builds nothing.
class ErrorLocator final : public nlohmann::json_sax<Json> {
  public:
    bool null() override { return value_done(); }
    bool boolean(bool) override { return value_done(); }
    bool number_integer(number_integer_t) override { return value_done(); }
    bool number_unsigned(number_unsigned_t) override { return value_done(); }
    bool number_float(number_float_t, const string_t&) override { return value_done(); }
    bool string(string_t&) override { return value_done(); }
    bool binary(binary_t&) override { return value_done(); }
    bool start_object(std::size_t) override {
        frames_.push_back({.in_array = false, .index = 0, .key = {}});
        return true;
    }
    bool key(string_t& key) override {
        frames_.back().key = key;
        return true;
    }
    bool end_object() override {
        frames_.pop_back();
        return value_done();
    }
    bool start_array(std::size_t) override {
        frames_.push_back({.in_array = true, .index = 0, .key = {}});
        return true;
    }
    bool end_array() override {
        frames_.pop_back();
        return value_done();
    }
    bool parse_error(std::size_t position, const std::string& token,
                     const nlohmann::json::exception& error) override {
        position_ = position;
        token_ = token;
        overflow_ = error.id == kNumberOverflow;
        return false;
    }

    Error describe(std::string_view source) const {
        if (!overflow_) return Error(fmt::format("{}: invalid JSON at byte {}", source, position_));
        std::string shown = token_.size() > 24 ? token_.substr(0, 20) + "..." : token_;
        std::string where = path();
        return Error(fmt::format("{}: {}{}number {} is out of range", source, where,
                                 where.empty() ? "" : ": ", shown));
    }

  private:
    // nlohmann's out_of_range.406: a number no double can hold (1e999, 5000 digits).
    static constexpr int kNumberOverflow = 406;

    struct Frame {
        bool in_array;
        size_t index;
        std::string key;
    };

    bool value_done() {
        if (!frames_.empty() && frames_.back().in_array) ++frames_.back().index;
        return true;
    }

    std::string path() const {
        std::string joined;
        for (const auto& frame : frames_)
            joined = frame.in_array ? json_path(joined, frame.index) : json_path(joined, frame.key);
        return joined;
    }

    std::vector<Frame> frames_;
    size_t position_ = 0;
    std::string token_;
    bool overflow_ = false;
};

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view source) {
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) return value;
    ErrorLocator locator;
    Json::sax_parse(text, &locator);
    return std::unexpected(locator.describe(source));
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

Result<double> JsonAt::number() const {
    if (!value_->is_number()) return std::unexpected(error("must be a number"));
    double value = value_->get<double>();
    if (!std::isfinite(value)) return std::unexpected(error("must be a finite number"));
    return value;
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
