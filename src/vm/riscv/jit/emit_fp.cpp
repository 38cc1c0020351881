// F and D instructions. Inline, the host's SSE computes them in round-to-nearest-even with the
// exceptions masked, which for add, sub, mul, div, sqrt and fused multiply-add gives RISC-V's
// result and flags exactly (x86 detects tininess after rounding, as RISC-V does; underflow with
// masked exceptions needs inexactness, as RISC-V's UF does), except in two places handled here:
// a NaN result is replaced by the canonical NaN, and a fused multiply-add whose addend is a NaN
// goes to the helper (whether 0 x inf + qNaN raises invalid is the implementation's choice in
// IEEE 754; RISC-V raises it). The flags accumulate in the host's MXCSR while translated code
// runs and reach fflags when it returns to the hart's loop (RunState::guest_mxcsr).
//
// Everything else (other rounding modes, conversions, comparisons, min/max, classification) and
// every case the inline code does not take at run time (FS off, which must raise illegal
// instruction; a dynamic rounding mode other than rne; a single-precision operand that is not
// NaN-boxed) runs the interpreter's fp helper, which implements all of it.
#include "vm/riscv/jit/compiler.h"

namespace vessel::riscv::jit {

namespace {

constexpr uint32_t kMstatusFs = 3u << 13;
constexpr uint8_t kRoundNearestEven = 0, kRoundDynamic = 7;

enum class Kind { none, load_store, move, sign_injection, arithmetic, fused };

struct Shape {
    Kind kind = Kind::none;
    bool single = false;
};

Shape shape_of(Op op) {
    switch (op) {
        case Op::flw:
        case Op::fsw:
            return {Kind::load_store, true};
        case Op::fld:
        case Op::fsd:
            return {Kind::load_store, false};
        case Op::fmv_x_w:
        case Op::fmv_w_x:
            return {Kind::move, true};
        case Op::fmv_x_d:
        case Op::fmv_d_x:
            return {Kind::move, false};
        case Op::fsgnj_s:
        case Op::fsgnjn_s:
        case Op::fsgnjx_s:
            return {Kind::sign_injection, true};
        case Op::fsgnj_d:
        case Op::fsgnjn_d:
        case Op::fsgnjx_d:
            return {Kind::sign_injection, false};
        case Op::fadd_s:
        case Op::fsub_s:
        case Op::fmul_s:
        case Op::fdiv_s:
        case Op::fsqrt_s:
            return {Kind::arithmetic, true};
        case Op::fadd_d:
        case Op::fsub_d:
        case Op::fmul_d:
        case Op::fdiv_d:
        case Op::fsqrt_d:
            return {Kind::arithmetic, false};
        case Op::fmadd_s:
        case Op::fmsub_s:
        case Op::fnmsub_s:
        case Op::fnmadd_s:
            return {Kind::fused, true};
        case Op::fmadd_d:
        case Op::fmsub_d:
        case Op::fnmsub_d:
        case Op::fnmadd_d:
            return {Kind::fused, false};
        default:
            return {};
    }
}

}  // namespace

void Compiler::emit_fp_result(bool single, unsigned rd) {
    Xbyak::Label& canonical = new_label();
    Xbyak::Label& store = new_label();
    single ? ucomiss(xmm0, xmm0) : ucomisd(xmm0, xmm0);
    jp(canonical, T_NEAR);  // unordered with itself: a NaN
    L(store);
    if (single) {
        movss(fp_slot32(rd), xmm0);
        mov(fp_high32(rd), -1);  // NaN-boxed
    } else {
        movsd(fp_slot(rd), xmm0);
    }
    deferred_.push_back([this, &canonical, &store, single] {
        L(canonical);
        if (single) {
            mov(eax, 0x7fc00000u);
            movd(xmm0, eax);
        } else {
            mov(rax, 0x7ff8000000000000ull);
            movq(xmm0, rax);
        }
        jmp(store, T_NEAR);
    });
}

void Compiler::emit_fp(const Insn& insn, uint64_t pc, uint32_t retired) {
    const Shape shape = shape_of(insn.op);
    const bool rounds = shape.kind == Kind::arithmetic || shape.kind == Kind::fused;
    if (shape.kind == Kind::none || (shape.kind == Kind::fused && !helpers_.host_fma) ||
        (rounds && insn.rm != kRoundNearestEven && insn.rm != kRoundDynamic)) {
        emit_helper_call(insn, helpers_.fp, pc, retired);
        return;
    }
    Xbyak::Label& slow = new_label();
    Xbyak::Label& done = new_label();
    // FS = Off makes every F/D instruction illegal: the helper raises that.
    test(dword[rbx + layout_.mstatus], kMstatusFs);
    jz(slow, T_NEAR);
    if (rounds && insn.rm == kRoundDynamic) {
        cmp(dword[rbx + layout_.frm], kRoundNearestEven);
        jne(slow, T_NEAR);
    }
    // A single-precision operand whose upper half is not all ones reads as the canonical NaN.
    auto require_boxed = [&](unsigned index) {
        cmp(fp_high32(index), -1);
        jne(slow, T_NEAR);
    };
    const bool writes_f = insn.op != Op::fsw && insn.op != Op::fsd && insn.op != Op::fmv_x_w &&
                          insn.op != Op::fmv_x_d;

    switch (shape.kind) {
        case Kind::load_store:
            if (insn.op == Op::flw || insn.op == Op::fld)
                emit_load(insn, pc, retired);
            else
                emit_store(insn, pc, retired);
            break;
        case Kind::move:
            switch (insn.op) {
                case Op::fmv_x_w:
                    if (insn.rd) {
                        movsxd(rax, fp_slot32(insn.rs1));
                        mov(guest(insn.rd), rax);
                    }
                    break;
                case Op::fmv_x_d:
                    if (insn.rd) {
                        mov(rax, fp_slot(insn.rs1));
                        mov(guest(insn.rd), rax);
                    }
                    break;
                case Op::fmv_w_x:
                    mov(eax, guest32(insn.rs1));
                    mov(fp_slot32(insn.rd), eax);
                    mov(fp_high32(insn.rd), -1);
                    break;
                default:
                    mov(rax, guest(insn.rs1));
                    mov(fp_slot(insn.rd), rax);
                    break;
            }
            break;
        case Kind::sign_injection: {
            // Bit operations on the sign: no rounding, no flags, NaNs kept as they are.
            if (shape.single) {
                require_boxed(insn.rs1);
                require_boxed(insn.rs2);
            }
            const int sign_bit = shape.single ? 31 : 63;
            mov(rax, fp_slot(insn.rs1));
            mov(rcx, fp_slot(insn.rs2));
            btr(rax, sign_bit);  // rax: rs1 without its sign
            bool negate = insn.op == Op::fsgnjn_s || insn.op == Op::fsgnjn_d;
            bool exclusive = insn.op == Op::fsgnjx_s || insn.op == Op::fsgnjx_d;
            if (negate) not_(rcx);
            shr(rcx, sign_bit);
            and_(ecx, 1);
            if (exclusive) {
                // The sign of rs1 xor that of rs2.
                mov(rdx, fp_slot(insn.rs1));
                shr(rdx, sign_bit);
                xor_(ecx, edx);
                and_(ecx, 1);
            }
            shl(rcx, sign_bit);
            or_(rax, rcx);
            mov(fp_slot(insn.rd), rax);  // a single keeps its all-ones upper half
            break;
        }
        case Kind::arithmetic: {
            const bool sqrt_op = insn.op == Op::fsqrt_s || insn.op == Op::fsqrt_d;
            if (shape.single) {
                require_boxed(insn.rs1);
                if (!sqrt_op) require_boxed(insn.rs2);
            }
            if (shape.single) {
                movss(xmm0, fp_slot32(insn.rs1));
                switch (insn.op) {
                    case Op::fadd_s:
                        addss(xmm0, fp_slot32(insn.rs2));
                        break;
                    case Op::fsub_s:
                        subss(xmm0, fp_slot32(insn.rs2));
                        break;
                    case Op::fmul_s:
                        mulss(xmm0, fp_slot32(insn.rs2));
                        break;
                    case Op::fdiv_s:
                        divss(xmm0, fp_slot32(insn.rs2));
                        break;
                    default:
                        sqrtss(xmm0, xmm0);
                        break;
                }
            } else {
                movsd(xmm0, fp_slot(insn.rs1));
                switch (insn.op) {
                    case Op::fadd_d:
                        addsd(xmm0, fp_slot(insn.rs2));
                        break;
                    case Op::fsub_d:
                        subsd(xmm0, fp_slot(insn.rs2));
                        break;
                    case Op::fmul_d:
                        mulsd(xmm0, fp_slot(insn.rs2));
                        break;
                    case Op::fdiv_d:
                        divsd(xmm0, fp_slot(insn.rs2));
                        break;
                    default:
                        sqrtsd(xmm0, xmm0);
                        break;
                }
            }
            emit_fp_result(shape.single, insn.rd);
            break;
        }
        case Kind::fused: {
            if (shape.single) {
                require_boxed(insn.rs1);
                require_boxed(insn.rs2);
                require_boxed(insn.rs3);
            }
            // xmm0 = rs1, xmm1 = rs2, xmm2 = rs3; the 213 forms compute xmm1 * xmm0 +- xmm2.
            if (shape.single) {
                movss(xmm0, fp_slot32(insn.rs1));
                movss(xmm1, fp_slot32(insn.rs2));
                movss(xmm2, fp_slot32(insn.rs3));
                ucomiss(xmm2, xmm2);
            } else {
                movsd(xmm0, fp_slot(insn.rs1));
                movsd(xmm1, fp_slot(insn.rs2));
                movsd(xmm2, fp_slot(insn.rs3));
                ucomisd(xmm2, xmm2);
            }
            jp(slow, T_NEAR);  // a NaN addend: see the top of the file
            switch (insn.op) {
                case Op::fmadd_s:
                    vfmadd213ss(xmm0, xmm1, xmm2);
                    break;
                case Op::fmsub_s:
                    vfmsub213ss(xmm0, xmm1, xmm2);
                    break;
                case Op::fnmsub_s:  // -(rs1 * rs2) + rs3
                    vfnmadd213ss(xmm0, xmm1, xmm2);
                    break;
                case Op::fnmadd_s:  // -(rs1 * rs2) - rs3
                    vfnmsub213ss(xmm0, xmm1, xmm2);
                    break;
                case Op::fmadd_d:
                    vfmadd213sd(xmm0, xmm1, xmm2);
                    break;
                case Op::fmsub_d:
                    vfmsub213sd(xmm0, xmm1, xmm2);
                    break;
                case Op::fnmsub_d:
                    vfnmadd213sd(xmm0, xmm1, xmm2);
                    break;
                default:
                    vfnmsub213sd(xmm0, xmm1, xmm2);
                    break;
            }
            emit_fp_result(shape.single, insn.rd);
            break;
        }
        case Kind::none:
            break;
    }
    // Writing an f register makes the FP state dirty (FS = 3), as the helper does.
    if (writes_f) or_(dword[rbx + layout_.mstatus], kMstatusFs);
    L(done);
    deferred_.push_back([this, &slow, &done, insn, pc, retired] {
        L(slow);
        emit_helper_call(insn, helpers_.fp, pc, retired);
        jmp(done, T_NEAR);
    });
}

}  // namespace vessel::riscv::jit
