// F and D: register moves, loads/stores and sign injection are bit operations done here; the
// rounded arithmetic, comparisons, classification and conversions come from the fp library.
#include "vm/riscv/fpu.h"
#include "vm/riscv/hart.h"
#include "vm/riscv/hart_memory_inl.h"

namespace vessel::riscv {

uint32_t Hart::current_instruction_bits() {
    WalkRequest request{satp_, priv_, false, false};
    auto fetch16 = [&](uint64_t vaddr) -> uint32_t {
        WalkResult result = translate(machine_.memory, request, vaddr, Access::fetch);
        if (!result.ok) return 0;
        return machine_.memory.load<uint16_t>(result.paddr).value_or(0);
    };
    uint32_t low = fetch16(pc_);
    if ((low & 3) != 3) return low;
    return low | (fetch16(pc_ + 2) << 16);
}

bool Hart::execute_fp(const Insn& i) {
    using namespace fp;
    if (!fp_enabled()) {
        raise(cause::illegal_instruction, current_instruction_bits());
        return false;
    }
    uint8_t rm_field = i.rm == kRoundingDynamic ? static_cast<uint8_t>(frm_) : i.rm;
    // Only instructions with a rounding-mode field look at rm; others never reach this check
    // with a reserved value because the decoder encodes their funct3 in the op.
    auto rounding = static_cast<Rounding>(rm_field);
    uint32_t flags = 0;
    uint64_t* x = x_;
    uint64_t* f = f_;
    auto s1 = [&] { return unbox_s(f[i.rs1]); };
    auto s2 = [&] { return unbox_s(f[i.rs2]); };
    auto s3 = [&] { return unbox_s(f[i.rs3]); };
    auto sext = [](uint32_t value) {
        return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(value)));
    };
    bool uses_rm = false;
    switch (i.op) {
        case Op::fadd_s:
        case Op::fsub_s:
        case Op::fmul_s:
        case Op::fdiv_s:
        case Op::fsqrt_s:
        case Op::fmadd_s:
        case Op::fmsub_s:
        case Op::fnmsub_s:
        case Op::fnmadd_s:
        case Op::fadd_d:
        case Op::fsub_d:
        case Op::fmul_d:
        case Op::fdiv_d:
        case Op::fsqrt_d:
        case Op::fmadd_d:
        case Op::fmsub_d:
        case Op::fnmsub_d:
        case Op::fnmadd_d:
        case Op::fcvt_w_s:
        case Op::fcvt_wu_s:
        case Op::fcvt_l_s:
        case Op::fcvt_lu_s:
        case Op::fcvt_s_w:
        case Op::fcvt_s_wu:
        case Op::fcvt_s_l:
        case Op::fcvt_s_lu:
        case Op::fcvt_w_d:
        case Op::fcvt_wu_d:
        case Op::fcvt_l_d:
        case Op::fcvt_lu_d:
        case Op::fcvt_d_w:
        case Op::fcvt_d_wu:
        case Op::fcvt_d_l:
        case Op::fcvt_d_lu:
        case Op::fcvt_s_d:
        case Op::fcvt_d_s:
            uses_rm = true;
            break;
        default:
            break;
    }
    if (uses_rm && !is_valid_rounding(rm_field)) {
        raise(cause::illegal_instruction, current_instruction_bits());
        return false;
    }
    bool writes_f = true;
    switch (i.op) {
        case Op::flw: {
            uint32_t value;
            if (!load<uint32_t>(x[i.rs1] + static_cast<int64_t>(i.imm), value)) return false;
            f[i.rd] = box_s(value);
            break;
        }
        case Op::fld: {
            uint64_t value;
            if (!load<uint64_t>(x[i.rs1] + static_cast<int64_t>(i.imm), value)) return false;
            f[i.rd] = value;
            break;
        }
        case Op::fsw:
            if (!store<uint32_t>(x[i.rs1] + static_cast<int64_t>(i.imm),
                                 static_cast<uint32_t>(f[i.rs2])))
                return false;
            writes_f = false;
            break;
        case Op::fsd:
            if (!store<uint64_t>(x[i.rs1] + static_cast<int64_t>(i.imm), f[i.rs2])) return false;
            writes_f = false;
            break;
        // Single precision.
        case Op::fadd_s:
            f[i.rd] = box_s(add_s(s1(), s2(), rounding, flags));
            break;
        case Op::fsub_s:
            f[i.rd] = box_s(sub_s(s1(), s2(), rounding, flags));
            break;
        case Op::fmul_s:
            f[i.rd] = box_s(mul_s(s1(), s2(), rounding, flags));
            break;
        case Op::fdiv_s:
            f[i.rd] = box_s(div_s(s1(), s2(), rounding, flags));
            break;
        case Op::fsqrt_s:
            f[i.rd] = box_s(sqrt_s(s1(), rounding, flags));
            break;
        case Op::fmadd_s:
            f[i.rd] = box_s(fmadd_s(s1(), s2(), s3(), rounding, flags));
            break;
        case Op::fmsub_s:
            f[i.rd] = box_s(fmsub_s(s1(), s2(), s3(), rounding, flags));
            break;
        case Op::fnmsub_s:
            f[i.rd] = box_s(fnmsub_s(s1(), s2(), s3(), rounding, flags));
            break;
        case Op::fnmadd_s:
            f[i.rd] = box_s(fnmadd_s(s1(), s2(), s3(), rounding, flags));
            break;
        case Op::fsgnj_s:
            f[i.rd] = box_s(sgnj_s(s1(), s2()));
            break;
        case Op::fsgnjn_s:
            f[i.rd] = box_s(sgnjn_s(s1(), s2()));
            break;
        case Op::fsgnjx_s:
            f[i.rd] = box_s(sgnjx_s(s1(), s2()));
            break;
        case Op::fmin_s:
            f[i.rd] = box_s(min_s(s1(), s2(), flags));
            break;
        case Op::fmax_s:
            f[i.rd] = box_s(max_s(s1(), s2(), flags));
            break;
        case Op::fcvt_w_s:
            x[i.rd] = sext(static_cast<uint32_t>(cvt_w_s(s1(), rounding, flags)));
            writes_f = false;
            break;
        case Op::fcvt_wu_s:
            x[i.rd] = sext(cvt_wu_s(s1(), rounding, flags));
            writes_f = false;
            break;
        case Op::fcvt_l_s:
            x[i.rd] = static_cast<uint64_t>(cvt_l_s(s1(), rounding, flags));
            writes_f = false;
            break;
        case Op::fcvt_lu_s:
            x[i.rd] = cvt_lu_s(s1(), rounding, flags);
            writes_f = false;
            break;
        case Op::fmv_x_w:
            x[i.rd] = sext(static_cast<uint32_t>(f[i.rs1]));
            writes_f = false;
            break;
        case Op::feq_s:
            x[i.rd] = eq_s(s1(), s2(), flags);
            writes_f = false;
            break;
        case Op::flt_s:
            x[i.rd] = lt_s(s1(), s2(), flags);
            writes_f = false;
            break;
        case Op::fle_s:
            x[i.rd] = le_s(s1(), s2(), flags);
            writes_f = false;
            break;
        case Op::fclass_s:
            x[i.rd] = classify_s(s1());
            writes_f = false;
            break;
        case Op::fcvt_s_w:
            f[i.rd] = box_s(cvt_s_w(static_cast<int32_t>(x[i.rs1]), rounding, flags));
            break;
        case Op::fcvt_s_wu:
            f[i.rd] = box_s(cvt_s_wu(static_cast<uint32_t>(x[i.rs1]), rounding, flags));
            break;
        case Op::fcvt_s_l:
            f[i.rd] = box_s(cvt_s_l(static_cast<int64_t>(x[i.rs1]), rounding, flags));
            break;
        case Op::fcvt_s_lu:
            f[i.rd] = box_s(cvt_s_lu(x[i.rs1], rounding, flags));
            break;
        case Op::fmv_w_x:
            f[i.rd] = box_s(static_cast<uint32_t>(x[i.rs1]));
            break;
        // Double precision.
        case Op::fadd_d:
            f[i.rd] = add_d(f[i.rs1], f[i.rs2], rounding, flags);
            break;
        case Op::fsub_d:
            f[i.rd] = sub_d(f[i.rs1], f[i.rs2], rounding, flags);
            break;
        case Op::fmul_d:
            f[i.rd] = mul_d(f[i.rs1], f[i.rs2], rounding, flags);
            break;
        case Op::fdiv_d:
            f[i.rd] = div_d(f[i.rs1], f[i.rs2], rounding, flags);
            break;
        case Op::fsqrt_d:
            f[i.rd] = sqrt_d(f[i.rs1], rounding, flags);
            break;
        case Op::fmadd_d:
            f[i.rd] = fmadd_d(f[i.rs1], f[i.rs2], f[i.rs3], rounding, flags);
            break;
        case Op::fmsub_d:
            f[i.rd] = fmsub_d(f[i.rs1], f[i.rs2], f[i.rs3], rounding, flags);
            break;
        case Op::fnmsub_d:
            f[i.rd] = fnmsub_d(f[i.rs1], f[i.rs2], f[i.rs3], rounding, flags);
            break;
        case Op::fnmadd_d:
            f[i.rd] = fnmadd_d(f[i.rs1], f[i.rs2], f[i.rs3], rounding, flags);
            break;
        case Op::fsgnj_d:
            f[i.rd] = sgnj_d(f[i.rs1], f[i.rs2]);
            break;
        case Op::fsgnjn_d:
            f[i.rd] = sgnjn_d(f[i.rs1], f[i.rs2]);
            break;
        case Op::fsgnjx_d:
            f[i.rd] = sgnjx_d(f[i.rs1], f[i.rs2]);
            break;
        case Op::fmin_d:
            f[i.rd] = min_d(f[i.rs1], f[i.rs2], flags);
            break;
        case Op::fmax_d:
            f[i.rd] = max_d(f[i.rs1], f[i.rs2], flags);
            break;
        case Op::fcvt_w_d:
            x[i.rd] = sext(static_cast<uint32_t>(cvt_w_d(f[i.rs1], rounding, flags)));
            writes_f = false;
            break;
        case Op::fcvt_wu_d:
            x[i.rd] = sext(cvt_wu_d(f[i.rs1], rounding, flags));
            writes_f = false;
            break;
        case Op::fcvt_l_d:
            x[i.rd] = static_cast<uint64_t>(cvt_l_d(f[i.rs1], rounding, flags));
            writes_f = false;
            break;
        case Op::fcvt_lu_d:
            x[i.rd] = cvt_lu_d(f[i.rs1], rounding, flags);
            writes_f = false;
            break;
        case Op::fmv_x_d:
            x[i.rd] = f[i.rs1];
            writes_f = false;
            break;
        case Op::feq_d:
            x[i.rd] = eq_d(f[i.rs1], f[i.rs2], flags);
            writes_f = false;
            break;
        case Op::flt_d:
            x[i.rd] = lt_d(f[i.rs1], f[i.rs2], flags);
            writes_f = false;
            break;
        case Op::fle_d:
            x[i.rd] = le_d(f[i.rs1], f[i.rs2], flags);
            writes_f = false;
            break;
        case Op::fclass_d:
            x[i.rd] = classify_d(f[i.rs1]);
            writes_f = false;
            break;
        case Op::fcvt_d_w:
            f[i.rd] = cvt_d_w(static_cast<int32_t>(x[i.rs1]), rounding, flags);
            break;
        case Op::fcvt_d_wu:
            f[i.rd] = cvt_d_wu(static_cast<uint32_t>(x[i.rs1]), rounding, flags);
            break;
        case Op::fcvt_d_l:
            f[i.rd] = cvt_d_l(static_cast<int64_t>(x[i.rs1]), rounding, flags);
            break;
        case Op::fcvt_d_lu:
            f[i.rd] = cvt_d_lu(x[i.rs1], rounding, flags);
            break;
        case Op::fmv_d_x:
            f[i.rd] = x[i.rs1];
            break;
        case Op::fcvt_s_d:
            f[i.rd] = box_s(cvt_s_d(f[i.rs1], rounding, flags));
            break;
        case Op::fcvt_d_s:
            f[i.rd] = cvt_d_s(s1(), flags);
            break;
        default:
            raise(cause::illegal_instruction, current_instruction_bits());
            return false;
    }
    if (flags) fflags_ |= flags;
    if (writes_f || flags) mark_fp_dirty();
    return true;
}

}  // namespace vessel::riscv
