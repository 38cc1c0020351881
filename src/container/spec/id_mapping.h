// linux.uidMappings/gidMappings and mounts[].uidMappings/gidMappings: parsing with the checks the
// kernel would otherwise make later (and less legibly), and the uid_map text they become.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "container/spec/spec.h"

namespace vessel::container::spec {

// An array of {containerID, hostID, size}. Errors name the entry ("linux.uidMappings[1].size:
// must be at least 1"); ranges that overlap on either side are refused, as the kernel does.
Result<std::vector<IdMapping>> parse_id_mappings(const JsonAt& at);

// "containerID hostID size\n" per entry: what /proc/<pid>/uid_map takes.
std::string id_map_text(const std::vector<IdMapping>& mappings);

// The host id a container id maps to, if any.
std::optional<uint32_t> host_id_of(const std::vector<IdMapping>& mappings, uint32_t container_id);

}  // namespace vessel::container::spec
