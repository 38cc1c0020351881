#include "vm/riscv/jit/block_compiler.h"

#include <xbyak/xbyak.h>

#include <climits>
#include <cstring>
#include <deque>
#include <functional>
#include <map>

#include "vm/riscv/decoder.h"

namespace vessel::riscv::jit {

namespace {

// The M extension's division results for zero divisors and overflow, never a host trap. Called
// from generated code (division is slow on the host either way).
uint64_t divide(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int64_t>(dividend), b = static_cast<int64_t>(divisor);
    if (b == 0) return ~uint64_t{0};
    if (a == INT64_MIN && b == -1) return dividend;
    return static_cast<uint64_t>(a / b);
}
uint64_t divide_unsigned(uint64_t dividend, uint64_t divisor) {
    return divisor == 0 ? ~uint64_t{0} : dividend / divisor;
}
uint64_t remainder(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int64_t>(dividend), b = static_cast<int64_t>(divisor);
    if (b == 0) return dividend;
    if (a == INT64_MIN && b == -1) return 0;
    return static_cast<uint64_t>(a % b);
}
uint64_t remainder_unsigned(uint64_t dividend, uint64_t divisor) {
    return divisor == 0 ? dividend : dividend % divisor;
}
uint64_t sext32(uint32_t value) {
    return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value)));
}
uint64_t divide_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int32_t>(dividend), b = static_cast<int32_t>(divisor);
    if (b == 0) return ~uint64_t{0};
    if (a == INT32_MIN && b == -1) return sext32(static_cast<uint32_t>(a));
    return sext32(static_cast<uint32_t>(a / b));
}
uint64_t divide_unsigned_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<uint32_t>(dividend), b = static_cast<uint32_t>(divisor);
    return b == 0 ? ~uint64_t{0} : sext32(a / b);
}
uint64_t remainder_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<int32_t>(dividend), b = static_cast<int32_t>(divisor);
    if (b == 0) return sext32(static_cast<uint32_t>(a));
    if (a == INT32_MIN && b == -1) return 0;
    return sext32(static_cast<uint32_t>(a % b));
}
uint64_t remainder_unsigned_word(uint64_t dividend, uint64_t divisor) {
    auto a = static_cast<uint32_t>(dividend), b = static_cast<uint32_t>(divisor);
    return b == 0 ? sext32(a) : sext32(a % b);
}

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

bool is_amo(Op op) { return op >= Op::lr_w && op <= Op::amomaxu_d; }
bool is_fp(Op op) { return op >= Op::flw && op <= Op::fcvt_d_s; }

using namespace Xbyak::util;

class Compiler : public Xbyak::CodeGenerator {
  public:
    Compiler(const CompileRequest& request, const HartLayout& layout, const Helpers& helpers,
             CodeBuffer& buffer)
        : Xbyak::CodeGenerator(buffer.free_bytes(), buffer.write_cursor()),
          request_(request),
          layout_(layout),
          helpers_(helpers) {}

    CompiledBlock compile();

  private:
    // Guest register `index` in the Hart (x0 reads as the zero the array always holds).
    Xbyak::Address guest(unsigned index) const { return qword[rbx + layout_.x + 8 * index]; }
    Xbyak::Address guest32(unsigned index) const { return dword[rbx + layout_.x + 8 * index]; }
    Xbyak::Label& new_label() { return labels_.emplace_back(); }

    // Emits `insn` (at guest `pc`, with `retired` instructions of the block before it). True when
    // it ended the block (a jump or branch).
    bool emit(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_alu(const Insn& insn);
    void emit_load(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_store(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_branch(const Insn& insn, uint64_t pc, uint32_t retired);
    void emit_helper_call(const Insn& insn, const void* helper, uint64_t pc, uint32_t retired);
    void emit_division(const Insn& insn, uint64_t (*function)(uint64_t, uint64_t));
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
    const HartLayout& layout_;
    const Helpers& helpers_;
    std::deque<Xbyak::Label> labels_;  // stable addresses for the deferred code's references
    std::vector<std::function<void()>> deferred_;
    std::map<uint32_t, Xbyak::Label*> trap_exits_;
    std::map<std::pair<uint64_t, uint32_t>, Xbyak::Label*> leave_exits_;
    Xbyak::Label block_start_;
    Xbyak::Label return_;
};

CompiledBlock Compiler::compile() {
    const uint64_t page_base = request_.vaddr & ~uint64_t{0xfff};
    uint64_t pc = request_.vaddr;
    uint32_t count = 0;
    L(block_start_);
    for (;;) {
        unsigned offset = static_cast<unsigned>(pc - page_base);
        if (offset >= 0x1000) {
            emit_exit(pc, count);
            break;
        }
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
        if (!translatable(insn.op)) {
            if (count == 0) return {};
            emit_exit(pc, count);
            break;
        }
        bool ended = emit(insn, pc, count);
        ++count;
        pc += insn.length;
        if (ended) break;
        if (count == Translator::kMaxBlockInstructions) {
            emit_exit(pc, count);
            break;
        }
    }
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
        add(qword[rbx + layout_.instret], retired);
        emit_store_pc(next_pc);
        jmp(return_, T_NEAR);
    });
    return label;
}

void Compiler::emit_exit(uint64_t next_pc, uint32_t retired) {
    if (retired) add(qword[rbx + layout_.instret], retired);
    if (next_pc == request_.vaddr) {
        // A loop back to this block's start: no lookup, only the checks.
        Xbyak::Label& leave = new_label();
        cmp(byte[rbx + layout_.attention], 0);
        jne(leave, T_NEAR);
        sub(dword[r12 + offsetof(RunState, budget)], 1);
        jle(leave, T_NEAR);
        jmp(block_start_, T_NEAR);
        deferred_.push_back([this, &leave, next_pc] {
            L(leave);
            emit_store_pc(next_pc);
            jmp(return_, T_NEAR);
        });
        return;
    }
    mov(rax, next_pc);
    emit_dispatch_rax();
}

void Compiler::emit_dispatch_rax() {
    mov(qword[rbx + layout_.pc], rax);
    cmp(byte[rbx + layout_.attention], 0);
    jne(return_, T_NEAR);
    sub(dword[r12 + offsetof(RunState, budget)], 1);
    jle(return_, T_NEAR);
    // Translator::jump_index(rax) * sizeof(JumpSlot)
    mov(ecx, eax);
    mov(edx, eax);
    shr(ecx, 1);
    shr(edx, 13);
    xor_(ecx, edx);
    and_(ecx, Translator::kJumpCacheSlots - 1);
    shl(ecx, 4);
    static_assert(sizeof(JumpSlot) == 16);
    mov(rdx, reinterpret_cast<uintptr_t>(request_.jump_cache));
    add(rdx, rcx);
    cmp(rax, qword[rdx + offsetof(JumpSlot, vaddr)]);
    jne(return_, T_NEAR);
    mov(rdx, qword[rdx + offsetof(JumpSlot, block)]);
    mov(rcx, qword[rdx + offsetof(Block, generation_word)]);
    mov(ecx, dword[rcx]);
    cmp(ecx, dword[rdx + offsetof(Block, generation)]);
    jne(return_, T_NEAR);
    jmp(qword[rdx + offsetof(Block, code)]);
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
            return true;
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
            emit_division(insn, divide);
            return false;
        case Op::divu:
            emit_division(insn, divide_unsigned);
            return false;
        case Op::rem:
            emit_division(insn, remainder);
            return false;
        case Op::remu:
            emit_division(insn, remainder_unsigned);
            return false;
        case Op::divw:
            emit_division(insn, divide_word);
            return false;
        case Op::divuw:
            emit_division(insn, divide_unsigned_word);
            return false;
        case Op::remw:
            emit_division(insn, remainder_word);
            return false;
        case Op::remuw:
            emit_division(insn, remainder_unsigned_word);
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

void Compiler::emit_division(const Insn& insn, uint64_t (*function)(uint64_t, uint64_t)) {
    if (insn.rd == 0) return;
    mov(rdi, guest(insn.rs1));
    mov(rsi, guest(insn.rs2));
    mov(rax, reinterpret_cast<uintptr_t>(function));
    call(rax);
    mov(guest(insn.rd), rax);
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
    emit_exit(pc + insn.length, retired + 1);
    L(taken);
    emit_exit(pc + static_cast<int64_t>(insn.imm), retired + 1);
}

void Compiler::emit_helper_call(const Insn& insn, const void* helper, uint64_t pc,
                                uint32_t retired) {
    uint64_t words[2] = {};
    std::memcpy(words, &insn, sizeof insn);
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
    cmp(byte[rbx + layout_.end_block], 0);
    jne(leave_exit(pc + insn.length, retired + 1), T_NEAR);
}

}  // namespace

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
