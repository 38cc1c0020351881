#include "manager/instance/config.h"

#include <cerrno>

namespace vessel::manager {

namespace {

std::unexpected<Error> invalid(const Error& error) {
    return fail_errno(EINVAL, error.message());
}

}  // namespace

Result<InstanceConfig> InstanceConfig::parse(InstanceKind kind, const Json& keys) {
    if (!keys.is_object()) return fail_errno(EINVAL, "config: must be an object of strings");
    InstanceConfig config;
    for (const auto& [key, value] : keys.items()) {
        if (!value.is_string())
            return fail_errno(EINVAL, fmt::format("config key {}: value must be a string", key));
        config.keys_.emplace(key, value.get<std::string>());
    }
    if (auto fits = validate_config_for_type(kind, keys); !fits) return invalid(fits.error());
    auto limits = limits_from_config(keys);
    if (!limits) return invalid(limits.error());
    config.limits_ = *limits;
    auto agent_timeout = agent_timeout_from_config(keys);
    if (!agent_timeout) return invalid(agent_timeout.error());
    config.agent_timeout_ = *agent_timeout;
    return config;
}

Result<InstanceConfig> InstanceConfig::changed(InstanceKind kind, const Json& changes) const {
    if (!changes.is_object()) return fail_errno(EINVAL, "config: must be an object");
    Json keys = to_json();
    for (const auto& [key, value] : changes.items()) {
        if (value.is_null())
            keys.erase(key);
        else
            keys[key] = value;
    }
    return parse(kind, keys);
}

std::optional<std::string> InstanceConfig::value_of(std::string_view key) const {
    if (auto found = keys_.find(key); found != keys_.end()) return found->second;
    return std::nullopt;
}

Json InstanceConfig::to_json() const {
    Json json = Json::object();
    for (const auto& [key, value] : keys_)
        json[key] = value;
    return json;
}

}  // namespace vessel::manager
