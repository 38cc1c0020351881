// KVM's variable-length ioctl structures, laid out as the kernel expects. <linux/kvm.h> declares
// their trailing arrays with __DECLARE_FLEX_ARRAY, which in C++ adds an empty struct: sizeof and
// the array's offset change (kvm_cpuid2 becomes 12 bytes, kvm_msrs 16), and with them the ioctl
// numbers. So the headers and the ioctl numbers are restated here, and entries follow the header
// directly.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vessel::vm::kvm {

struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
};
struct MsrsHeader {
    uint32_t nmsrs;
    uint32_t pad;
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

// A header followed by `count` entries in one 8-byte-aligned buffer.
template <typename Header, typename Entry>
class VariableStruct {
  public:
    explicit VariableStruct(size_t count)
        : storage_((sizeof(Header) + count * sizeof(Entry) + 7) / 8, 0) {}
    Header* header() { return reinterpret_cast<Header*>(storage_.data()); }
    Entry* entries() {
        return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(storage_.data()) +
                                        sizeof(Header));
    }
    void* data() { return storage_.data(); }

  private:
    std::vector<uint64_t> storage_;
};

using CpuidBuffer = VariableStruct<CpuidHeader, kvm_cpuid_entry2>;
using MsrsBuffer = VariableStruct<MsrsHeader, kvm_msr_entry>;

}  // namespace vessel::vm::kvm
