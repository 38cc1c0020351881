// Pieces of config.json parsing shared between parse.cpp and parse_linux.cpp.
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "container/spec/number_list.h"
#include "container/spec/spec.h"

namespace vessel::container::spec {

Result<Linux> parse_linux(const JsonAt& at);

// Checks that need more than one section (a hostname needs a UTS namespace, ...).
Result<> validate_cross_references(const Spec& spec);

// process.ioPriority, process.scheduler and process.execCPUAffinity into `process`.
Result<> parse_process_scheduling(const JsonAt& at, Process& process);
// A list of CPUs or nodes as the kernel writes one ("0-3,7"), each below `limit`.
Result<> check_number_list(const JsonAt& at, std::string_view what, unsigned limit);
// linux.memoryPolicy.
Result<Linux::MemoryPolicy> parse_memory_policy(const JsonAt& at);

// True when a "/"-separated path has a ".." component.
bool relative_clean_path_has_dotdot(const std::string& path);

}  // namespace vessel::container::spec
