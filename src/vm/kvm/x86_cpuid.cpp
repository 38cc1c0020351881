#include "vm/kvm/x86_cpuid.h"

namespace vessel::vm::x86 {

namespace {

constexpr uint32_t kHypervisorPresent = 1u << 31;  // leaf 1 ECX
constexpr uint32_t kHyperThreading = 1u << 28;     // leaf 1 EDX: EBX[23:16] is meaningful
constexpr uint32_t kLevelSmt = 1, kLevelCore = 2;  // leaf 0xB/0x1F ECX[15:8]

unsigned bits_for(unsigned count) {
    unsigned bits = 0;
    while ((1u << bits) < count)
        ++bits;
    return bits;
}

}  // namespace

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(const std::vector<kvm_cpuid_entry2>& supported,
                                             unsigned index, unsigned cpu_count) {
    std::vector<kvm_cpuid_entry2> entries = supported;
    for (kvm_cpuid_entry2& entry : entries) {
        switch (entry.function) {
            case 1:
                // Initial APIC ID and the package's logical processor count.
                entry.ebx = (entry.ebx & 0x0000ffff) | (index << 24) | ((cpu_count & 0xff) << 16);
                entry.ecx |= kHypervisorPresent;
                if (cpu_count > 1)
                    entry.edx |= kHyperThreading;
                else
                    entry.edx &= ~kHyperThreading;
                break;
            case 0xb:
            case 0x1f:
                // Extended topology: one thread per core, cpu_count cores, x2APIC ID = index.
                if (entry.index == 0) {
                    entry.eax = 0;
                    entry.ebx = 1;
                    entry.ecx = (kLevelSmt << 8) | 0;
                } else if (entry.index == 1) {
                    entry.eax = bits_for(cpu_count);
                    entry.ebx = cpu_count;
                    entry.ecx = (kLevelCore << 8) | 1;
                } else {
                    entry.eax = entry.ebx = 0;
                    entry.ecx = entry.index;
                }
                entry.edx = index;
                break;
            default:
                break;
        }
    }
    return entries;
}

}  // namespace vessel::vm::x86
