#include "vm/riscv/mmu.h"

namespace vessel::riscv {

WalkResult translate(const vm::GuestMemory& memory, const WalkRequest& request, uint64_t vaddr,
                     Access access) {
    uint64_t mode = request.satp >> 60;
    if (request.priv == Priv::machine || mode == satp_mode::bare) return {true, vaddr, 0};

    WalkResult fault{false, 0, page_fault_cause(access)};
    int levels = mode == satp_mode::sv48 ? 4 : 3;
    int va_bits = 12 + 9 * levels;
    // The address must be the sign extension of its low va_bits bits.
    if (static_cast<uint64_t>(static_cast<int64_t>(vaddr << (64 - va_bits)) >> (64 - va_bits)) !=
        vaddr)
        return fault;

    uint64_t table = (request.satp & ((uint64_t{1} << 44) - 1)) << 12;
    for (int level = levels - 1; level >= 0; --level) {
        uint64_t index = (vaddr >> (12 + 9 * level)) & 0x1ff;
        uint64_t pte_address = table + index * 8;
        uint8_t* host = memory.host_pointer(pte_address, 8);
        if (!host) return {false, 0, access_fault_cause(access)};
        auto* slot = reinterpret_cast<uint64_t*>(host);
        uint64_t entry = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        for (;;) {
            if (!(entry & pte::V) || (!(entry & pte::R) && (entry & pte::W))) return fault;
            // Bits 63:54 are reserved (Svpbmt/Svnapot are not implemented): must be zero.
            if (entry >> 54) return fault;
            uint64_t ppn = (entry >> 10) & ((uint64_t{1} << 44) - 1);
            if (!(entry & (pte::R | pte::X))) {
                if (level == 0) return fault;
                // Non-leaf entries must not carry D, A or U.
                if (entry & (pte::D | pte::A | pte::U)) return fault;
                table = ppn << 12;
                break;
            }
            // Leaf: permission checks.
            bool user_page = entry & pte::U;
            if (request.priv == Priv::user && !user_page) return fault;
            if (request.priv == Priv::supervisor && user_page &&
                (access == Access::fetch || !request.sum))
                return fault;
            switch (access) {
                case Access::fetch:
                    if (!(entry & pte::X)) return fault;
                    break;
                case Access::load:
                    if (!(entry & pte::R) && !(request.mxr && (entry & pte::X))) return fault;
                    break;
                case Access::store:
                    if (!(entry & pte::W)) return fault;
                    break;
            }
            uint64_t low_mask = (uint64_t{1} << (9 * level)) - 1;
            if (ppn & low_mask) return fault;  // misaligned superpage
            uint64_t wanted = entry | pte::A | (access == Access::store ? pte::D : 0);
            if (request.update_accessed_dirty && wanted != entry &&
                !__atomic_compare_exchange_n(slot, &entry, wanted, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE))
                continue;  // another hart changed the PTE: re-check it
            uint64_t page_offset_mask = (uint64_t{1} << (12 + 9 * level)) - 1;
            uint64_t paddr = ((ppn << 12) & ~page_offset_mask) | (vaddr & page_offset_mask);
            return {true, paddr, 0, static_cast<unsigned>(12 + 9 * level)};
        }
    }
    return fault;
}

}  // namespace vessel::riscv
