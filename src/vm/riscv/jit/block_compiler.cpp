#include "vm/riscv/jit/block_compiler.h"

#include <cstring>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

void Compiler::load_cached_registers() {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index]) mov(*cached_[index], guest_slot(index));
}

void Compiler::write_back_cached_registers(uint32_t mask) {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index] && written_[index] && (mask >> index & 1))
            mov(guest_slot(index), *cached_[index]);
}

void Compiler::reload_caller_saved_registers() {
    for (unsigned index = 1; index < 32; ++index) {
        const Xbyak::Reg64* host = cached_[index];
        // rsi, rdi, r8-r11 only: rbp and r13-r15 survive calls.
        if (host && host->getIdx() >= 6 && host->getIdx() <= 11) mov(*host, guest_slot(index));
    }
}

void Compiler::emit_internal_jump(uint32_t from, unsigned to) {
    // Exits count instret by an instruction's position in the block; a jump that skips or
    // repeats instructions corrects the count by the difference.
    const int32_t correction = static_cast<int32_t>(from + 1) - static_cast<int32_t>(to);
    if (to <= from) {
        Xbyak::Label& leave = leave_exit(pcs_[to], from + 1);
        cmp(byte[rbx + layout_.attention], 0);
        jne(leave, T_NEAR);
        sub(dword[r12 + offsetof(RunState, budget)], 1);
        jle(leave, T_NEAR);
    }
    if (correction) add(qword[rbx + layout_.instret], correction);
    jmp(*entry_labels_[to], T_NEAR);
}

CompiledBlock Compiler::compile() {
    // Decode first: the register choice and the jump targets need the whole block.
    decode_block();
    if (instructions_.empty()) return {};
    focus_on_one_loop();

    const auto size = static_cast<uint32_t>(instructions_.size());
    entry_labels_.assign(size, nullptr);
    auto mark_target = [&](uint64_t target) {
        const int to = internal_index(target);
        if (to >= 0 && !entry_labels_[to]) entry_labels_[to] = &new_label();
    };
    for (uint32_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        if (is_branch(insn.op) || insn.op == Op::jal)
            mark_target(pcs_[i] + static_cast<int64_t>(insn.imm));
        if (!ends_block(insn.op) && (i + 1 == size || pcs_[i + 1] != pcs_[i] + insn.length))
            mark_target(pcs_[i] + insn.length);
    }
    const auto entry = static_cast<uint32_t>(internal_index(request_.vaddr));
    if (!entry_labels_[entry]) entry_labels_[entry] = &new_label();

    allocate_registers(instructions_);
    compute_written_masks();
    plan_access_groups();
    load_cached_registers();
    // Exits count instret by position in the block (see emit_internal_jump): entering past
    // the first instruction is a jump there.
    if (entry) {
        add(qword[rbx + layout_.instret], -static_cast<int32_t>(entry));
        jmp(*entry_labels_[entry], T_NEAR);
    }
    for (uint32_t i = 0; i < size; ++i) {
        const Insn& insn = instructions_[i];
        if (entry_labels_[i]) L(*entry_labels_[i]);
        if ((pcs_[i] & 0xfff) == 0xffe && insn.length == 4) emit_straddle_guard(pcs_[i], i);
        if (emit(insn, pcs_[i], i)) continue;
        // Falling through to an instruction emitted elsewhere, or not in the block at all.
        const uint64_t next_pc = pcs_[i] + insn.length;
        if (i + 1 < size && pcs_[i + 1] == next_pc) continue;
        if (const int to = internal_index(next_pc); to >= 0)
            emit_internal_jump(i, static_cast<unsigned>(to));
        else
            emit_exit(next_pc, i + 1);
    }
    // The deferred pieces may add more (a slow path's trap exit): run until none are left.
    for (size_t i = 0; i < deferred_.size(); ++i)
        deferred_[i]();
    L(exit_tail_);
    write_back_cached_registers();
    ret();
    return {getSize(), size};
}

void Compiler::emit_store_pc(uint64_t pc) {
    mov(rcx, pc);
    mov(qword[rbx + layout_.pc], rcx);
}

void Compiler::emit_straddle_guard(uint64_t pc, uint32_t retired) {
    // The instruction was decoded from the next page as it was mapped then. Each time: the
    // fetch TLB still maps that page there in way 0 (the interpreter and fetch_slow put it
    // there) and its half is unchanged; otherwise the interpreter runs it (out of date), or the
    // fetch traps.
    const uint64_t next_page = pc + 2;
    const int32_t entry =
        layout_.tlb_fetch + static_cast<int32_t>(((next_page >> 12) & (layout_.tlb_sets - 1)) *
                                                 static_cast<uint64_t>(layout_.tlb_entry_size));
    const uint64_t addend = reinterpret_cast<uintptr_t>(request_.next_host_page) - next_page;
    Xbyak::Label& check = new_label();
    Xbyak::Label& miss = new_label();
    Xbyak::Label& out_of_date = new_label();
    L(check);
    mov(rdx, next_page);
    or_(rdx, qword[rbx + layout_.fetch_key]);
    cmp(rdx, qword[rbx + entry]);
    jne(miss, T_NEAR);
    mov(rax, addend);
    cmp(rax, qword[rbx + entry + layout_.tlb_addend]);
    jne(out_of_date, T_NEAR);
    mov(rax, reinterpret_cast<uintptr_t>(request_.next_host_page));
    // Sign-extended: Xbyak takes a 16-bit immediate as a signed one.
    cmp(word[rax],
        static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(straddle_high_))));
    jne(out_of_date, T_NEAR);
    deferred_.push_back([this, &check, &miss, &out_of_date, pc, next_page, retired] {
        L(miss);
        mov(rax, next_page);
        emit_pc_argument(pc);
        emit_rel32(0xe8, helpers_.fetch_thunk);
        test(al, al);
        jz(trap_exit(retired), T_NEAR);
        jmp(check, T_NEAR);
        L(out_of_date);
        mov(byte[r12 + offsetof(RunState, interpret_next)], 1);
        jmp(leave_exit(pc, retired), T_NEAR);
    });
}

void Compiler::emit_pc_argument(uint64_t pc) {
    if (pc <= 0xffffffffu)
        mov(edx, static_cast<uint32_t>(pc));
    else
        mov(rdx, pc);
}

void Compiler::emit_rel32(uint8_t opcode, const uint8_t* target) {
    // The displacement is from where the next instruction will run.
    const uint8_t* next_instruction = exec_base_ + getSize() + 5;
    db(opcode);
    dd(static_cast<uint32_t>(static_cast<int32_t>(target - next_instruction)));
}

Xbyak::Label& Compiler::trap_exit(uint32_t retired) {
    if (auto found = trap_exits_.find(retired); found != trap_exits_.end()) return *found->second;
    Xbyak::Label& label = new_label();
    trap_exits_[retired] = &label;
    deferred_.push_back([this, &label, retired] {
        L(label);
        if (retired) add(qword[rbx + layout_.instret], retired);
        jmp(exit_tail_, T_NEAR);
    });
    return label;
}

Xbyak::Label& Compiler::leave_exit(uint64_t next_pc, uint32_t retired) {
    auto key = std::make_pair(next_pc, retired);
    if (auto found = leave_exits_.find(key); found != leave_exits_.end()) return *found->second;
    Xbyak::Label& label = new_label();
    leave_exits_[key] = &label;
    deferred_.push_back([this, &label, next_pc, retired] {
        L(label);
        add(qword[rbx + layout_.instret], retired);
        emit_store_pc(next_pc);
        jmp(exit_tail_, T_NEAR);
    });
    return label;
}

void Compiler::emit_exit(uint64_t next_pc, uint32_t retired) {
    // `retired` counts the exiting instruction: what it and those before may have written.
    write_back_cached_registers(written_after_[retired - 1]);
    add(qword[rbx + layout_.instret], retired);
    const bool same_page = ((next_pc ^ request_.vaddr) & ~uint64_t{0xfff}) == 0;
    // A known successor is entered without a lookup: directly for a loop back to this block,
    // through a jump the translator patches on first use (its link stub asks for it) otherwise.
    // On the same page it shares this block's mapping and generation word; on another page the
    // translator undoes the link when that page's mapping may have changed (TLB flushes) or its
    // code may have (fence.i).
    Xbyak::Label& leave = new_label();
    cmp(byte[rbx + layout_.attention], 0);
    jne(leave, T_NEAR);
    sub(dword[r12 + offsetof(RunState, budget)], 1);
    jle(leave, T_NEAR);
    {
        Xbyak::Label& site = new_label();
        Xbyak::Label& stub = new_label();
        L(site);
        jmp(stub, T_NEAR);  // always the 5-byte rel32 form, which linking rewrites
        deferred_.push_back([this, &site, &stub, next_pc, same_page] {
            L(stub);
            mov(rax, next_pc);
            // The executable address of `site`: this code runs there, so rip-relative is it.
            lea(rcx, ptr[rip + site]);
            emit_rel32(0xe9, helpers_.link_thunk[same_page ? 0 : 1]);
        });
    }
    deferred_.push_back([this, &leave, next_pc] {
        L(leave);
        mov(rax, next_pc);
        emit_rel32(0xe9, helpers_.leave_thunk);
    });
}

void Compiler::emit_dispatch_rax() {
    // The jump-cache lookup at the site itself: the final indirect jump is this site's own, which
    // the host predicts far better than one jump shared by every computed jump and return.
    Xbyak::Label& leave = new_label();
    mov(qword[rbx + layout_.pc], rax);
    cmp(byte[rbx + layout_.attention], 0);
    jne(leave, T_NEAR);
    sub(dword[r12 + offsetof(RunState, budget)], 1);
    jle(leave, T_NEAR);
    // Translator::jump_index(rax) * sizeof(JumpSlot)
    static_assert(sizeof(JumpSlot) == 16);
    mov(ecx, eax);
    mov(edx, eax);
    shr(ecx, 1);
    shr(edx, 13);
    xor_(ecx, edx);
    and_(ecx, Translator::kJumpCacheSlots - 1);
    shl(ecx, 4);
    mov(rdx, reinterpret_cast<uintptr_t>(request_.jump_cache));
    add(rdx, rcx);
    cmp(rax, qword[rdx + offsetof(JumpSlot, vaddr)]);
    jne(leave, T_NEAR);
    mov(rdx, qword[rdx + offsetof(JumpSlot, block)]);
    mov(rcx, qword[rdx + offsetof(Block, generation_word)]);
    mov(ecx, dword[rcx]);
    cmp(ecx, dword[rdx + offsetof(Block, generation)]);
    jne(leave, T_NEAR);
    jmp(qword[rdx + offsetof(Block, code)]);
    deferred_.push_back([this, &leave] {
        L(leave);
        ret();  // pc is stored and the registers written back: to the hart's loop
    });
}

bool Compiler::emit(const Insn& insn, uint64_t pc, uint32_t retired) {
    switch (insn.op) {
        case Op::jal: {
            if (insn.rd) {
                mov(rax, pc + insn.length);
                mov(guest(insn.rd), rax);
            }
            const uint64_t target = pc + static_cast<int64_t>(insn.imm);
            if (const int to = internal_index(target); to >= 0)
                emit_internal_jump(retired, static_cast<unsigned>(to));
            else
                emit_exit(target, retired + 1);
            return true;
        }
        case Op::jalr:
            mov(rax, guest(insn.rs1));
            if (insn.imm) add(rax, insn.imm);
            and_(rax, -2);
            if (insn.rd) {
                mov(rcx, pc + insn.length);
                mov(guest(insn.rd), rcx);
            }
            write_back_cached_registers(written_after_[retired]);
            add(qword[rbx + layout_.instret], retired + 1);
            emit_dispatch_rax();
            return true;
        case Op::beq:
        case Op::bne:
        case Op::blt:
        case Op::bge:
        case Op::bltu:
        case Op::bgeu:
            if (try_emit_select(insn, retired)) return true;
            emit_branch(insn, pc, retired);
            return false;
        case Op::lb:
        case Op::lh:
        case Op::lw:
        case Op::ld:
        case Op::lbu:
        case Op::lhu:
        case Op::lwu:
            emit_load(insn, pc, retired);
            return false;
        case Op::sb:
        case Op::sh:
        case Op::sw:
        case Op::sd:
            emit_store(insn, pc, retired);
            return false;
        case Op::fence:
            // Harts run on host threads: a fence ordering stores before loads needs the host's
            // full barrier (x86-64 keeps every other ordering by itself).
            if (insn.imm) mfence();
            return false;
        case Op::div:
            emit_division(insn);
            return false;
        case Op::divu:
            emit_division(insn);
            return false;
        case Op::rem:
            emit_division(insn);
            return false;
        case Op::remu:
            emit_division(insn);
            return false;
        case Op::divw:
            emit_division(insn);
            return false;
        case Op::divuw:
            emit_division(insn);
            return false;
        case Op::remw:
            emit_division(insn);
            return false;
        case Op::remuw:
            emit_division(insn);
            return false;
        default:
            break;
    }
    if (is_amo(insn.op)) {
        emit_helper_call(insn, helpers_.amo, pc, retired);
        return false;
    }
    if (is_csr(insn.op)) {
        emit_helper_call(insn, helpers_.csr, pc, retired);
        return false;
    }
    if (is_fp(insn.op)) {
        emit_fp(insn, pc, retired);
        return false;
    }
    if (insn.op == Op::auipc) {
        if (insn.rd) {
            mov(rax, pc + static_cast<int64_t>(insn.imm));
            mov(guest(insn.rd), rax);
        }
        return false;
    }
    emit_alu(insn);
    return false;
}

void Compiler::emit_branch(const Insn& insn, uint64_t pc, uint32_t retired) {
    Xbyak::Label& taken = new_label();
    emit_compare(insn, rax);
    switch (insn.op) {
        case Op::beq:
            je(taken, T_NEAR);
            break;
        case Op::bne:
            jne(taken, T_NEAR);
            break;
        case Op::blt:
            jl(taken, T_NEAR);
            break;
        case Op::bge:
            jge(taken, T_NEAR);
            break;
        case Op::bltu:
            jb(taken, T_NEAR);
            break;
        default:
            jae(taken, T_NEAR);
            break;
    }
    // The taken side's exit goes out of line: the fall-through path runs straight on.
    const uint64_t target = pc + static_cast<int64_t>(insn.imm);
    deferred_.push_back([this, &taken, target, retired] {
        L(taken);
        if (const int to = internal_index(target); to >= 0)
            emit_internal_jump(retired, static_cast<unsigned>(to));
        else
            emit_exit(target, retired + 1);
    });
}

void Compiler::emit_helper_call(const Insn& insn, const void* helper, uint64_t pc,
                                uint32_t retired) {
    uint64_t words[2] = {};
    std::memcpy(words, &insn, sizeof insn);
    // The helpers read and write the Hart's registers: they must hold the values.
    write_back_cached_registers(written_before_[retired]);
    emit_store_pc(pc);
    mov(rdi, rbx);
    mov(rsi, words[0]);
    mov(rdx, words[1]);
    mov(rcx, r12);  // the RunState, for the helpers that take it
    emit_call(helper);
    test(al, al);
    jz(trap_exit(retired), T_NEAR);
    // The helpers write x[rd] whatever rd is; x0 must read as zero again.
    if (insn.rd == 0) mov(qword[rbx + layout_.x], 0);
    if (cached_[insn.rd]) mov(*cached_[insn.rd], guest_slot(insn.rd));
    cmp(byte[rbx + layout_.end_block], 0);
    jne(leave_exit(pc + insn.length, retired + 1), T_NEAR);
}

void Compiler::emit_call(const void* function) {
    stmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    ldmxcsr(dword[r12 + offsetof(RunState, host_mxcsr)]);
    mov(rax, reinterpret_cast<uintptr_t>(function));
    call(rax);
    ldmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    // From the slots: a helper may have written the guest register there.
    reload_caller_saved_registers();
}

Result<CompiledBlock> compile_block(const CompileRequest& request, const HartLayout& layout,
                                    const Helpers& helpers, CodeBuffer& buffer) {
    try {
        Compiler compiler(request, layout, helpers, buffer);
        return compiler.compile();
    } catch (const Xbyak::Error& error) {
        return fail("translating the block at {:#x}: {}", request.vaddr, error.what());
    }
}

}  // namespace vessel::riscv::jit
