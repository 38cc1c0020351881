// The x86-64 KVM machine: guest RAM registered with KVM, the in-kernel PIC/IOAPIC/LAPIC and PIT,
// the legacy devices, ACPI tables, direct Linux boot, one thread per vCPU, and the wait for the
// guest to power off, reboot, crash or time out.
#pragma once

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/vm_config.h"
#include "vm/machine/sandbox.h"

namespace vessel::vm::kvm {

inline constexpr const char* kKvmDevice = "/dev/kvm";

// Succeeds when `device` opens read-write and speaks KVM API 12; the error names the device.
Result<> check_kvm_usable(const char* device = kKvmDevice);

// Runs the VM to its end and returns vessel-vmm's exit status (exit_code::...). How it ended, when
// not an orderly power-off, is logged as one error line. Set-up failures are errors.
// With `config.bios` set, the file is a flat 16-bit real-mode image loaded at 0x10000 and started
// at 1000:0000 without the in-kernel interrupt controller (HLT then ends the VM with status 0).
Result<int> run_x86_vm(const VmConfig& config, const Logger& log, Sandbox* sandbox = nullptr);

}  // namespace vessel::vm::kvm
