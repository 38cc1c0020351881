#include "container/spec/id_mapping.h"

#include <fmt/format.h>

namespace vessel::container::spec {

namespace {

// The kernel takes at most this many lines in a uid_map (since Linux 4.15).
constexpr size_t kMaxMappings = 340;
constexpr uint64_t kIdSpace = uint64_t{1} << 32;

Result<uint32_t> id_field(const JsonAt& entry, const char* key) {
    auto field = TRY(entry.child(key));
    uint64_t value = TRY(field.unsigned_integer());
    if (value >= kIdSpace) return std::unexpected(field.error("must be below 4294967296"));
    return static_cast<uint32_t>(value);
}

bool overlaps(uint64_t first_a, uint64_t size_a, uint64_t first_b, uint64_t size_b) {
    return first_a < first_b + size_b && first_b < first_a + size_a;
}

}  // namespace

Result<std::vector<IdMapping>> parse_id_mappings(const JsonAt& at) {
    auto entries = TRY(at.array());
    if (entries.size() > kMaxMappings)
        return std::unexpected(at.error(fmt::format("has {} entries; the kernel takes at most {}",
                                                    entries.size(), kMaxMappings)));
    std::vector<IdMapping> mappings;
    for (const auto& entry : entries) {
        TRY(entry.expect_object());
        IdMapping mapping{.container_id = TRY(id_field(entry, "containerID")),
                          .host_id = TRY(id_field(entry, "hostID")),
                          .size = TRY(id_field(entry, "size"))};
        if (mapping.size == 0)
            return std::unexpected(TRY(entry.child("size")).error("must be at least 1"));
        if (uint64_t{mapping.container_id} + mapping.size > kIdSpace ||
            uint64_t{mapping.host_id} + mapping.size > kIdSpace)
            return std::unexpected(entry.error("the range runs past id 4294967295"));
        for (size_t i = 0; i < mappings.size(); ++i) {
            const IdMapping& earlier = mappings[i];
            if (overlaps(earlier.container_id, earlier.size, mapping.container_id, mapping.size))
                return std::unexpected(
                    entry.error(fmt::format("its container ids overlap those of entry {}", i)));
            if (overlaps(earlier.host_id, earlier.size, mapping.host_id, mapping.size))
                return std::unexpected(
                    entry.error(fmt::format("its host ids overlap those of entry {}", i)));
        }
        mappings.push_back(mapping);
    }
    return mappings;
}

std::string id_map_text(const std::vector<IdMapping>& mappings) {
    std::string text;
    for (const auto& mapping : mappings)
        text += fmt::format("{} {} {}\n", mapping.container_id, mapping.host_id, mapping.size);
    return text;
}

std::optional<uint32_t> host_id_of(const std::vector<IdMapping>& mappings, uint32_t container_id) {
    for (const auto& mapping : mappings)
        if (container_id >= mapping.container_id &&
            uint64_t{container_id} < uint64_t{mapping.container_id} + mapping.size)
            return mapping.host_id + (container_id - mapping.container_id);
    return std::nullopt;
}

}  // namespace vessel::container::spec
