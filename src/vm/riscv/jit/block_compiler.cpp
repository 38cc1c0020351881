#include "vm/riscv/jit/block_compiler.h"

#include <algorithm>
#include <cstring>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

namespace {

// What the interpreter runs instead (one instruction, then back to the translator).
bool translatable(Op op) {
    switch (op) {
        case Op::undecoded:
        case Op::end_of_page:
        case Op::illegal:
        case Op::fence_i:
        case Op::ecall:
        case Op::ebreak:
        case Op::mret:
        case Op::sret:
        case Op::wfi:
        case Op::sfence_vma:
        case Op::csrrw:
        case Op::csrrs:
        case Op::csrrc:
        case Op::csrrwi:
        case Op::csrrsi:
        case Op::csrrci:
            return false;
        default:
            return true;
    }
}

// Unconditional jumps end a block. A conditional branch does not: its taken side leaves, and
// the block goes on along the fall-through path, so a loop body with early exits is one block
// whose guest registers stay in host registers throughout.
bool ends_block(Op op) {
    return op == Op::jal || op == Op::jalr;
}

bool is_branch(Op op) {
    return op >= Op::beq && op <= Op::bgeu;
}

bool is_amo(Op op) {
    return op >= Op::lr_w && op <= Op::amomaxu_d;
}
bool is_fp(Op op) {
    return op >= Op::flw && op <= Op::fcvt_d_s;
}

}  // namespace

void Compiler::allocate_registers(const std::vector<Insn>& instructions) {
    unsigned uses[32] = {};
    for (const Insn& insn : instructions) {
        // An upper bound of what each instruction touches is enough: the choice only affects
        // speed. Every cached register is loaded on entry; those any instruction may write
        // (its rd, even when rd names an f register) are written back at every exit.
        written_[insn.rd] = true;
        ++uses[insn.rd];
        ++uses[insn.rs1];
        ++uses[insn.rs2];
    }
    uses[0] = 0;
    // Callee-saved first; r8-r11 are caller-saved, so emit_call() puts them in their slots
    // around calls. None of them is a scratch register of the emitted code (rax, rcx, rdx,
    // rsi, rdi) or an argument register of the calls it makes with up to four arguments.
    static const Xbyak::Reg64* const kHostRegisters[] = {&rbp, &r13, &r14, &r15,
                                                         &r8,  &r9,  &r10, &r11};
    for (const Xbyak::Reg64* host : kHostRegisters) {
        unsigned best = 0;
        for (unsigned index = 1; index < 32; ++index)
            if (!cached_[index] && uses[index] > uses[best]) best = index;
        // A register used once costs a load and a store to cache: not worth it.
        if (best == 0 || uses[best] < 2) break;
        cached_[best] = host;
        cached32_[best] = host->cvt32();
        uses[best] = 0;
    }
}

void Compiler::load_cached_registers() {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index]) mov(*cached_[index], guest_slot(index));
}

void Compiler::write_back_cached_registers() {
    for (unsigned index = 1; index < 32; ++index)
        if (cached_[index] && written_[index]) mov(guest_slot(index), *cached_[index]);
}

void Compiler::save_caller_saved_registers(bool reload) {
    for (unsigned index = 1; index < 32; ++index) {
        const Xbyak::Reg64* host = cached_[index];
        // r8-r11 only: rbp and r13-r15 survive calls.
        if (!host || host->getIdx() < 8 || host->getIdx() > 11) continue;
        if (reload)
            mov(*host, guest_slot(index));
        else
            mov(guest_slot(index), *host);
    }
}

void Compiler::decode_block() {
    const uint64_t page_base = request_.vaddr & ~uint64_t{0xfff};
    uint64_t furthest_target = 0;  // the furthest forward branch or jump target on this page
    uint64_t pc = request_.vaddr;
    for (;;) {
        unsigned offset = static_cast<unsigned>(pc - page_base);
        if (offset >= 0x1000) break;
        uint16_t low;
        std::memcpy(&low, request_.host_page + offset, 2);
        Insn insn;
        if (instruction_length(low) == 2) {
            insn = decode_compressed(low);
        } else if (offset <= 0xffc) {
            uint32_t raw;
            std::memcpy(&raw, request_.host_page + offset, 4);
            insn = decode(raw);
        } else {
            insn.op = Op::undecoded;  // straddles the page end: the interpreter's
        }
        if (!translatable(insn.op)) break;
        instructions_.push_back(insn);
        pcs_.push_back(pc);
        const uint64_t insn_pc = pc;
        pc += insn.length;
        if (instructions_.size() == Translator::kMaxBlockInstructions) break;
        if (is_branch(insn.op) || insn.op == Op::jal) {
            const uint64_t target = insn_pc + static_cast<int64_t>(insn.imm);
            if (target > insn_pc && ((target ^ page_base) & ~uint64_t{0xfff}) == 0)
                furthest_target = std::max(furthest_target, target);
        }
        // Past an unconditional jump the code is reached only through an earlier jump to it.
        if (ends_block(insn.op) && pc > furthest_target) break;
    }
}

int Compiler::internal_index(uint64_t target) const {
    auto found = std::lower_bound(pcs_.begin(), pcs_.end(), target);
    if (found == pcs_.end() || *found != target) return -1;
    return static_cast<int>(found - pcs_.begin());
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

    entry_labels_.assign(instructions_.size(), nullptr);
    for (size_t i = 0; i < instructions_.size(); ++i) {
        const Insn& insn = instructions_[i];
        if (!is_branch(insn.op) && insn.op != Op::jal) continue;
        const int to = internal_index(pcs_[i] + static_cast<int64_t>(insn.imm));
        if (to >= 0 && !entry_labels_[to]) entry_labels_[to] = &new_label();
    }
    allocate_registers(instructions_);
    load_cached_registers();
    uint32_t count = 0;
    bool ended = false;
    for (const Insn& insn : instructions_) {
        if (entry_labels_[count]) L(*entry_labels_[count]);
        ended = emit(insn, pcs_[count], count);
        ++count;
    }
    if (!ended) emit_exit(pcs_.back() + instructions_.back().length, count);
    // The deferred pieces may add more (a slow path's trap exit): run until none are left.
    for (size_t i = 0; i < deferred_.size(); ++i)
        deferred_[i]();
    L(return_);
    ret();
    return {getSize(), count};
}

void Compiler::emit_store_pc(uint64_t pc) {
    mov(rcx, pc);
    mov(qword[rbx + layout_.pc], rcx);
}

Xbyak::Label& Compiler::trap_exit(uint32_t retired) {
    if (auto found = trap_exits_.find(retired); found != trap_exits_.end()) return *found->second;
    Xbyak::Label& label = new_label();
    trap_exits_[retired] = &label;
    deferred_.push_back([this, &label, retired] {
        L(label);
        write_back_cached_registers();
        if (retired) add(qword[rbx + layout_.instret], retired);
        jmp(return_, T_NEAR);
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
        write_back_cached_registers();
        add(qword[rbx + layout_.instret], retired);
        emit_store_pc(next_pc);
        jmp(return_, T_NEAR);
    });
    return label;
}

void Compiler::emit_exit(uint64_t next_pc, uint32_t retired) {
    write_back_cached_registers();
    if (retired) add(qword[rbx + layout_.instret], retired);
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
            emit_store_pc(next_pc);
            // The executable address of `site`: this code runs there, so rip-relative is it.
            lea(rcx, ptr[rip + site]);
            mov(qword[r12 + offsetof(RunState, link_site)], rcx);
            mov(byte[r12 + offsetof(RunState, link_cross_page)], same_page ? 0 : 1);
            jmp(return_, T_NEAR);
        });
    }
    deferred_.push_back([this, &leave, next_pc] {
        L(leave);
        emit_store_pc(next_pc);
        jmp(return_, T_NEAR);
    });
}

void Compiler::emit_dispatch_rax() {
    // jmp rel32 to the shared dispatcher: the displacement is from where this code will run.
    const uint8_t* next_instruction = exec_base_ + getSize() + 5;
    db(0xe9);
    dd(static_cast<uint32_t>(static_cast<int32_t>(request_.dispatch - next_instruction)));
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
            write_back_cached_registers();
            add(qword[rbx + layout_.instret], retired + 1);
            emit_dispatch_rax();
            return true;
        case Op::beq:
        case Op::bne:
        case Op::blt:
        case Op::bge:
        case Op::bltu:
        case Op::bgeu:
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
    mov(rax, guest(insn.rs1));
    cmp(rax, guest(insn.rs2));
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
    write_back_cached_registers();
    emit_store_pc(pc);
    mov(rdi, rbx);
    mov(rsi, words[0]);
    mov(rdx, words[1]);
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
    save_caller_saved_registers(false);
    stmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    ldmxcsr(dword[r12 + offsetof(RunState, host_mxcsr)]);
    mov(rax, reinterpret_cast<uintptr_t>(function));
    call(rax);
    ldmxcsr(dword[r12 + offsetof(RunState, guest_mxcsr)]);
    // From the slots: a helper may have written the guest register there.
    save_caller_saved_registers(true);
}

Result<size_t> emit_dispatch_stub(const JumpSlot* jump_cache, const HartLayout& layout,
                                  CodeBuffer& buffer) {
    try {
        Xbyak::CodeGenerator gen(buffer.free_bytes(), buffer.write_cursor());
        Xbyak::Label leave;
        gen.mov(gen.qword[gen.rbx + layout.pc], gen.rax);
        gen.cmp(gen.byte[gen.rbx + layout.attention], 0);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.sub(gen.dword[gen.r12 + offsetof(RunState, budget)], 1);
        gen.jle(leave, Xbyak::CodeGenerator::T_NEAR);
        // Translator::jump_index(rax) * sizeof(JumpSlot)
        static_assert(sizeof(JumpSlot) == 16);
        gen.mov(gen.ecx, gen.eax);
        gen.mov(gen.edx, gen.eax);
        gen.shr(gen.ecx, 1);
        gen.shr(gen.edx, 13);
        gen.xor_(gen.ecx, gen.edx);
        gen.and_(gen.ecx, Translator::kJumpCacheSlots - 1);
        gen.shl(gen.ecx, 4);
        gen.mov(gen.rdx, reinterpret_cast<uintptr_t>(jump_cache));
        gen.add(gen.rdx, gen.rcx);
        gen.cmp(gen.rax, gen.qword[gen.rdx + offsetof(JumpSlot, vaddr)]);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.mov(gen.rdx, gen.qword[gen.rdx + offsetof(JumpSlot, block)]);
        gen.mov(gen.rcx, gen.qword[gen.rdx + offsetof(Block, generation_word)]);
        gen.mov(gen.ecx, gen.dword[gen.rcx]);
        gen.cmp(gen.ecx, gen.dword[gen.rdx + offsetof(Block, generation)]);
        gen.jne(leave, Xbyak::CodeGenerator::T_NEAR);
        gen.jmp(gen.qword[gen.rdx + offsetof(Block, code)]);
        gen.L(leave);
        gen.ret();
        return gen.getSize();
    } catch (const Xbyak::Error& error) {
        return fail("emitting the translator's dispatcher: {}", error.what());
    }
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
