// What each vCPU's CPUID says on top of what KVM supports: its own APIC ID, and a topology of
// `cpu_count` single-threaded cores in one package, whatever the host's topology is (the host's
// SMT siblings are not the guest's).
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include <vector>

namespace vessel::vm::x86 {

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                             unsigned index, unsigned cpu_count);

}  // namespace vessel::vm::x86
