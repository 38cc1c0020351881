#include "manager/instance/limits.h"

#include <charconv>
#include <cmath>

namespace vessel::manager {

namespace {

std::optional<uint64_t> parse_integer(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

Result<uint64_t> parse_memory_size(std::string_view text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    auto number = parse_integer(text.substr(0, digits));
    if (!number) return fail("{}: not a size (use e.g. 64MiB, 1GiB or a byte count)", text);
    auto unit = text.substr(digits);
    struct Unit {
        std::string_view name;
        uint64_t factor;
    };
    static constexpr Unit units[] = {
        {"", 1},
        {"B", 1},
        {"kB", 1000},
        {"KB", 1000},
        {"KiB", 1ull << 10},
        {"MB", 1000000},
        {"MiB", 1ull << 20},
        {"GB", 1000000000},
        {"GiB", 1ull << 30},
        {"TB", 1000000000000},
        {"TiB", 1ull << 40},
    };
    for (const auto& u : units) {
        if (u.name != unit) continue;
        if (*number > UINT64_MAX / u.factor) return fail("{}: too large", text);
        uint64_t bytes = *number * u.factor;
        // Below this the kernel cannot even start a shell in the container.
        if (bytes < 4 * (1ull << 20)) return fail("{}: must be at least 4MiB", text);
        return bytes;
    }
    return fail("{}: unknown unit {} (use B, kB, KiB, MB, MiB, GB, GiB, TB, TiB)", text, unit);
}

Result<uint64_t> parse_cpu_quota(std::string_view text) {
    double cpus = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cpus);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(cpus))
        return fail("{}: not a number of CPUs (use e.g. 1, 2 or 0.5)", text);
    if (cpus < 0.01 || cpus > 1024) return fail("{}: must be between 0.01 and 1024 CPUs", text);
    return static_cast<uint64_t>(std::llround(cpus * ResourceLimits::cpu_period_us));
}

Result<> validate_config_key(std::string_view key, std::string_view value) {
    if (key == "limits.memory") {
        TRY_CTX(parse_memory_size(value), "limits.memory");
        return {};
    }
    if (key == "limits.cpu") {
        TRY_CTX(parse_cpu_quota(value), "limits.cpu");
        return {};
    }
    if (key == "limits.processes") {
        auto count = parse_integer(value);
        if (!count || *count == 0)
            return fail("limits.processes: {}: must be a positive integer", value);
        return {};
    }
    if (key.starts_with("user.")) return {};  // free-form, as in Incus
    return fail(
        "unknown config key {} (known: limits.memory, limits.cpu, limits.processes, "
        "user.*)",
        key);
}

Result<ResourceLimits> limits_from_config(const Json& config) {
    ResourceLimits limits;
    if (!config.is_object()) return fail("config must be an object of strings");
    for (const auto& [key, value] : config.items()) {
        if (!value.is_string()) return fail("config key {}: value must be a string", key);
        auto text = value.get<std::string>();
        TRY(validate_config_key(key, text));
        if (key == "limits.memory") limits.memory_bytes = TRY(parse_memory_size(text));
        if (key == "limits.cpu") limits.cpu_quota_us = TRY(parse_cpu_quota(text));
        if (key == "limits.processes") limits.processes = *parse_integer(text);
    }
    return limits;
}

}  // namespace vessel::manager
