// RV64GC instruction decoding into a compact, engine-independent form. The interpreter executes
// `Insn`s from its per-page decoded cache; the later binary translator reads the same structs.
#pragma once

#include <cstdint>

namespace vessel::riscv {

// Every operation, with the interpreter handler that executes it (operations sharing a handler,
// like the AMOs or F/D, are dispatched once more inside it). The enum and the interpreter's
// dispatch table are both generated from this list, so they cannot disagree.
#define VESSEL_RISCV_OPS(X)     \
    X(undecoded, undecoded)     \
    X(end_of_page, end_of_page) \
    X(illegal, illegal)         \
    X(lui, lui)                 \
    X(auipc, auipc)             \
    X(jal, jal)                 \
    X(jalr, jalr)               \
    X(beq, beq)                 \
    X(bne, bne)                 \
    X(blt, blt)                 \
    X(bge, bge)                 \
    X(bltu, bltu)               \
    X(bgeu, bgeu)               \
    X(lb, lb)                   \
    X(lh, lh)                   \
    X(lw, lw)                   \
    X(ld, ld)                   \
    X(lbu, lbu)                 \
    X(lhu, lhu)                 \
    X(lwu, lwu)                 \
    X(sb, sb)                   \
    X(sh, sh)                   \
    X(sw, sw)                   \
    X(sd, sd)                   \
    X(addi, addi)               \
    X(slti, slti)               \
    X(sltiu, sltiu)             \
    X(xori, xori)               \
    X(ori, ori)                 \
    X(andi, andi)               \
    X(slli, slli)               \
    X(srli, srli)               \
    X(srai, srai)               \
    X(add, add)                 \
    X(sub, sub)                 \
    X(sll, sll)                 \
    X(slt, slt)                 \
    X(sltu, sltu)               \
    X(xor_, xor_)               \
    X(srl, srl)                 \
    X(sra, sra)                 \
    X(or_, or_)                 \
    X(and_, and_)               \
    X(addiw, addiw)             \
    X(slliw, slliw)             \
    X(srliw, srliw)             \
    X(sraiw, sraiw)             \
    X(addw, addw)               \
    X(subw, subw)               \
    X(sllw, sllw)               \
    X(srlw, srlw)               \
    X(sraw, sraw)               \
    X(fence, fence)             \
    X(fence_i, fence_i)         \
    X(ecall, ecall)             \
    X(ebreak, ebreak)           \
    X(mret, mret)               \
    X(sret, sret)               \
    X(wfi, wfi)                 \
    X(sfence_vma, sfence_vma)   \
    X(csrrw, csr)               \
    X(csrrs, csr)               \
    X(csrrc, csr)               \
    X(csrrwi, csr)              \
    X(csrrsi, csr)              \
    X(csrrci, csr)              \
    X(mul, mul)                 \
    X(mulh, mulh)               \
    X(mulhsu, mulhsu)           \
    X(mulhu, mulhu)             \
    X(div, div)                 \
    X(divu, divu)               \
    X(rem, rem)                 \
    X(remu, remu)               \
    X(mulw, mulw)               \
    X(divw, divw)               \
    X(divuw, divuw)             \
    X(remw, remw)               \
    X(remuw, remuw)             \
    X(lr_w, amo)                \
    X(sc_w, amo)                \
    X(amoswap_w, amo)           \
    X(amoadd_w, amo)            \
    X(amoxor_w, amo)            \
    X(amoand_w, amo)            \
    X(amoor_w, amo)             \
    X(amomin_w, amo)            \
    X(amomax_w, amo)            \
    X(amominu_w, amo)           \
    X(amomaxu_w, amo)           \
    X(lr_d, amo)                \
    X(sc_d, amo)                \
    X(amoswap_d, amo)           \
    X(amoadd_d, amo)            \
    X(amoxor_d, amo)            \
    X(amoand_d, amo)            \
    X(amoor_d, amo)             \
    X(amomin_d, amo)            \
    X(amomax_d, amo)            \
    X(amominu_d, amo)           \
    X(amomaxu_d, amo)           \
    X(flw, fp)                  \
    X(fsw, fp)                  \
    X(fld, fp)                  \
    X(fsd, fp)                  \
    X(fmadd_s, fp)              \
    X(fmsub_s, fp)              \
    X(fnmsub_s, fp)             \
    X(fnmadd_s, fp)             \
    X(fadd_s, fp)               \
    X(fsub_s, fp)               \
    X(fmul_s, fp)               \
    X(fdiv_s, fp)               \
    X(fsqrt_s, fp)              \
    X(fsgnj_s, fp)              \
    X(fsgnjn_s, fp)             \
    X(fsgnjx_s, fp)             \
    X(fmin_s, fp)               \
    X(fmax_s, fp)               \
    X(fcvt_w_s, fp)             \
    X(fcvt_wu_s, fp)            \
    X(fcvt_l_s, fp)             \
    X(fcvt_lu_s, fp)            \
    X(fmv_x_w, fp)              \
    X(feq_s, fp)                \
    X(flt_s, fp)                \
    X(fle_s, fp)                \
    X(fclass_s, fp)             \
    X(fcvt_s_w, fp)             \
    X(fcvt_s_wu, fp)            \
    X(fcvt_s_l, fp)             \
    X(fcvt_s_lu, fp)            \
    X(fmv_w_x, fp)              \
    X(fmadd_d, fp)              \
    X(fmsub_d, fp)              \
    X(fnmsub_d, fp)             \
    X(fnmadd_d, fp)             \
    X(fadd_d, fp)               \
    X(fsub_d, fp)               \
    X(fmul_d, fp)               \
    X(fdiv_d, fp)               \
    X(fsqrt_d, fp)              \
    X(fsgnj_d, fp)              \
    X(fsgnjn_d, fp)             \
    X(fsgnjx_d, fp)             \
    X(fmin_d, fp)               \
    X(fmax_d, fp)               \
    X(fcvt_w_d, fp)             \
    X(fcvt_wu_d, fp)            \
    X(fcvt_l_d, fp)             \
    X(fcvt_lu_d, fp)            \
    X(fmv_x_d, fp)              \
    X(feq_d, fp)                \
    X(flt_d, fp)                \
    X(fle_d, fp)                \
    X(fclass_d, fp)             \
    X(fcvt_d_w, fp)             \
    X(fcvt_d_wu, fp)            \
    X(fcvt_d_l, fp)             \
    X(fcvt_d_lu, fp)            \
    X(fmv_d_x, fp)              \
    X(fcvt_s_d, fp)             \
    X(fcvt_d_s, fp)

enum class Op : uint16_t {
#define VESSEL_RISCV_OP_ENUM(name, handler) name,
    VESSEL_RISCV_OPS(VESSEL_RISCV_OP_ENUM)
#undef VESSEL_RISCV_OP_ENUM
        count_
};
// undecoded (0) marks an empty slot of the decoded-instruction cache and end_of_page the sentinel
// slots after a cached page (the decoder produces neither); illegal carries the raw instruction
// bits in imm (for mtval).

// 12 bytes: a 4 KiB page of 2-byte slots is 24 KiB of decoded cache.
struct Insn {
    Op op = Op::undecoded;
    uint8_t rd = 0;
    uint8_t rs1 = 0;
    uint8_t rs2 = 0;
    uint8_t rs3 = 0;
    uint8_t rm = 0;      // FP rounding-mode field (7 = dynamic); for CSR ops unused
    uint8_t length = 4;  // 2 for compressed forms
    int32_t imm = 0;     // sign-extended immediate; CSR number for csr*; raw bits for illegal
};
static_assert(sizeof(Insn) == 12);

// Length in bytes of the instruction whose low 16 bits are `low`: 2 or 4 (longer encodings are
// not supported and decode as illegal).
inline unsigned instruction_length(uint16_t low) {
    return (low & 3) == 3 ? 4 : 2;
}

// Decodes a 32-bit instruction (low two bits 11) or a 16-bit compressed one (expanded to its
// 32-bit equivalent's Op). Reserved and unsupported encodings give Op::illegal.
Insn decode(uint32_t raw);
Insn decode_compressed(uint16_t raw);

const char* op_name(Op op);

}  // namespace vessel::riscv
