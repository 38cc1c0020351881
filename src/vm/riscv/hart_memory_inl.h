// The load/store fast paths, shared by the interpreter files of Hart. A hit in the per-hart TLB is
// a tag compare and a host memcpy; everything else (misses, MMIO, page-crossing accesses, stores to
// pages holding decoded code) goes to the out-of-line slow paths in hart_memory.cpp.
#pragma once

#include <cstring>

#include "vm/riscv/hart.h"

namespace vessel::riscv {

template <typename T>
inline bool Hart::load(uint64_t vaddr, T& out) {
    const TlbEntry& entry = tlb_entry(Access::load, 0, vaddr);
    if (__builtin_expect(entry.tag == ((vaddr & ~uint64_t{0xfff}) | data_key_) &&
                             (vaddr & 0xfff) <= 0x1000 - sizeof(T),
                         1)) {
        std::memcpy(&out, reinterpret_cast<const void*>(vaddr + entry.addend), sizeof(T));
        return true;
    }
    uint64_t value = 0;
    if (!load_slow(vaddr, sizeof(T), value)) return false;
    std::memcpy(&out, &value, sizeof(T));  // little-endian host: the low bytes
    return true;
}

template <typename T>
inline bool Hart::store(uint64_t vaddr, T value) {
    const TlbEntry& entry = tlb_entry(Access::store, 0, vaddr);
    if (__builtin_expect(entry.tag == ((vaddr & ~uint64_t{0xfff}) | data_key_) &&
                             (vaddr & 0xfff) <= 0x1000 - sizeof(T) &&
                             !CodePages::holds_code(entry.code_flag),
                         1)) {
        std::memcpy(reinterpret_cast<void*>(vaddr + entry.addend), &value, sizeof(T));
        return true;
    }
    uint64_t wide = 0;
    std::memcpy(&wide, &value, sizeof(T));
    return store_slow(vaddr, sizeof(T), wide);
}

}  // namespace vessel::riscv
