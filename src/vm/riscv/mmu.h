// Sv39/Sv48 page-table walking, kept apart from the interpreter so the binary translator and the
// unit tests use the same walker. Page-table entries are read and their A/D bits updated through
// the bounds-checked guest memory; a PTE outside RAM is an access fault, never a host access.
#pragma once

#include <cstdint>

#include "vm/memory/guest_memory.h"

namespace vessel::riscv {

enum class Priv : uint8_t { user = 0, supervisor = 1, machine = 3 };

enum class Access : uint8_t { fetch = 0, load = 1, store = 2 };

namespace cause {
inline constexpr uint64_t misaligned_fetch = 0;
inline constexpr uint64_t fetch_access = 1;
inline constexpr uint64_t illegal_instruction = 2;
inline constexpr uint64_t breakpoint = 3;
inline constexpr uint64_t misaligned_load = 4;
inline constexpr uint64_t load_access = 5;
inline constexpr uint64_t misaligned_store = 6;
inline constexpr uint64_t store_access = 7;
inline constexpr uint64_t ecall_from_u = 8;
inline constexpr uint64_t ecall_from_s = 9;
inline constexpr uint64_t ecall_from_m = 11;
inline constexpr uint64_t fetch_page_fault = 12;
inline constexpr uint64_t load_page_fault = 13;
inline constexpr uint64_t store_page_fault = 15;
}  // namespace cause

inline uint64_t access_fault_cause(Access access) {
    return access == Access::fetch  ? cause::fetch_access
           : access == Access::load ? cause::load_access
                                    : cause::store_access;
}
inline uint64_t page_fault_cause(Access access) {
    return access == Access::fetch  ? cause::fetch_page_fault
           : access == Access::load ? cause::load_page_fault
                                    : cause::store_page_fault;
}

namespace satp_mode {
inline constexpr uint64_t bare = 0;
inline constexpr uint64_t sv39 = 8;
inline constexpr uint64_t sv48 = 9;
}  // namespace satp_mode

struct WalkRequest {
    uint64_t satp = 0;
    Priv priv = Priv::supervisor;  // effective privilege of the access (MPRV already applied)
    bool sum = false;
    bool mxr = false;
    // False for a debugger's look at memory, which must not change the guest's page tables.
    bool update_accessed_dirty = true;
};

struct WalkResult {
    bool ok = false;
    uint64_t paddr = 0;
    uint64_t fault_cause = 0;  // valid when !ok
    unsigned page_shift = 12;  // the leaf's size: 12, or 21/30/39 for a superpage
};

// Translates `vaddr` for `access`. M-mode and Bare translate identically. Sets A (and D for stores)
// in the leaf PTE with an atomic compare-and-swap, as hardware A/D updating requires.
WalkResult translate(const vm::GuestMemory& memory, const WalkRequest& request, uint64_t vaddr,
                     Access access);

namespace pte {
inline constexpr uint64_t V = 1, R = 2, W = 4, X = 8, U = 16, G = 32, A = 64, D = 128;
}

}  // namespace vessel::riscv
