#include "vm/vmm/run_vm.h"

#include "vm/riscv_virt/bare_machine.h"

namespace vessel::vm {

namespace {

// The RISC-V emulator without a board: bare-metal ELFs in M-mode.
Result<int> run_riscv_bare_metal(const VmConfig& config) {
    if (!config.kernel.empty())
        return fail("--kernel: booting Linux needs the RISC-V board, not available yet");
    if (!config.initrd.empty()) return fail("--initrd: needs --kernel and the RISC-V board");
    if (!config.append.empty()) return fail("--append: needs --kernel and the RISC-V board");
    if (config.cpus != 1) return fail("--cpus: more than one hart needs the RISC-V board");
    if (config.console == ConsoleKind::file)
        return fail("--console: the bare-metal machine has no UART");
    if (config.bios.empty()) return fail("--bios: a bare-metal ELF is required");
    auto machine = TRY(riscv_virt::BareMachine::create(config.bios, config.memory_bytes));
    return machine->run(config.timeout);
}

}  // namespace

Result<int> run_vm(const VmConfig& config) {
    TRY(validate_vm_config(config));
    if (config.accel == Accel::kvm)
        return fail("--accel kvm: this build emulates RISC-V guests only");
    return run_riscv_bare_metal(config);
}

}  // namespace vessel::vm
