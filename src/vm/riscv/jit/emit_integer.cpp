// Integer instructions and guest memory accesses (the soft-TLB fast path inline).
#include "vm/riscv/jit/compiler.h"

#include <bit>

namespace vessel::riscv::jit {

void Compiler::emit_binary(const Insn& insn,
                           const std::function<void(const Xbyak::Reg64&)>& operation,
                           bool reads_rs2) {
    // rd = rs1 op ...: in place when rd is rs1 and lives in a host register (addi sp, sp, -16;
    // add a0, a0, a1), through rax otherwise.
    if (const Xbyak::Reg64* host = cached_[insn.rd]; host && insn.rd == insn.rs1) {
        operation(*host);
        return;
    }
    // Straight into rd's host register when the operation does not read rd's old value.
    if (const Xbyak::Reg64* host = cached_[insn.rd];
        host && (reads_rs2 ? insn.rs2 != insn.rd : true)) {
        mov(*host, guest(insn.rs1));
        operation(*host);
        return;
    }
    mov(rax, guest(insn.rs1));
    operation(rax);
    mov(guest(insn.rd), rax);
}

void Compiler::emit_word_result(unsigned rd) {
    if (const Xbyak::Reg64* host = cached_[rd]) {
        movsxd(*host, eax);
        return;
    }
    movsxd(rax, eax);
    mov(guest_slot(rd), rax);
}

void Compiler::emit_constant(unsigned rd, int64_t value) {
    if (const Xbyak::Reg64* host = cached_[rd]) {
        if (value == 0) return (void)xor_(cached32_[rd], cached32_[rd]);
        return (void)mov(*host, value);
    }
    if (value == static_cast<int32_t>(value))
        return (void)mov(guest_slot(rd), static_cast<int32_t>(value));
    mov(rax, value);
    mov(guest_slot(rd), rax);
}

void Compiler::emit_copy(unsigned rd, unsigned rs) {
    if (rs == 0) return emit_constant(rd, 0);
    if (rd == rs) return;
    if (const Xbyak::Reg64* host = cached_[rd]) return (void)mov(*host, guest(rs));
    if (const Xbyak::Reg64* source = cached_[rs]) return (void)mov(guest_slot(rd), *source);
    mov(rax, guest_slot(rs));
    mov(guest_slot(rd), rax);
}

void Compiler::emit_alu(const Insn& insn) {
    if (insn.rd == 0) return;  // a hint: no architectural effect
    const int32_t imm = insn.imm;
    const auto shift = static_cast<uint8_t>(insn.imm & 63);
    // li and mv are addi, add or or with x0 (c.li, c.mv, c.add): x0 lives in a slot that always
    // reads zero, and loading it to add it to something cost a load and an add.
    const bool or_like = insn.op == Op::add || insn.op == Op::or_ || insn.op == Op::xor_;
    if (insn.rs1 == 0 && (insn.op == Op::addi || insn.op == Op::ori || insn.op == Op::xori))
        return emit_constant(insn.rd, imm);
    if (insn.op == Op::addi && imm == 0) return emit_copy(insn.rd, insn.rs1);
    if (or_like && insn.rs1 == 0) return emit_copy(insn.rd, insn.rs2);
    if ((or_like || insn.op == Op::sub) && insn.rs2 == 0) return emit_copy(insn.rd, insn.rs1);
    switch (insn.op) {
        case Op::lui:
            if (const Xbyak::Reg64* host = cached_[insn.rd])
                return (void)mov(*host, static_cast<int64_t>(imm));
            mov(rax, static_cast<int64_t>(imm));
            break;
        case Op::addi:
            if (imm) return emit_binary(insn, [&](const Xbyak::Reg64& r) { add(r, imm); });
            return emit_binary(insn, [](const Xbyak::Reg64&) {});
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
            return emit_binary(insn, [&](const Xbyak::Reg64& r) { xor_(r, imm); });
        case Op::ori:
            return emit_binary(insn, [&](const Xbyak::Reg64& r) { or_(r, imm); });
        case Op::andi:
            return emit_binary(insn, [&](const Xbyak::Reg64& r) { and_(r, imm); });
        case Op::slli:
            return emit_binary(insn, [&](const Xbyak::Reg64& r) {
                if (shift) shl(r, shift);
            });
        case Op::srli:
            return emit_binary(insn, [&](const Xbyak::Reg64& r) {
                if (shift) shr(r, shift);
            });
        case Op::srai:
            return emit_binary(insn, [&](const Xbyak::Reg64& r) {
                if (shift) sar(r, shift);
            });
        case Op::add:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { add(r, guest(insn.rs2)); }, true);
        case Op::sub:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { sub(r, guest(insn.rs2)); }, true);
        case Op::xor_:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { xor_(r, guest(insn.rs2)); }, true);
        case Op::or_:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { or_(r, guest(insn.rs2)); }, true);
        case Op::and_:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { and_(r, guest(insn.rs2)); }, true);
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
            return emit_word_result(insn.rd);
        case Op::slliw:
        case Op::srliw:
        case Op::sraiw:
            mov(eax, guest32(insn.rs1));
            if (shift & 31) {
                if (insn.op == Op::slliw) shl(eax, shift & 31);
                if (insn.op == Op::srliw) shr(eax, shift & 31);
                if (insn.op == Op::sraiw) sar(eax, shift & 31);
            }
            return emit_word_result(insn.rd);
        case Op::addw:
            mov(eax, guest32(insn.rs1));
            add(eax, guest32(insn.rs2));
            return emit_word_result(insn.rd);
        case Op::subw:
            mov(eax, guest32(insn.rs1));
            sub(eax, guest32(insn.rs2));
            return emit_word_result(insn.rd);
        case Op::sllw:
        case Op::srlw:
        case Op::sraw:
            // A 32-bit shift count is masked to 5 bits, as RISC-V's W shifts are.
            mov(eax, guest32(insn.rs1));
            mov(rcx, guest(insn.rs2));
            if (insn.op == Op::sllw) shl(eax, cl);
            if (insn.op == Op::srlw) shr(eax, cl);
            if (insn.op == Op::sraw) sar(eax, cl);
            return emit_word_result(insn.rd);
        case Op::mul:
            return emit_binary(
                insn, [&](const Xbyak::Reg64& r) { imul(r, guest(insn.rs2)); }, true);
        case Op::mulw:
            mov(eax, guest32(insn.rs1));
            imul(eax, guest32(insn.rs2));
            return emit_word_result(insn.rd);
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
    const bool is_signed =
        insn.op == Op::div || insn.op == Op::rem || insn.op == Op::divw || insn.op == Op::remw;
    const bool remainder =
        insn.op == Op::rem || insn.op == Op::remu || insn.op == Op::remw || insn.op == Op::remuw;
    const bool word =
        insn.op == Op::divw || insn.op == Op::divuw || insn.op == Op::remw || insn.op == Op::remuw;
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
    if (const Xbyak::Reg64* host = cached_[insn.rs1]; host && insn.imm)
        lea(rax, ptr[*host + insn.imm]);
    else {
        mov(rax, guest(insn.rs1));
        if (insn.imm) add(rax, insn.imm);
    }
    emit_tlb_index();
}

void Compiler::emit_tlb_index() {
    // (vaddr >> 12) % sets * 32 in two operations (entries are 32 bytes; see the Translator).
    mov(ecx, eax);
    shr(ecx, 7);
    and_(ecx, (layout_.tlb_sets - 1) << 5);
}

void Compiler::emit_tlb_tag_check(int32_t tlb, Xbyak::Label& miss) {
    // Way 0 inline; way 1 out of line, through shared code that swaps a hit there into way 0
    // (so the page just used is found inline next time) and leaves ZF set.
    Xbyak::Label& second = new_label();
    Xbyak::Label& hit = new_label();
    cmp(rdx, qword[rbx + rcx + tlb]);
    jne(second, T_NEAR);
    L(hit);
    deferred_.push_back([this, &second, &hit, &miss, tlb] {
        L(second);
        emit_rel32(0xe8, helpers_.tlb_second_way[tlb == layout_.tlb_store ? 1 : 0]);
        jne(miss, T_NEAR);
        jmp(hit, T_NEAR);
    });
}

void Compiler::emit_data_key() {
    if (!request_.user_mode) or_(rdx, qword[rbx + layout_.data_key]);
}

void Compiler::emit_tlb_probe(const Insn& insn, unsigned size, int32_t tlb, Xbyak::Label& slow) {
    emit_address(insn);
    // The tag of the page the access's last byte is in: an access crossing into the next page
    // misses, and takes the slow path that splits it.
    if (size == 1)
        mov(rdx, rax);
    else
        lea(rdx, ptr[rax + (size - 1)]);
    and_(rdx, -4096);
    emit_data_key();
    emit_tlb_tag_check(tlb, slow);
}

void Compiler::emit_load(const Insn& insn, uint64_t pc, uint32_t retired) {
    if (const AccessGroup* group = access_group(retired))
        emit_grouped_access(insn, pc, retired, *group);
    else
        emit_probed_load(insn, pc, retired);
}

void Compiler::emit_load_to_rd(const Insn& insn, const Xbyak::RegExp& source) {
    // Into x[rd]'s host register when it has one, else through rax to its slot.
    const bool integer = insn.op != Op::flw && insn.op != Op::fld;
    const Xbyak::Reg64* host = integer ? cached_[insn.rd] : nullptr;
    const Xbyak::Reg64& target = host ? *host : rax;
    if (insn.op == Op::flw || insn.op == Op::fld || insn.rd != 0) {
        switch (insn.op) {
            case Op::lb:
                movsx(target, byte[source]);
                break;
            case Op::lbu:
                movzx(target.cvt32(), byte[source]);
                break;
            case Op::lh:
                movsx(target, word[source]);
                break;
            case Op::lhu:
                movzx(target.cvt32(), word[source]);
                break;
            case Op::lw:
                movsxd(target, dword[source]);
                break;
            case Op::lwu:
            case Op::flw:
                mov(target.cvt32(), dword[source]);
                break;
            default:
                mov(target, qword[source]);
                break;
        }
    }
    if (insn.op == Op::flw) {
        // NaN-boxed: the upper half all ones.
        mov(fp_slot32(insn.rd), eax);
        mov(fp_high32(insn.rd), -1);
    } else if (insn.op == Op::fld) {
        mov(fp_slot(insn.rd), rax);
    } else if (insn.rd && target.getIdx() == rax.getIdx()) {
        mov(guest_slot(insn.rd), rax);
    }
}

void Compiler::emit_probed_load(const Insn& insn, uint64_t pc, uint32_t retired) {
    const unsigned size = access_size(insn.op);
    Xbyak::Label& slow = new_label();
    Xbyak::Label& join = new_label();
    emit_tlb_probe(insn, size, layout_.tlb_load, slow);
    mov(rdx, qword[rbx + rcx + layout_.tlb_load + layout_.tlb_addend]);
    emit_load_to_rd(insn, rax + rdx);
    L(join);
    deferred_.push_back([this, &slow, &join, pc, retired, insn] {
        L(slow);
        emit_load_slow_path(insn, pc, retired, join);
    });
}

void Compiler::emit_load_slow_path(const Insn& insn, uint64_t pc, uint32_t retired,
                                   Xbyak::Label& join) {
    emit_pc_argument(pc);
    emit_rel32(0xe8, helpers_.load_thunk[std::countr_zero(access_size(insn.op))]);
    test(al, al);
    jz(trap_exit(retired), T_NEAR);
    // The value as the fast path leaves it, read back from where the thunk put it.
    lea(rdx, ptr[r12 + offsetof(RunState, slow_value)]);
    emit_load_to_rd(insn, rdx);
    jmp(join, T_NEAR);
}

void Compiler::emit_store_value(const Insn& insn) {
    if (insn.op == Op::fsd)
        mov(rcx, fp_slot(insn.rs2));
    else if (insn.op == Op::fsw)
        mov(ecx, fp_slot32(insn.rs2));
    else
        mov(rcx, guest(insn.rs2));
}

void Compiler::emit_store(const Insn& insn, uint64_t pc, uint32_t retired) {
    if (const AccessGroup* group = access_group(retired))
        emit_grouped_access(insn, pc, retired, *group);
    else
        emit_probed_store(insn, pc, retired);
}

void Compiler::emit_probed_store(const Insn& insn, uint64_t pc, uint32_t retired) {
    const unsigned size = access_size(insn.op);
    Xbyak::Label& slow = new_label();
    Xbyak::Label& join = new_label();
    emit_tlb_probe(insn, size, layout_.tlb_store, slow);
    // A page holding translated or decoded code: the slow path tells every cache.
    mov(rdx, qword[rbx + rcx + layout_.tlb_store + layout_.tlb_code_flag]);
    cmp(byte[rdx], 0);
    jne(slow, T_NEAR);
    mov(rdx, qword[rbx + rcx + layout_.tlb_store + layout_.tlb_addend]);
    emit_store_value(insn);
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
    deferred_.push_back([this, &slow, &join, pc, retired, insn] {
        L(slow);
        emit_store_slow_path(insn, pc, retired, join);
    });
}

void Compiler::emit_store_slow_path(const Insn& insn, uint64_t pc, uint32_t retired,
                                    Xbyak::Label& join) {
    emit_store_value(insn);
    emit_pc_argument(pc);
    emit_rel32(0xe8, helpers_.store_thunk[std::countr_zero(access_size(insn.op))]);
    test(al, al);
    jz(trap_exit(retired), T_NEAR);
    // A store to code or to a device: what this block (or the next) assumed may be gone.
    cmp(byte[rbx + layout_.end_block], 0);
    jne(leave_exit(pc + insn.length, retired + 1), T_NEAR);
    jmp(join, T_NEAR);
}

}  // namespace vessel::riscv::jit
