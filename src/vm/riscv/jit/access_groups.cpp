// Access groups: one TLB check for a run of loads or stores off the same base register (see
// Compiler::AccessGroup). A function's prologue saves a dozen registers off sp and its epilogue
// reloads them; glibc clears a 256-byte table with 32 stores. Each access's own probe is about
// ten host instructions; inside a group it is three.
#include <algorithm>
#include <bit>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

namespace {

// A span this wide still lies in one page for most base addresses, so the check rarely misses.
constexpr int32_t kMaxGroupSpan = 2048;

}  // namespace

void Compiler::plan_access_groups() {
    const auto size = static_cast<uint32_t>(instructions_.size());
    groups_.clear();
    group_of_.assign(size, -1);
    // Groups still open at the instruction being looked at, by index into groups_ (a slot each).
    std::vector<int> open;
    auto slot_free = [&](uint8_t slot) {
        return std::none_of(open.begin(), open.end(), [&](int group) {
            return groups_[static_cast<size_t>(group)].slot == slot;
        });
    };
    for (uint32_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        // Code a jump enters, or that may change what the TLB maps (a helper, a system
        // instruction, a straddling instruction's fetch), starts afresh: the check must
        // dominate every access that relies on it.
        const bool straddles = (pcs_[i] & 0xfff) == 0xffe && insn.length == 4;
        if (entry_labels_[i] || straddles || is_csr(insn.op) || is_amo(insn.op) ||
            !translatable(insn.op) || insn.op == Op::fence)
            open.clear();
        const bool load = is_integer_load(insn.op);
        const bool store = is_integer_store(insn.op);
        if (load || store) {
            const auto low = static_cast<int32_t>(insn.imm);
            const auto high = low + static_cast<int32_t>(access_size(insn.op));
            auto same = std::find_if(open.begin(), open.end(), [&](int group) {
                const AccessGroup& candidate = groups_[static_cast<size_t>(group)];
                return candidate.store == store && instructions_[candidate.leader].rs1 == insn.rs1;
            });
            if (same != open.end()) {
                AccessGroup& group = groups_[static_cast<size_t>(*same)];
                const int32_t new_low = std::min(group.low, low);
                const int32_t new_high = std::max(group.high, high);
                if (new_high - new_low <= kMaxGroupSpan) {
                    group.low = new_low;
                    group.high = new_high;
                    ++group.members;
                    group_of_[i] = *same;
                } else {
                    open.erase(same);
                }
            }
            if (group_of_[i] < 0 && open.size() < RunState::kAccessGroupSlots) {
                uint8_t slot = 0;
                while (!slot_free(slot))
                    ++slot;
                groups_.push_back({low, high, i, slot, store, 1});
                group_of_[i] = static_cast<int>(groups_.size() - 1);
                open.push_back(group_of_[i]);
            }
        }
        // A write to a group's base register ends it (an f register of the same number too:
        // harmless). The access that writes it still belongs: its address is read first.
        if (!store && !is_branch(insn.op) && insn.rd != 0)
            std::erase_if(open, [&](int group) {
                return instructions_[groups_[static_cast<size_t>(group)].leader].rs1 == insn.rd;
            });
    }
    // A group of one gains nothing from its check.
    for (int& group : group_of_)
        if (group >= 0 && groups_[static_cast<size_t>(group)].members < 2) group = -1;
}

void Compiler::emit_group_check(const AccessGroup& group, unsigned base) {
    const int32_t tlb = group.store ? layout_.tlb_store : layout_.tlb_load;
    Xbyak::Label& miss = new_label();
    Xbyak::Label& done = new_label();
    if (const Xbyak::Reg64* host = cached_[base])
        lea(rax, ptr[*host + group.low]);
    else {
        mov(rax, guest(base));
        if (group.low) add(rax, group.low);
    }
    emit_tlb_index();
    // The entry for the span's first byte must hold the page of its last: then both are one
    // page (the span is under a page, and the entry's index is its page's).
    lea(rdx, ptr[rax + (group.high - group.low - 1)]);
    and_(rdx, -4096);
    emit_data_key();
    emit_tlb_tag_check(tlb, miss);
    if (group.store) {
        // A page holding code: each store takes its own probe, whose slow path tells the caches.
        mov(rdx, qword[rbx + rcx + tlb + layout_.tlb_code_flag]);
        cmp(byte[rdx], 0);
        jne(miss, T_NEAR);
    }
    mov(rdx, qword[rbx + rcx + tlb + layout_.tlb_addend]);
    L(done);
    mov(qword[r12 + offsetof(RunState, group_addend) + 8 * group.slot], rdx);
    deferred_.push_back([this, &miss, &done] {
        L(miss);
        xor_(edx, edx);
        jmp(done, T_NEAR);
    });
}

void Compiler::emit_grouped_access(const Insn& insn, uint64_t pc, uint32_t index,
                                   const AccessGroup& group) {
    Xbyak::Label& probe = new_label();
    Xbyak::Label& join = new_label();
    if (group.leader == index)
        emit_group_check(group, insn.rs1);  // leaves the addend in rdx
    else
        mov(rdx, qword[r12 + offsetof(RunState, group_addend) + 8 * group.slot]);
    // 0: the span missed (an addend of 0 only costs this access its probe).
    test(rdx, rdx);
    jz(probe, T_NEAR);
    const Xbyak::Reg64* base = cached_[insn.rs1];
    if (!base) {
        mov(rax, guest(insn.rs1));
        base = &rax;
    }
    const Xbyak::RegExp address = *base + rdx + static_cast<int32_t>(insn.imm);
    if (group.store) {
        const unsigned size = access_size(insn.op);
        const Xbyak::Reg64* value = cached_[insn.rs2];
        if (!value && insn.rs2 != 0) {
            mov(rcx, guest(insn.rs2));
            value = &rcx;
        }
        switch (size) {
            case 1:
                value ? mov(byte[address], value->cvt8()) : mov(byte[address], 0);
                break;
            case 2:
                value ? mov(word[address], value->cvt16()) : mov(word[address], 0);
                break;
            case 4:
                value ? mov(dword[address], value->cvt32()) : mov(dword[address], 0);
                break;
            default:
                value ? mov(qword[address], *value) : mov(qword[address], 0);
                break;
        }
    } else {
        emit_load_to_rd(insn, address);
    }
    L(join);
    // The span missed (a page boundary inside it, a TLB miss, a page holding code): the access
    // with its own TLB probe, in shared code.
    deferred_.push_back([this, &probe, &join, insn, pc, index, store = group.store] {
        L(probe);
        if (const Xbyak::Reg64* host = cached_[insn.rs1])
            lea(rax, ptr[*host + static_cast<int32_t>(insn.imm)]);
        else {
            mov(rax, guest(insn.rs1));
            if (insn.imm) add(rax, insn.imm);
        }
        const unsigned log2 = std::countr_zero(access_size(insn.op));
        if (store) {
            emit_store_value(insn);
            emit_pc_argument(pc);
            emit_rel32(0xe8, helpers_.store_probe_thunk[log2]);
            test(al, al);
            jz(trap_exit(index), T_NEAR);
            // A store to code or to a device: what this block (or the next) assumed may be gone.
            cmp(byte[rbx + layout_.end_block], 0);
            jne(leave_exit(pc + insn.length, index + 1), T_NEAR);
        } else {
            emit_pc_argument(pc);
            emit_rel32(0xe8, helpers_.load_probe_thunk[log2]);
            test(al, al);
            jz(trap_exit(index), T_NEAR);
            emit_load_to_rd(insn, rdx);
        }
        jmp(join, T_NEAR);
    });
}

}  // namespace vessel::riscv::jit
