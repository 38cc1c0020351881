// Branches over one-instruction if/else arms, emitted as cmov selects (see try_emit_select).
#include <optional>

#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

void Compiler::emit_compare(const Insn& insn, const Xbyak::Reg64& scratch) {
    // One compare with a host register or the constant zero where it can; x86 compares memory
    // with a register or an immediate, not memory with memory.
    if (insn.rs2 == 0) {
        if (cached_[insn.rs1])
            test(*cached_[insn.rs1], *cached_[insn.rs1]);
        else
            cmp(guest_slot(insn.rs1), 0);
    } else if (cached_[insn.rs1]) {
        cmp(*cached_[insn.rs1], guest(insn.rs2));
    } else if (cached_[insn.rs2]) {
        cmp(guest_slot(insn.rs1), *cached_[insn.rs2]);
    } else {
        mov(scratch, guest(insn.rs1));
        cmp(scratch, guest(insn.rs2));
    }
}

namespace {

// The x86 condition a branch is taken on, as the cmovcc/setcc condition code.
int taken_condition(Op op) {
    switch (op) {
        case Op::beq:
            return 0x4;  // e
        case Op::bne:
            return 0x5;  // ne
        case Op::blt:
            return 0xc;  // l
        case Op::bge:
            return 0xd;  // ge
        case Op::bltu:
            return 0x2;  // b
        default:
            return 0x3;  // ae
    }
}

// An instruction whose result a select can compute ahead (no memory, no trap, no shift by a
// register, which would need rcx).
bool selectable(const Insn& insn) {
    if (insn.rd == 0) return false;
    switch (insn.op) {
        case Op::lui:
        case Op::addi:
        case Op::addiw:
        case Op::add:
        case Op::addw:
        case Op::sub:
        case Op::subw:
        case Op::xori:
        case Op::ori:
        case Op::andi:
        case Op::xor_:
        case Op::or_:
        case Op::and_:
        case Op::slli:
        case Op::srli:
        case Op::srai:
            return true;
        default:
            return false;
    }
}

}  // namespace

void Compiler::emit_value(const Insn& insn, const Xbyak::Reg64& into) {
    const int32_t imm = insn.imm;
    const auto shift = static_cast<uint8_t>(insn.imm & 63);
    const Xbyak::Reg32 into32 = into.cvt32();
    switch (insn.op) {
        case Op::lui:
            mov(into, static_cast<int64_t>(imm));
            return;
        case Op::addiw:
        case Op::addw:
        case Op::subw:
            mov(into32, guest32(insn.rs1));
            if (insn.op == Op::addiw) add(into32, imm);
            if (insn.op == Op::addw) add(into32, guest32(insn.rs2));
            if (insn.op == Op::subw) sub(into32, guest32(insn.rs2));
            movsxd(into, into32);
            return;
        default:
            break;
    }
    mov(into, guest(insn.rs1));
    switch (insn.op) {
        case Op::addi:
            add(into, imm);
            break;
        case Op::xori:
            xor_(into, imm);
            break;
        case Op::ori:
            or_(into, imm);
            break;
        case Op::andi:
            and_(into, imm);
            break;
        case Op::add:
            add(into, guest(insn.rs2));
            break;
        case Op::sub:
            sub(into, guest(insn.rs2));
            break;
        case Op::xor_:
            xor_(into, guest(insn.rs2));
            break;
        case Op::or_:
            or_(into, guest(insn.rs2));
            break;
        case Op::and_:
            and_(into, guest(insn.rs2));
            break;
        case Op::slli:
            shl(into, shift);
            break;
        case Op::srli:
            shr(into, shift);
            break;
        default:  // srai
            sar(into, shift);
            break;
    }
}

bool Compiler::try_emit_select(const Insn& insn, uint32_t index) {
    // if/else arms of one simple instruction each (or a skipped one) that meet again inside the
    // block: both results are computed ahead and the branch's outcome picks with cmov, instead
    // of a jump the host may mispredict (a binary search's comparison is a coin toss).
    const auto size = static_cast<uint32_t>(instructions_.size());
    auto straddles = [&](uint32_t at) {
        return (pcs_[at] & 0xfff) == 0xffe && instructions_[at].length == 4;
    };
    // The jump at index `at`, if `at` is the instruction at `pc` and a plain jump: its target.
    auto jump_target = [&](uint32_t at, uint64_t pc) -> std::optional<uint64_t> {
        if (at >= size || pcs_[at] != pc || straddles(at)) return std::nullopt;
        const Insn& jump = instructions_[at];
        if (jump.op != Op::jal || jump.rd != 0) return std::nullopt;
        return pc + static_cast<int64_t>(jump.imm);
    };
    const uint64_t fall_pc = pcs_[index] + insn.length;
    const uint64_t taken_pc = pcs_[index] + static_cast<int64_t>(insn.imm);
    const uint32_t fall = index + 1;
    if (fall >= size || pcs_[fall] != fall_pc || straddles(fall) ||
        !selectable(instructions_[fall]))
        return false;
    const Insn& fall_insn = instructions_[fall];
    const uint64_t after_fall = fall_pc + fall_insn.length;
    // The fall-through arm runs on into the join, or jumps to it.
    uint64_t join = after_fall;
    uint32_t last_fall = fall;
    if (auto target = jump_target(fall + 1, after_fall); target && *target != taken_pc) {
        join = *target;
        last_fall = fall + 1;
    }
    const Insn* taken_insn = nullptr;  // none: the branch only skips the fall-through arm
    uint32_t taken_count = 0;
    if (taken_pc != join) {
        const int taken = internal_index(taken_pc);
        if (taken < 0) return false;
        const auto at = static_cast<uint32_t>(taken);
        if (straddles(at) || !selectable(instructions_[at])) return false;
        taken_insn = &instructions_[at];
        const uint64_t after_taken = taken_pc + taken_insn->length;
        if (after_taken == join)
            taken_count = 1;
        else if (jump_target(at + 1, after_taken) == join)
            taken_count = 2;
        else
            return false;
    }
    // A join inside the block (labelled as a jump target): exits after it write back what
    // either arm wrote, as the block's data-flow says.
    const int join_index = internal_index(join);
    if (join_index < 0 || !entry_labels_[static_cast<uint32_t>(join_index)]) return false;

    emit_value(fall_insn, rax);
    if (taken_insn) emit_value(*taken_insn, rcx);
    emit_compare(insn, rdx);
    const int taken_cc = taken_condition(insn.op);
    // cmovcc to, from (0F 40+cc /r with REX.W): Xbyak names each condition separately.
    auto cmov = [&](int cc, const Xbyak::Reg64& to, const Xbyak::Reg64& from) {
        db(0x48 | (to.getIdx() >= 8 ? 4 : 0) | (from.getIdx() >= 8 ? 1 : 0));
        db(0x0f);
        db(0x40 | cc);
        db(0xc0 | ((to.getIdx() & 7) << 3) | (from.getIdx() & 7));
    };
    // x[rd] = value when `cc` holds (flags are kept: mov and cmov leave them).
    auto select_into = [&](unsigned rd, int cc, const Xbyak::Reg64& value) {
        if (const Xbyak::Reg64* host = cached_[rd]) {
            cmov(cc, *host, value);
        } else {
            mov(rdx, guest_slot(rd));
            cmov(cc, rdx, value);
            mov(guest_slot(rd), rdx);
        }
    };
    if (taken_insn && taken_insn->rd == fall_insn.rd) {
        cmov(taken_cc, rax, rcx);
        mov(guest(fall_insn.rd), rax);
    } else {
        select_into(fall_insn.rd, taken_cc ^ 1, rax);  // the odd code is the negation
        if (taken_insn) select_into(taken_insn->rd, taken_cc, rcx);
    }
    // The fall-through path counts as the block's positions do; the taken one ran
    // `taken_count` instructions after the branch instead.
    if (const int extra = static_cast<int>(taken_count) - static_cast<int>(last_fall - index)) {
        // setcc dl (0F 90+cc C2), then the difference added when taken.
        db(0x0f);
        db(0x90 | taken_cc);
        db(0xc2);
        movzx(edx, dl);
        if (extra == 2 || extra == -2) add(rdx, rdx);
        if (extra > 0)
            add(qword[rbx + layout_.instret], rdx);
        else
            sub(qword[rbx + layout_.instret], rdx);
    }
    emit_internal_jump(last_fall, static_cast<unsigned>(join_index));
    return true;
}

}  // namespace vessel::riscv::jit
