// vesseld's own settings (core.*): checked, applied by whoever follows them, then stored.
#include "manager/manager.h"

#include "manager/tls/https_listener.h"

namespace vessel::manager {

namespace {

// Every server key, with the check of its value.
Result<> check_server_setting(const std::string& key, const std::string& value) {
    if (key == "core.https_address") {
        if (value.empty()) return {};
        if (auto parsed = tls::parse_listen_address(value); !parsed) {
            Result<> failed = std::unexpected(parsed.error());
            return with_context(std::move(failed), key);
        }
        return {};
    }
    return fail_errno(EINVAL,
                      fmt::format("unknown server key {:?} (known: core.https_address)", key));
}

}  // namespace

Result<std::map<std::string, std::string>> Manager::server_config() {
    return store_->server_config();
}

Result<std::map<std::string, std::string>> Manager::update_server_config(
    const std::map<std::string, std::optional<std::string>>& changes) {
    std::lock_guard lock(server_config_mutex_);
    auto config = TRY(store_->server_config());
    for (const auto& [key, value] : changes) {
        TRY(check_server_setting(key, value.value_or("")));
        if (value && !value->empty())
            config[key] = *value;
        else
            config.erase(key);
    }
    if (server_config_follower_) TRY(server_config_follower_(config));
    std::map<std::string, std::optional<std::string>> stored;
    for (const auto& [key, value] : changes)
        stored[key] = value && !value->empty() ? value : std::nullopt;
    TRY(store_->set_server_config(stored));
    return config;
}

Result<> Manager::follow_server_config(ServerConfigFollower follower) {
    std::lock_guard lock(server_config_mutex_);
    server_config_follower_ = std::move(follower);
    return server_config_follower_(TRY(store_->server_config()));
}

}  // namespace vessel::manager
