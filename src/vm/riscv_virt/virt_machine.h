// The RISC-V board `vessel-vmm --kernel Image` runs: QEMU virt's memory map for the devices it
// has — RAM at 0x80000000, CLINT 0x2000000, PLIC 0xc000000, 16550 UART 0x10000000 (PLIC source
// 10), the sifive,test syscon at 0x100000 (power-off 0x5555, reboot 0x7777), the virtio-mmio
// window 0x10001000-0x10008fff reserved — N harts on N host threads, a generated device tree, and
// either the SBI inside the VMM (the kernel starts in S-mode) or firmware given with --bios
// running in M-mode.
#pragma once

#include <memory>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/vm_config.h"
#include "vm/machine/sandbox.h"

namespace vessel::riscv_virt {

// Boots config.kernel and runs until the guest powers off or resets (its exit status), a signal
// or Ctrl-A x stops it, or config.timeout passes. A `sandbox` confines the VMM once the board is
// built (vm::Machine::create).
Result<int> run_virt_machine(const vm::VmConfig& config, const Logger& log,
                             vm::Sandbox* sandbox = nullptr);

}  // namespace vessel::riscv_virt
