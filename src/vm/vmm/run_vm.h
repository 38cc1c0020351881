// The one entry point vessel-vmm's main() calls once it has a VmConfig: picks the engine and
// machine for the configuration and returns the process exit status (vm::exit_code).
#pragma once

#include "base/error.h"
#include "vm/vmm/vm_config.h"

namespace vessel::vm {

Result<int> run_vm(const VmConfig& config);

}  // namespace vessel::vm
