#include "vm/riscv/jit/block_compiler.h"

#include <xbyak/xbyak.h>

#include <array>
#include <climits>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "vm/riscv/decoder.h"

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
bool ends_block(Op op) { return op == Op::jal || op == Op::jalr; }

bool is_amo(Op op) { return op >= Op::lr_w && op <= Op::amomaxu_d; }
bool is_fp(Op op) { return op >= Op::flw && op <= Op::fcvt_d_s; }

using namespace Xbyak::util;

class Compiler : public Xbyak::CodeGenerator {
  public:
    Compiler(const CompileRequest& request, const HartLayout& layout, const Helpers& helpers,
             CodeBuffer& buffer)
        : Xbyak::CodeGenerator(buffer.free_bytes(), buffer.write_cursor()),
          request_(request),
          exec_base_(buffer.exec_cursor()),
          layout_(layout),
          helpers_(helpers) {}

    CompiledBlock compile();

  private:
    // Guest register `index` in the Hart (x0 reads as the zero the array always holds).
    // Guest register `index`: the host register caching it in this block, or its slot in the
    // Hart (x0 is never cached: its slot always reads zero).
    const Xbyak::Operand& guest(unsigned index) {
        if (const Xbyak::Reg64* host = cached_[index]) return *host;
        return scratch_operand(qword[rbx + layout_.x + 8 * index]);
    }
    const Xbyak::Operand& guest32(unsigned index) {
        if (cached_[index]) return cached32_[index];
        return scratch_operand(dword[rbx + layout_.x + 8 * index]);
    }
    Xbyak::Address guest_slot(unsigned index) const {
        return qword[rbx + layout_.x + 8 * index];
    }
    // Keeps an Address alive for the operand reference guest() returns (a few are in use at
    // once: a ring of them).
    const Xbyak::Operand& scratch_operand(const Xbyak::Address& address) {
        Xbyak::Address& slot = scratch_addresses_[next_scratch_++ % scratch_addresses_.size()];
        slot = address;
        return slot;
    }
    // The host registers that hold guest registers across the block (callee-saved, so helper
    // calls keep them): chosen for the guest registers the block uses most.
    void allocate_registers(const std::vector<Insn>& instructions);
    void load_cached_registers();
    void write_back_cached_registers();
    Xbyak::Label& new_label() { return labels_.emplace_back(); }

    // Emits `insn` (at guest `pc`, with `retired` instructions of the block before it). True when
    // it ended the block (a jump or branch).
    bool emit(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_alu(const Insn& insn);
    void emit_load(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_store(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_branch(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_helper_call(const Insn& insn, const void* helper, uint64_t pc, uint32_t retired);
    void emit_division(const Insn& insn);
    // The guest address rs1 + imm into rax, and the TLB slot offset for it into rcx.
    void emit_address(const Insn& insn);
    // Leaves the block for `next_pc` with `retired` instructions done: through the jump cache to
    // the next block, or back to the hart's loop.
    void emit_exit(uint64_t next_pc, uint32_t retired);
    // The same with the next pc in rax (instret_ already counted).
    void emit_dispatch_rax();
    void emit_store_pc(uint64_t pc);
    // Out-of-line tails: a trap raised by the instruction after `retired` others, and a return to
    // the hart's loop after a store that changed what the block may assume.
    Xbyak::Label& trap_exit(uint32_t retired);
    Xbyak::Label& leave_exit(uint64_t next_pc, uint32_t retired);

    const CompileRequest& request_;
    const uint8_t* const exec_base_;  // where the first byte emitted here will run
    const HartLayout& layout_;
    const Helpers& helpers_;
    std::deque<Xbyak::Label> labels_;  // stable addresses for the deferred code's references
    std::vector<std::function<void()>> deferred_;
    std::map<uint32_t, Xbyak::Label*> trap_exits_;
    std::map<std::pair<uint64_t, uint32_t>, Xbyak::Label*> leave_exits_;
    Xbyak::Label block_start_;
    Xbyak::Label return_;
    const Xbyak::Reg64* cached_[32] = {};
    Xbyak::Reg32 cached32_[32];
    std::array<Xbyak::Address, 4> scratch_addresses_{qword[rbx], qword[rbx], qword[rbx],
                                                     qword[rbx]};
    unsigned next_scratch_ = 0;
};

void Compiler::allocate_registers(const std::vector<Insn>& instructions) {
    unsigned uses[32] = {};
    for (const Insn& insn : instructions) {
        // An upper bound of what each instruction touches is enough: the choice only affects
        // speed, since every cached register is loaded on entry and written back at every exit.
        ++uses[insn.rd];
        ++uses[insn.rs1];
        ++uses[insn.rs2];
    }
    uses[0] = 0;
    static const Xbyak::Reg64* const kHostRegisters[] = {&rbp, &r13, &r14, &r15};
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
        if (cached_[index]) mov(guest_slot(index), *cached_[index]);
}

CompiledBlock Compiler::compile() {
    // Decode first: the register choice needs the whole block.
    const uint64_t page_base = request_.vaddr & ~uint64_t{0xfff};
    std::vector<Insn> instructions;
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
        instructions.push_back(insn);
        pc += insn.length;
        if (ends_block(insn.op) || instructions.size() == Translator::kMaxBlockInstructions) break;
    }
    if (instructions.empty()) return {};

    allocate_registers(instructions);
    load_cached_registers();
    L(block_start_);
    pc = request_.vaddr;
    uint32_t count = 0;
    bool ended = false;
    for (const Insn& insn : instructions) {
        ended = emit(insn, pc, count);
        ++count;
        pc += insn.length;
    }
    if (!ended) emit_exit(pc, count);
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
    if (!same_page) {
        mov(rax, next_pc);
        emit_dispatch_rax();
        return;
    }
    // The same page: the same mapping and generation word, so the block there may be entered
    // without a lookup: directly for a loop back to this block, through a jump the translator
    // patches on first use (its link stub asks for it) otherwise.
    Xbyak::Label& leave = new_label();
    cmp(byte[rbx + layout_.attention], 0);
    jne(leave, T_NEAR);
    sub(dword[r12 + offsetof(RunState, budget)], 1);
    jle(leave, T_NEAR);
    if (next_pc == request_.vaddr) {
        jmp(block_start_, T_NEAR);
    } else {
        Xbyak::Label& site = new_label();
        Xbyak::Label& stub = new_label();
        L(site);
        jmp(stub, T_NEAR);  // always the 5-byte rel32 form, which linking rewrites
        deferred_.push_back([this, &site, &stub, next_pc] {
            L(stub);
            emit_store_pc(next_pc);
            // The executable address of `site`: this code runs there, so rip-relative is it.
            lea(rcx, ptr[rip + site]);
            mov(qword[r12 + offsetof(RunState, link_site)], rcx);
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
        case Op::jal:
            if (insn.rd) {
                mov(rax, pc + insn.length);
                mov(guest(insn.rd), rax);
            }
            emit_exit(pc + static_cast<int64_t>(insn.imm), retired + 1);
            return true;
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
        emit_helper_call(insn, helpers_.fp, pc, retired);
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

void Compiler::emit_alu(const Insn& insn) {
    if (insn.rd == 0) return;  // a hint: no architectural effect
    const int32_t imm = insn.imm;
    const auto shift = static_cast<uint8_t>(insn.imm & 63);
    switch (insn.op) {
        case Op::lui:
            mov(rax, static_cast<int64_t>(imm));
            break;
        case Op::addi:
            mov(rax, guest(insn.rs1));
            if (imm) add(rax, imm);
            break;
        case Op::slti:
            mov(rax, guest(insn.rs1));
            cmp(rax, imm);
            setl(al);
            movzx(eax, al);
            break;
        case Op::sltiu:
            mov(rax, guest(insn.rs1));
            cmp(rax, imm);
            setb(al);
            movzx(eax, al);
            break;
        case Op::xori:
            mov(rax, guest(insn.rs1));
            xor_(rax, imm);
            break;
        case Op::ori:
            mov(rax, guest(insn.rs1));
            or_(rax, imm);
            break;
        case Op::andi:
            mov(rax, guest(insn.rs1));
            and_(rax, imm);
            break;
        case Op::slli:
            mov(rax, guest(insn.rs1));
            if (shift) shl(rax, shift);
            break;
        case Op::srli:
            mov(rax, guest(insn.rs1));
            if (shift) shr(rax, shift);
            break;
        case Op::srai:
            mov(rax, guest(insn.rs1));
            if (shift) sar(rax, shift);
            break;
        case Op::add:
            mov(rax, guest(insn.rs1));
            add(rax, guest(insn.rs2));
            break;
        case Op::sub:
            mov(rax, guest(insn.rs1));
            sub(rax, guest(insn.rs2));
            break;
        case Op::xor_:
            mov(rax, guest(insn.rs1));
            xor_(rax, guest(insn.rs2));
            break;
        case Op::or_:
            mov(rax, guest(insn.rs1));
            or_(rax, guest(insn.rs2));
            break;
        case Op::and_:
            mov(rax, guest(insn.rs1));
            and_(rax, guest(insn.rs2));
            break;
        case Op::slt:
            mov(rcx, guest(insn.rs1));
            xor_(eax, eax);
            cmp(rcx, guest(insn.rs2));
            setl(al);
            break;
        case Op::sltu:
            mov(rcx, guest(insn.rs1));
            xor_(eax, eax);
            cmp(rcx, guest(insn.rs2));
            setb(al);
            break;
        case Op::sll:
        case Op::srl:
        case Op::sra:
            // x86 masks a 64-bit shift count to 6 bits, as RISC-V does.
            mov(rax, guest(insn.rs1));
            mov(rcx, guest(insn.rs2));
            if (insn.op == Op::sll) shl(rax, cl);
            if (insn.op == Op::srl) shr(rax, cl);
            if (insn.op == Op::sra) sar(rax, cl);
            break;
        case Op::addiw:
            mov(eax, guest32(insn.rs1));
            if (imm) add(eax, imm);
            movsxd(rax, eax);
            break;
        case Op::slliw:
        case Op::srliw:
        case Op::sraiw:
            mov(eax, guest32(insn.rs1));
            if (shift & 31) {
                if (insn.op == Op::slliw) shl(eax, shift & 31);
                if (insn.op == Op::srliw) shr(eax, shift & 31);
                if (insn.op == Op::sraiw) sar(eax, shift & 31);
            }
            movsxd(rax, eax);
            break;
        case Op::addw:
            mov(eax, guest32(insn.rs1));
            add(eax, guest32(insn.rs2));
            movsxd(rax, eax);
            break;
        case Op::subw:
            mov(eax, guest32(insn.rs1));
            sub(eax, guest32(insn.rs2));
            movsxd(rax, eax);
            break;
        case Op::sllw:
        case Op::srlw:
        case Op::sraw:
            // A 32-bit shift count is masked to 5 bits, as RISC-V's W shifts are.
            mov(eax, guest32(insn.rs1));
            mov(rcx, guest(insn.rs2));
            if (insn.op == Op::sllw) shl(eax, cl);
            if (insn.op == Op::srlw) shr(eax, cl);
            if (insn.op == Op::sraw) sar(eax, cl);
            movsxd(rax, eax);
            break;
        case Op::mul:
            mov(rax, guest(insn.rs1));
            imul(rax, guest(insn.rs2));
            break;
        case Op::mulw:
            mov(eax, guest32(insn.rs1));
            imul(eax, guest32(insn.rs2));
            movsxd(rax, eax);
            break;
        case Op::mulh:
            mov(rax, guest(insn.rs1));
            imul(guest(insn.rs2));
            mov(rax, rdx);
            break;
        case Op::mulhu:
            mov(rax, guest(insn.rs1));
            mul(guest(insn.rs2));
            mov(rax, rdx);
            break;
        case Op::mulhsu:
            // The unsigned high half, less rs2 when rs1 is negative (its sign bit weighs -2^64).
            mov(rax, guest(insn.rs1));
            mov(rcx, rax);
            mul(guest(insn.rs2));
            sar(rcx, 63);
            and_(rcx, guest(insn.rs2));
            sub(rdx, rcx);
            mov(rax, rdx);
            break;
        default:
            // Every op reaching here is listed above; an unexpected one would be a translator
            // bug, and an illegal-instruction trap is the safe answer to it.
            ud2();
            return;
    }
    mov(guest(insn.rd), rax);
}

void Compiler::emit_division(const Insn& insn) {
    if (insn.rd == 0) return;
    const bool is_signed = insn.op == Op::div || insn.op == Op::rem || insn.op == Op::divw ||
                           insn.op == Op::remw;
    const bool remainder = insn.op == Op::rem || insn.op == Op::remu || insn.op == Op::remw ||
                           insn.op == Op::remuw;
    const bool word = insn.op == Op::divw || insn.op == Op::divuw || insn.op == Op::remw ||
                      insn.op == Op::remuw;
    Xbyak::Label& by_zero = new_label();
    Xbyak::Label& by_minus_one = new_label();
    Xbyak::Label& join = new_label();
    // The M extension defines division by zero and the one overflow (MIN / -1) instead of
    // trapping, so those two take their own paths; x86 would fault on both.
    if (word) {
        mov(eax, guest32(insn.rs1));
        mov(ecx, guest32(insn.rs2));
        test(ecx, ecx);
    } else {
        mov(rax, guest(insn.rs1));
        mov(rcx, guest(insn.rs2));
        test(rcx, rcx);
    }
    jz(by_zero, T_NEAR);
    if (is_signed) {
        word ? cmp(ecx, -1) : cmp(rcx, -1);
        je(by_minus_one, T_NEAR);
    }
    if (word) {
        if (is_signed) {
            cdq();
            idiv(ecx);
        } else {
            xor_(edx, edx);
            div(ecx);
        }
        movsxd(rax, remainder ? edx : eax);
    } else {
        if (is_signed) {
            cqo();
            idiv(rcx);
        } else {
            xor_(edx, edx);
            div(rcx);
        }
        if (remainder) mov(rax, rdx);
    }
    L(join);
    mov(guest(insn.rd), rax);
    deferred_.push_back([this, &by_zero, &by_minus_one, &join, is_signed, remainder, word] {
        L(by_zero);
        // Quotient all ones; remainder the dividend (sign-extended from 32 bits for W forms).
        if (remainder) {
            if (word) movsxd(rax, eax);
        } else {
            mov(rax, -1);
        }
        jmp(join, T_NEAR);
        if (is_signed) {
            L(by_minus_one);
            // x / -1 is -x, which wraps MIN to MIN as the spec asks; the remainder is 0.
            if (remainder) {
                xor_(eax, eax);
            } else if (word) {
                neg(eax);
                movsxd(rax, eax);
            } else {
                neg(rax);
            }
            jmp(join, T_NEAR);
        }
    });
}

void Compiler::emit_address(const Insn& insn) {
    mov(rax, guest(insn.rs1));
    if (insn.imm) add(rax, insn.imm);
    mov(ecx, eax);
    shr(ecx, 12);
    and_(ecx, layout_.tlb_entries - 1);
    imul(ecx, ecx, layout_.tlb_entry_size);
}

namespace {
unsigned access_size(Op op) {
    switch (op) {
        case Op::lb:
        case Op::lbu:
        case Op::sb:
            return 1;
        case Op::lh:
        case Op::lhu:
        case Op::sh:
            return 2;
        case Op::lw:
        case Op::lwu:
        case Op::sw:
            return 4;
        default:
            return 8;
    }
}
}  // namespace

void Compiler::emit_load(const Insn& insn, uint64_t pc, uint32_t retired) {
    const unsigned size = access_size(insn.op);
    Xbyak::Label& slow = new_label();
    Xbyak::Label& join = new_label();
    emit_address(insn);
    // The tag of the page the access's last byte is in: an access crossing into the next page
    // misses, and takes the slow path that splits it.
    lea(rdx, ptr[rax + (size - 1)]);
    and_(rdx, -4096);
    or_(rdx, qword[rbx + layout_.data_key]);
    cmp(rdx, qword[rbx + rcx + layout_.tlb_load]);
    jne(slow, T_NEAR);
    mov(rdx, qword[rbx + rcx + layout_.tlb_load + layout_.tlb_addend]);
    auto extend = [this, op = insn.op](const Xbyak::RegExp& source, bool from_register) {
        switch (op) {
            case Op::lb:
                from_register ? movsx(rax, al) : movsx(rax, byte[source]);
                break;
            case Op::lbu:
                from_register ? movzx(eax, al) : movzx(eax, byte[source]);
                break;
            case Op::lh:
                from_register ? movsx(rax, ax) : movsx(rax, word[source]);
                break;
            case Op::lhu:
                from_register ? movzx(eax, ax) : movzx(eax, word[source]);
                break;
            case Op::lw:
                from_register ? movsxd(rax, eax) : movsxd(rax, dword[source]);
                break;
            case Op::lwu:
                from_register ? mov(eax, eax) : mov(eax, dword[source]);
                break;
            default:
                if (!from_register) mov(rax, qword[source]);
                break;
        }
    };
    extend(rax + rdx, false);
    L(join);
    if (insn.rd) mov(guest(insn.rd), rax);
    deferred_.push_back([this, &slow, &join, pc, retired, size, extend] {
        L(slow);
        emit_store_pc(pc);
        mov(rdi, rbx);
        mov(rsi, rax);
        mov(edx, size);
        lea(rcx, ptr[r12 + offsetof(RunState, slow_value)]);
        mov(rax, reinterpret_cast<uintptr_t>(helpers_.load_slow));
        call(rax);
        test(al, al);
        jz(trap_exit(retired), T_NEAR);
        mov(rax, qword[r12 + offsetof(RunState, slow_value)]);
        extend(rax, true);
        jmp(join, T_NEAR);
    });
}

void Compiler::emit_store(const Insn& insn, uint64_t pc, uint32_t retired) {
    const unsigned size = access_size(insn.op);
    Xbyak::Label& slow = new_label();
    Xbyak::Label& join = new_label();
    emit_address(insn);
    lea(rdx, ptr[rax + (size - 1)]);
    and_(rdx, -4096);
    or_(rdx, qword[rbx + layout_.data_key]);
    cmp(rdx, qword[rbx + rcx + layout_.tlb_store]);
    jne(slow, T_NEAR);
    // A page holding translated or decoded code: the slow path tells every cache.
    mov(rdx, qword[rbx + rcx + layout_.tlb_store + layout_.tlb_code_flag]);
    cmp(byte[rdx], 0);
    jne(slow, T_NEAR);
    mov(rdx, qword[rbx + rcx + layout_.tlb_store + layout_.tlb_addend]);
    mov(rcx, guest(insn.rs2));
    switch (size) {
        case 1:
            mov(byte[rax + rdx], cl);
            break;
        case 2:
            mov(word[rax + rdx], cx);
            break;
        case 4:
            mov(dword[rax + rdx], ecx);
            break;
        default:
            mov(qword[rax + rdx], rcx);
            break;
    }
    L(join);
    const uint64_t next_pc = pc + insn.length;
    deferred_.push_back([this, &slow, &join, pc, next_pc, retired, size, rs2 = insn.rs2] {
        L(slow);
        emit_store_pc(pc);
        mov(rdi, rbx);
        mov(rsi, rax);
        mov(edx, size);
        mov(rcx, guest(rs2));
        mov(rax, reinterpret_cast<uintptr_t>(helpers_.store_slow));
        call(rax);
        test(al, al);
        jz(trap_exit(retired), T_NEAR);
        // A store to code or to a device: what this block (or the next) assumed may be gone.
        cmp(byte[rbx + layout_.end_block], 0);
        jne(leave_exit(next_pc, retired + 1), T_NEAR);
        jmp(join, T_NEAR);
    });
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
    mov(rax, reinterpret_cast<uintptr_t>(helper));
    call(rax);
    test(al, al);
    jz(trap_exit(retired), T_NEAR);
    // The helpers write x[rd] whatever rd is; x0 must read as zero again.
    if (insn.rd == 0) mov(qword[rbx + layout_.x], 0);
    if (cached_[insn.rd]) mov(*cached_[insn.rd], guest_slot(insn.rd));
    cmp(byte[rbx + layout_.end_block], 0);
    jne(leave_exit(pc + insn.length, retired + 1), T_NEAR);
}

}  // namespace

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
