#include "vm/vmm/run_vm.h"

#include "vm/boot/guest_file.h"
#include "vm/kvm/x86_boot.h"
#include "vm/kvm/x86_machine.h"
#include "vm/riscv/jit/translator.h"
#include "vm/riscv_virt/bare_machine.h"
#include "vm/riscv_virt/hart_engine.h"
#include "vm/riscv_virt/virt_machine.h"
#include "vm/vmm/jail.h"

namespace vessel::vm {

namespace {

// Enough of a kernel or firmware file to tell its format.
constexpr size_t kHeadBytes = 4096;

// The RISC-V emulator without a board: bare-metal ELFs in M-mode.
Result<int> run_riscv_bare_metal(const VmConfig& config, const Logger& log) {
    if (!config.initrd.empty()) return fail("--initrd: needs --kernel");
    if (!config.append.empty()) return fail("--append: needs --kernel");
    if (config.cpus != 1) return fail("--cpus: more than one hart needs --kernel (the board)");
    if (config.console == ConsoleKind::file)
        return fail("--console: the bare-metal machine has no UART");
    if (config.bios.empty()) return fail("--bios: a bare-metal ELF is required");
    auto machine = TRY(
        riscv_virt::BareMachine::create(config.bios, config.memory_bytes, config.bios_label,
                                        riscv_virt::hart_engine(config.engine), config.perf_map));
    if (config.gdb) TRY(machine->attach_debugger(*config.gdb, log));
    auto status = machine->run(config.timeout);
    if (const riscv::jit::Translator* translator = machine->hart().translator())
        log.debug("hart 0 translator: {}", riscv::jit::describe(translator->stats()));
    return status;
}

}  // namespace

Result<GuestArch> detect_guest_arch(const VmConfig& config) {
    if (!config.kernel.empty()) {
        auto head = TRY(read_guest_file_head(config.kernel, config.kernel_label,
                                             config.memory_bytes, kHeadBytes));
        switch (x86::detect_kernel_format(head)) {
            case x86::KernelFormat::bzimage:
            case x86::KernelFormat::elf64:
                return GuestArch::x86_64;
            case x86::KernelFormat::riscv:
                return GuestArch::riscv64;
            case x86::KernelFormat::unknown:
                return fail("{} {}: neither an x86-64 bzImage/ELF nor a RISC-V Image/ELF",
                            config.kernel_label, config.kernel);
        }
    }
    // An x86-64 ELF in --bios is a mistake whatever the accelerator: say where it goes. Otherwise
    // only --accel kvm makes a --bios image x86 real-mode code; anything else goes to the RISC-V
    // emulator, whose loader explains what is wrong with a file that is not RISC-V.
    auto head =
        TRY(read_guest_file_head(config.bios, config.bios_label, config.memory_bytes, kHeadBytes));
    auto format = x86::detect_kernel_format(head);
    if (format == x86::KernelFormat::elf64)
        return fail("{} {}: an x86-64 ELF goes in --kernel", config.bios_label, config.bios);
    if (config.accel == Accel::kvm && format != x86::KernelFormat::riscv) return GuestArch::x86_64;
    return GuestArch::riscv64;
}

Result<EngineKind> choose_engine(const VmConfig& config, GuestArch arch,
                                 const Result<>& kvm_usable) {
    switch (arch) {
        case GuestArch::x86_64:
            if (config.accel == Accel::emulate)
                return fail("--accel emulate: there is no x86-64 emulator; x86-64 guests need KVM");
            if (!kvm_usable)
                return fail("{}: {}",
                            config.accel == Accel::kvm ? "--accel kvm" : "x86-64 guest needs KVM",
                            kvm_usable.error().message());
            return EngineKind::kvm;
        case GuestArch::riscv64:
            if (config.accel == Accel::kvm)
                return fail(
                    "--accel kvm: RISC-V guests run in the emulator; KVM runs x86-64 "
                    "kernels only");
            return EngineKind::emulator;
    }
    return fail("unknown guest architecture");
}

Result<int> run_vm(const VmConfig& config, const Logger& log, std::function<void()> after_jailed) {
    TRY(validate_vm_config(config));
    Result<> kvm_usable = kvm::check_kvm_usable();
    // Asking for KVM where there is none is the first thing to report, whatever the guest.
    if (config.accel == Accel::kvm && !kvm_usable)
        return fail("--accel kvm: {}", kvm_usable.error().message());
    GuestArch arch = TRY(detect_guest_arch(config));
    EngineKind engine = TRY(choose_engine(config, arch, kvm_usable));
    std::unique_ptr<Jail> jail;
    if (config.jail) {
        if (engine == EngineKind::emulator && config.kernel.empty())
            return fail("--jail: the bare-metal machine (--bios without --kernel) runs unjailed");
        jail = TRY(Jail::prepare(config));
        jail->after_main_confined = std::move(after_jailed);
    }
    switch (engine) {
        case EngineKind::kvm:
            if (config.gdb) return fail("--gdb: the debugger stub serves the RISC-V emulator only");
            return kvm::run_x86_vm(config, log, jail.get());
        case EngineKind::emulator:
            if (!config.kernel.empty())
                return riscv_virt::run_virt_machine(config, log, jail.get());
            return run_riscv_bare_metal(config, log);
    }
    return fail("no engine");
}

}  // namespace vessel::vm
