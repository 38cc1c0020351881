// vessel-vmm's whole job behind its command line: pick the CPU engine for the guest, run it, and
// return the exit status (exit_code::...).
#pragma once

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/vm_config.h"

#include <functional>

namespace vessel::vm {

enum class GuestArch { x86_64, riscv64 };
enum class EngineKind { kvm, emulator };

// The guest's architecture from its kernel (bzImage, ELF machine, RISC-V Image magic) or, without a
// kernel, from its --bios image: a RISC-V ELF, or else a flat image, which is RISC-V firmware for
// the emulator unless --accel kvm makes it an x86 real-mode image.
Result<GuestArch> detect_guest_arch(const VmConfig& config);

// KVM for x86-64 guests (when `kvm_usable`, or required by --accel kvm), the emulator for RISC-V.
// Errors explain an impossible combination in one line.
Result<EngineKind> choose_engine(const VmConfig& config, GuestArch arch,
                                 const Result<>& kvm_usable);

// With config.jail, the VMM confines itself (jail.h) once the board has opened everything;
// `after_jailed` then runs on the main thread (only the jail's test build passes one).
Result<int> run_vm(const VmConfig& config, const Logger& log,
                   std::function<void()> after_jailed = {});

}  // namespace vessel::vm
