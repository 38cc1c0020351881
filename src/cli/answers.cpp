#include "cli/answers.h"

#include <ctime>

namespace vessel::cli {

Result<std::string> text(const JsonAt& at, std::string_view key) {
    return TRY(at.optional_string(key)).value_or("");
}

Result<std::vector<std::string>> texts(const JsonAt& at, std::string_view key) {
    return at.optional_string_array(key);
}

Result<std::vector<JsonAt>> items(const Json& list, std::string_view what) {
    return JsonAt(list, std::string(what)).array();
}

// When a snapshot was taken, in UTC (its created_at, seconds since the epoch).
Result<std::string> taken_at(const JsonAt& snapshot) {
    auto seconds = TRY(snapshot.optional_integer_in<time_t>("created_at")).value_or(0);
    struct tm utc {};
    if (::gmtime_r(&seconds, &utc) == nullptr) return std::string("?");
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
    return std::string(text);
}

// The config of an instance: an object of strings.
Result<std::vector<std::pair<std::string, std::string>>> instance_config(const JsonAt& instance) {
    std::vector<std::pair<std::string, std::string>> pairs;
    auto config = instance.optional_child("config");
    if (!config) return pairs;
    TRY(config->expect_object());
    for (const auto& [key, value] : config->value().items())
        pairs.emplace_back(key, TRY(JsonAt(value, json_path(config->path(), key)).string()));
    return pairs;
}

// The server's settings from GET /1.0.
Result<std::vector<std::pair<std::string, std::string>>> server_config(const Json& answer) {
    return instance_config(JsonAt(answer, "server"));
}

}  // namespace vessel::cli
