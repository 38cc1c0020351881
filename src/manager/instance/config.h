// An instance's config, typed: the keys as they were set (what `config get` and the API give
// back, spelled as the user spelled them) and what they mean, read once. Only parse() and
// changed() make one, so a config in hand is valid for its kind of instance: no unknown key, no
// value that does not parse, no key that means nothing for the kind (limits.md's rules). JSON is
// only at the edges: the API's request bodies and answers, and the database's column.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"
#include "manager/instance/limits.h"
#include "manager/instance/model.h"

namespace vessel::manager {

class InstanceConfig {
  public:
    // No key set.
    InstanceConfig() = default;

    // From {"key": "value", ...}. Errors are EINVAL and name the key.
    static Result<InstanceConfig> parse(InstanceKind kind, const Json& keys);
    // This config with `changes` applied (a null value removes its key), checked whole.
    Result<InstanceConfig> changed(InstanceKind kind, const Json& changes) const;

    const ResourceLimits& limits() const { return limits_; }
    std::optional<std::chrono::seconds> agent_timeout() const { return agent_timeout_; }
    std::optional<std::string> value_of(std::string_view key) const;
    const std::map<std::string, std::string, std::less<>>& keys() const { return keys_; }
    Json to_json() const;

    bool operator==(const InstanceConfig& other) const { return keys_ == other.keys_; }

  private:
    std::map<std::string, std::string, std::less<>> keys_;
    ResourceLimits limits_;
    std::optional<std::chrono::seconds> agent_timeout_;
};

}  // namespace vessel::manager
