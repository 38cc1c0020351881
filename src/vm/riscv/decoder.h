// RV64GC instruction decoding into a compact, engine-independent form. The interpreter executes
// `Insn`s from its per-page decoded cache; the later binary translator reads the same structs.
#pragma once

#include <cstdint>

namespace vessel::riscv {

enum class Op : uint16_t {
    undecoded = 0,  // an empty slot of the decoded-instruction cache
    illegal,        // imm holds the raw instruction bits (mtval)
    // RV64I
    lui,
    auipc,
    jal,
    jalr,
    beq,
    bne,
    blt,
    bge,
    bltu,
    bgeu,
    lb,
    lh,
    lw,
    ld,
    lbu,
    lhu,
    lwu,
    sb,
    sh,
    sw,
    sd,
    addi,
    slti,
    sltiu,
    xori,
    ori,
    andi,
    slli,
    srli,
    srai,
    add,
    sub,
    sll,
    slt,
    sltu,
    xor_,
    srl,
    sra,
    or_,
    and_,
    addiw,
    slliw,
    srliw,
    sraiw,
    addw,
    subw,
    sllw,
    srlw,
    sraw,
    fence,
    fence_i,
    ecall,
    ebreak,
    mret,
    sret,
    wfi,
    sfence_vma,
    csrrw,
    csrrs,
    csrrc,
    csrrwi,
    csrrsi,
    csrrci,
    // M
    mul,
    mulh,
    mulhsu,
    mulhu,
    div,
    divu,
    rem,
    remu,
    mulw,
    divw,
    divuw,
    remw,
    remuw,
    // A (word then doubleword, same order)
    lr_w,
    sc_w,
    amoswap_w,
    amoadd_w,
    amoxor_w,
    amoand_w,
    amoor_w,
    amomin_w,
    amomax_w,
    amominu_w,
    amomaxu_w,
    lr_d,
    sc_d,
    amoswap_d,
    amoadd_d,
    amoxor_d,
    amoand_d,
    amoor_d,
    amomin_d,
    amomax_d,
    amominu_d,
    amomaxu_d,
    // F and D
    flw,
    fsw,
    fld,
    fsd,
    fmadd_s,
    fmsub_s,
    fnmsub_s,
    fnmadd_s,
    fadd_s,
    fsub_s,
    fmul_s,
    fdiv_s,
    fsqrt_s,
    fsgnj_s,
    fsgnjn_s,
    fsgnjx_s,
    fmin_s,
    fmax_s,
    fcvt_w_s,
    fcvt_wu_s,
    fcvt_l_s,
    fcvt_lu_s,
    fmv_x_w,
    feq_s,
    flt_s,
    fle_s,
    fclass_s,
    fcvt_s_w,
    fcvt_s_wu,
    fcvt_s_l,
    fcvt_s_lu,
    fmv_w_x,
    fmadd_d,
    fmsub_d,
    fnmsub_d,
    fnmadd_d,
    fadd_d,
    fsub_d,
    fmul_d,
    fdiv_d,
    fsqrt_d,
    fsgnj_d,
    fsgnjn_d,
    fsgnjx_d,
    fmin_d,
    fmax_d,
    fcvt_w_d,
    fcvt_wu_d,
    fcvt_l_d,
    fcvt_lu_d,
    fmv_x_d,
    feq_d,
    flt_d,
    fle_d,
    fclass_d,
    fcvt_d_w,
    fcvt_d_wu,
    fcvt_d_l,
    fcvt_d_lu,
    fmv_d_x,
    fcvt_s_d,
    fcvt_d_s,
    count_
};

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
