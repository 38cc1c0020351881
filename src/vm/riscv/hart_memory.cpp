// Guest data accesses: the TLB slow paths, MMIO dispatch, page-crossing (misaligned) accesses and
// the atomics. Misaligned ordinary loads and stores are performed transparently, as QEMU does;
// misaligned LR/SC/AMOs raise address-misaligned exceptions.
#include <algorithm>
#include <cstring>

#include "vm/riscv/hart.h"
#include "vm/riscv/hart_memory_inl.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {

Priv Hart::data_priv() const {
    if (priv_ == Priv::machine && (mstatus_ & kMstatusMprv))
        return static_cast<Priv>((mstatus_ & kMstatusMpp) >> 11);
    return priv_;
}

void Hart::recompute_privilege_keys() {
    fetch_key_ = static_cast<uint64_t>(priv_);
    // SUM only matters to supervisor accesses: user mode's key stays 0 (MXR aside), which
    // translated user code relies on (CompileRequest::user_mode).
    const Priv data = data_priv();
    data_key_ = static_cast<uint64_t>(data) |
                ((data == Priv::supervisor && (mstatus_ & kMstatusSum)) ? 4 : 0) |
                ((mstatus_ & kMstatusMxr) ? 8 : 0);
}

void Hart::flush_tlb() {
    for (auto& table : tlb_)
        for (auto& way : table)
            for (auto& entry : way)
                entry.tag = kInvalidTag;
    // The translator's jump caches map virtual pcs to blocks as the fetch TLB does.
    if (translator_) translator_->flush_jump_caches();
    superpage_low_ = ~uint64_t{0};
    superpage_high_ = 0;
}

void Hart::note_superpage(uint64_t vaddr, unsigned page_shift) {
    if (page_shift <= 12) return;
    uint64_t base = vaddr & ~((uint64_t{1} << page_shift) - 1);
    superpage_low_ = std::min(superpage_low_, base);
    superpage_high_ = std::max(superpage_high_, base + (uint64_t{1} << page_shift) - 1);
}

void Hart::flush_tlb_page(uint64_t vaddr) {
    // The TLBs hold 4 KiB pieces of superpages: a fence naming an address inside one must drop
    // every piece of it, which only a full flush finds.
    if (vaddr >= superpage_low_ && vaddr <= superpage_high_) {
        flush_tlb();
        return;
    }
    const uint64_t page = vaddr & ~uint64_t{0xfff};
    for (auto& table : tlb_)
        for (auto& way : table) {
            TlbEntry& entry = way[tlb_set(vaddr)];
            if ((entry.tag & ~uint64_t{0xfff}) == page) entry.tag = kInvalidTag;
        }
    if (translator_) translator_->flush_jump_cache_page(page);
}

bool Hart::translate_data(uint64_t vaddr, Access access, uint64_t& paddr, uint8_t*& host) {
    // What a walk would find, when the TLB holds it (the inline paths look in way 0 only).
    const uint64_t tag = (vaddr & ~uint64_t{0xfff}) | data_key_;
    if (const TlbEntry* entry = tlb_lookup(access, vaddr, tag)) {
        paddr = entry->paddr_page | (vaddr & 0xfff);
        host = reinterpret_cast<uint8_t*>(vaddr + entry->addend);
        return true;
    }
    WalkRequest request{satp_, data_priv(), (mstatus_ & kMstatusSum) != 0,
                        (mstatus_ & kMstatusMxr) != 0};
    WalkResult result = translate(machine_.memory, request, vaddr, access);
    if (!result.ok) {
        raise(result.fault_cause, vaddr);
        return false;
    }
    note_superpage(vaddr, result.page_shift);
    paddr = result.paddr;
    uint64_t page = paddr & ~uint64_t{0xfff};
    uint8_t* page_host = machine_.memory.host_pointer(page, 0x1000);
    if (!page_host) {
        host = nullptr;
        return true;
    }
    host = page_host + (paddr & 0xfff);
    // --- Debugger hook: while load/store triggers are armed every access takes the slow path.
    if (__builtin_expect(watching_data_, 0)) return true;
    TlbEntry& entry = tlb_fill_slot(access, vaddr);
    entry.tag = tag;
    entry.addend = reinterpret_cast<uintptr_t>(page_host) - (vaddr & ~uint64_t{0xfff});
    entry.paddr_page = page;
    entry.code_flag = machine_.code_pages.code_flag(page);
    if (!entry.code_flag) entry.tag = kInvalidTag;  // RAM outside the tracked span: slow path
    return true;
}

bool Hart::load_slow(uint64_t vaddr, unsigned size, uint64_t& out) {
    // --- Debugger hook (hart_debug.cpp): load triggers and watchpoints.
    if (__builtin_expect(watching_data_, 0) && !data_access_allowed(vaddr, size, Access::load))
        return false;
    if ((vaddr & 0xfff) + size > 0x1000) {
        uint64_t value = 0;
        for (unsigned i = 0; i < size; ++i) {
            uint8_t byte;
            if (!load<uint8_t>(vaddr + i, byte)) return false;
            value |= uint64_t{byte} << (8 * i);
        }
        out = value;
        return true;
    }
    uint64_t paddr;
    uint8_t* host;
    if (!translate_data(vaddr, Access::load, paddr, host)) return false;
    if (host) {
        out = 0;
        std::memcpy(&out, host, size);
        return true;
    }
    uint64_t value = 0;
    if ((paddr & (size - 1)) || !machine_.bus.read(paddr, size, value)) {
        raise(cause::load_access, vaddr);
        return false;
    }
    out = value;
    return true;
}

bool Hart::store_slow(uint64_t vaddr, unsigned size, uint64_t value) {
    // --- Debugger hook (hart_debug.cpp): store triggers and watchpoints.
    if (__builtin_expect(watching_data_, 0) && !data_access_allowed(vaddr, size, Access::store))
        return false;
    if ((vaddr & 0xfff) + size > 0x1000) {
        // Check both pages before writing anything, so a fault leaves memory unchanged.
        uint64_t paddr;
        uint8_t* host;
        uint64_t second = (vaddr + size - 1) & ~uint64_t{0xfff};
        if (!translate_data(vaddr, Access::store, paddr, host)) return false;
        if (!translate_data(second, Access::store, paddr, host)) return false;
        for (unsigned i = 0; i < size; ++i)
            if (!store<uint8_t>(vaddr + i, static_cast<uint8_t>(value >> (8 * i)))) return false;
        return true;
    }
    uint64_t paddr;
    uint8_t* host;
    if (!translate_data(vaddr, Access::store, paddr, host)) return false;
    if (host) {
        std::memcpy(host, &value, size);
        auto* flag = machine_.code_pages.code_flag(paddr);
        if (flag && CodePages::holds_code(flag)) {
            machine_.code_pages.code_written(paddr);
            code_store_seen_ = true;
            end_block_ = true;
        }
        return true;
    }
    if ((paddr & (size - 1)) || !machine_.bus.write(paddr, size, value)) {
        raise(cause::store_access, vaddr);
        return false;
    }
    // A device write may have changed what this hart sees (its own timer compare, IPIs).
    end_block_ = true;
    return true;
}

uint8_t* Hart::amo_pointer(uint64_t vaddr, unsigned size, uint64_t& paddr) {
    if (vaddr & (size - 1)) {
        raise(cause::misaligned_store, vaddr);
        return nullptr;
    }
    uint8_t* host;
    if (!translate_data(vaddr, Access::store, paddr, host)) return nullptr;
    if (!host) {
        raise(cause::store_access, vaddr);
        return nullptr;
    }
    auto* flag = machine_.code_pages.code_flag(paddr);
    if (flag && CodePages::holds_code(flag)) {
        machine_.code_pages.code_written(paddr);
        code_store_seen_ = true;
        end_block_ = true;
    }
    return host;
}

namespace {

template <typename T>
T amo_apply(Op op, T old_value, T operand) {
    using S = std::make_signed_t<T>;
    switch (op) {
        case Op::amoswap_w:
        case Op::amoswap_d:
            return operand;
        case Op::amoadd_w:
        case Op::amoadd_d:
            return old_value + operand;
        case Op::amoxor_w:
        case Op::amoxor_d:
            return old_value ^ operand;
        case Op::amoand_w:
        case Op::amoand_d:
            return old_value & operand;
        case Op::amoor_w:
        case Op::amoor_d:
            return old_value | operand;
        case Op::amomin_w:
        case Op::amomin_d:
            return static_cast<S>(old_value) < static_cast<S>(operand) ? old_value : operand;
        case Op::amomax_w:
        case Op::amomax_d:
            return static_cast<S>(old_value) > static_cast<S>(operand) ? old_value : operand;
        case Op::amominu_w:
        case Op::amominu_d:
            return old_value < operand ? old_value : operand;
        default:
            return old_value > operand ? old_value : operand;
    }
}

template <typename T>
T amo_execute(T* pointer, Op op, T operand) {
    T old_value = __atomic_load_n(pointer, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(pointer, &old_value, amo_apply(op, old_value, operand),
                                        true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
    }
    return old_value;
}

}  // namespace

// LR/SC: LR records the physical address and the value it read; SC succeeds only if it targets
// the same address and a host compare-and-swap from that value succeeds. A store by any hart
// that changes the word therefore breaks the reservation without a shared reservation table
// (the ABA case — a store writing back the same value — is allowed by the ISA's forward-progress
// rules). Traps clear the reservation.
bool Hart::execute_amo(const Insn& insn) {
    // --- Debugger hook (hart_debug.cpp): load/store triggers on LR, SC and AMOs.
    if (__builtin_expect(watching_data_, 0) && !amo_access_allowed(insn)) return false;
    bool doubleword = insn.op >= Op::lr_d;
    unsigned size = doubleword ? 8 : 4;
    uint64_t vaddr = x_[insn.rs1];
    uint64_t paddr;
    if (insn.op == Op::lr_w || insn.op == Op::lr_d) {
        if (vaddr & (size - 1)) {
            raise(cause::misaligned_load, vaddr);
            return false;
        }
        uint8_t* host;
        if (!translate_data(vaddr, Access::load, paddr, host)) return false;
        if (!host) {
            raise(cause::load_access, vaddr);
            return false;
        }
        uint64_t value;
        if (doubleword) {
            value = __atomic_load_n(reinterpret_cast<uint64_t*>(host), __ATOMIC_ACQUIRE);
            x_[insn.rd] = value;
        } else {
            value = __atomic_load_n(reinterpret_cast<uint32_t*>(host), __ATOMIC_ACQUIRE);
            x_[insn.rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value)));
        }
        reservation_paddr_ = paddr;
        reservation_value_ = value;
        return true;
    }
    uint8_t* host = amo_pointer(vaddr, size, paddr);
    if (!host) return false;
    if (insn.op == Op::sc_w || insn.op == Op::sc_d) {
        bool success = false;
        if (reservation_paddr_ == paddr) {
            if (doubleword) {
                uint64_t expected = reservation_value_;
                success = __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(host), &expected,
                                                      x_[insn.rs2], false, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_RELAXED);
            } else {
                auto expected = static_cast<uint32_t>(reservation_value_);
                success = __atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(host), &expected,
                                                      static_cast<uint32_t>(x_[insn.rs2]), false,
                                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
            }
        }
        reservation_paddr_ = ~uint64_t{0};
        x_[insn.rd] = success ? 0 : 1;
        return true;
    }
    if (doubleword) {
        x_[insn.rd] = amo_execute(reinterpret_cast<uint64_t*>(host), insn.op, x_[insn.rs2]);
    } else {
        uint32_t old_value = amo_execute(reinterpret_cast<uint32_t*>(host), insn.op,
                                         static_cast<uint32_t>(x_[insn.rs2]));
        x_[insn.rd] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(old_value)));
    }
    return true;
}

}  // namespace vessel::riscv
