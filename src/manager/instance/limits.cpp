#include "manager/instance/limits.h"

#include <charconv>
#include <cmath>
#include <utility>

namespace vessel::manager {

namespace {

std::optional<uint64_t> parse_integer(std::string_view text) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// A byte count with an optional unit, without a floor: each key sets its own.
Result<uint64_t> parse_size(std::string_view text) {
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
        return *number * u.factor;
    }
    return fail("{}: unknown unit {} (use B, kB, KiB, MB, MiB, GB, GiB, TB, TiB)", text, unit);
}

}  // namespace

Result<uint64_t> parse_memory_size(std::string_view text) {
    auto bytes = TRY(parse_size(text));
    // Below this the kernel cannot even start a shell in the container.
    if (bytes < 4 * (1ull << 20)) return fail("{}: must be at least 4MiB", text);
    return bytes;
}

Result<uint64_t> parse_disk_size(std::string_view text) {
    auto bytes = TRY(parse_size(text));
    // No guest boots from less; a smaller value is a slip (a missing unit), not a wish.
    if (bytes < (1ull << 20)) return fail("{}: must be at least 1MiB", text);
    return bytes;
}

Result<std::chrono::seconds> parse_agent_timeout(std::string_view text) {
    auto seconds = parse_integer(text);
    if (!seconds || *seconds == 0 || *seconds > 3600)
        return fail("{}: must be a whole number of seconds from 1 to 3600", text);
    return std::chrono::seconds(*seconds);
}

std::string format_size(uint64_t bytes) {
    static constexpr std::pair<std::string_view, unsigned> units[] = {
        {"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
    for (const auto& [name, shift] : units)
        if (bytes != 0 && bytes % (1ull << shift) == 0)
            return fmt::format("{}{}", bytes >> shift, name);
    return fmt::format("{}B", bytes);
}

Result<bool> root_disk_must_grow(std::string_view name, uint64_t current_bytes,
                                 uint64_t wanted_bytes) {
    if (wanted_bytes < current_bytes)
        return fail(
            "limits.disk of VM {} cannot shrink its root disk from {} to {}: data would "
            "be lost",
            name, format_size(current_bytes), format_size(wanted_bytes));
    return wanted_bytes > current_bytes;
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
    if (key == "limits.disk") {
        TRY_CTX(parse_disk_size(value), "limits.disk");
        return {};
    }
    if (key == "boot.agent_timeout") {
        TRY_CTX(parse_agent_timeout(value), "boot.agent_timeout");
        return {};
    }
    if (key.starts_with("user.")) return {};  // free-form, as in Incus
    return fail(
        "unknown config key {} (known: limits.memory, limits.cpu, limits.processes, "
        "limits.disk, boot.agent_timeout, user.*)",
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
        if (key == "limits.disk") limits.disk_bytes = TRY(parse_disk_size(text));
    }
    return limits;
}

Result<std::optional<std::chrono::seconds>> agent_timeout_from_config(const Json& config) {
    if (!config.is_object() || !config.contains("boot.agent_timeout")) return std::nullopt;
    const auto& value = config["boot.agent_timeout"];
    if (!value.is_string()) return fail("config key boot.agent_timeout: value must be a string");
    return TRY_CTX(parse_agent_timeout(value.get<std::string>()), "boot.agent_timeout");
}

Result<> validate_config_for_type(InstanceKind kind, const Json& config) {
    if (kind != InstanceKind::container || !config.is_object()) return {};
    if (config.contains("limits.disk") && !config["limits.disk"].is_null())
        return fail(
            "limits.disk applies to VMs only: a container's root is an overlay on the host's "
            "filesystem, with no size of its own");
    if (config.contains("boot.agent_timeout") && !config["boot.agent_timeout"].is_null())
        return fail("boot.agent_timeout applies to VMs only: a container has no guest agent");
    return {};
}

}  // namespace vessel::manager
