#include "vm/riscv/decoder.h"

#include <cstddef>

namespace vessel::riscv {

namespace {

constexpr uint32_t bits(uint32_t value, unsigned high, unsigned low) {
    return (value >> low) & ((1u << (high - low + 1)) - 1);
}

constexpr int32_t sign_extend(uint32_t value, unsigned width) {
    uint32_t shift = 32 - width;
    return static_cast<int32_t>(value << shift) >> shift;
}

Insn make(Op op, uint32_t rd, uint32_t rs1, uint32_t rs2, int32_t imm, uint8_t length = 4) {
    Insn insn;
    insn.op = op;
    insn.rd = static_cast<uint8_t>(rd);
    insn.rs1 = static_cast<uint8_t>(rs1);
    insn.rs2 = static_cast<uint8_t>(rs2);
    insn.imm = imm;
    insn.length = length;
    return insn;
}

Insn illegal(uint32_t raw, uint8_t length) {
    Insn insn = make(Op::illegal, 0, 0, 0, static_cast<int32_t>(raw), length);
    return insn;
}

int32_t imm_i(uint32_t raw) {
    return static_cast<int32_t>(raw) >> 20;
}
int32_t imm_s(uint32_t raw) {
    return static_cast<int32_t>(((raw >> 20) & ~0x1fu) | bits(raw, 11, 7)) |
           (static_cast<int32_t>(raw) >> 31 << 12);
}
int32_t imm_b(uint32_t raw) {
    uint32_t value = (bits(raw, 31, 31) << 12) | (bits(raw, 7, 7) << 11) |
                     (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1);
    return sign_extend(value, 13);
}
int32_t imm_j(uint32_t raw) {
    uint32_t value = (bits(raw, 31, 31) << 20) | (bits(raw, 19, 12) << 12) |
                     (bits(raw, 20, 20) << 11) | (bits(raw, 30, 21) << 1);
    return sign_extend(value, 21);
}

bool valid_rm(uint32_t rm) {
    return rm != 5 && rm != 6;
}

Insn decode_op_fp(uint32_t raw) {
    uint32_t rd = bits(raw, 11, 7), rs1 = bits(raw, 19, 15), rs2 = bits(raw, 24, 20);
    uint32_t rm = bits(raw, 14, 12), funct7 = bits(raw, 31, 25);
    bool dbl = funct7 & 1;
    Op op = Op::illegal;
    bool uses_rm = false;
    auto pick = [&](Op single, Op doubl) { return dbl ? doubl : single; };
    switch (funct7 & ~1u) {
        case 0x00:
            op = pick(Op::fadd_s, Op::fadd_d), uses_rm = true;
            break;
        case 0x04:
            op = pick(Op::fsub_s, Op::fsub_d), uses_rm = true;
            break;
        case 0x08:
            op = pick(Op::fmul_s, Op::fmul_d), uses_rm = true;
            break;
        case 0x0c:
            op = pick(Op::fdiv_s, Op::fdiv_d), uses_rm = true;
            break;
        case 0x2c:
            if (rs2 == 0) op = pick(Op::fsqrt_s, Op::fsqrt_d), uses_rm = true;
            break;
        case 0x10:
            if (rm == 0) op = pick(Op::fsgnj_s, Op::fsgnj_d);
            if (rm == 1) op = pick(Op::fsgnjn_s, Op::fsgnjn_d);
            if (rm == 2) op = pick(Op::fsgnjx_s, Op::fsgnjx_d);
            break;
        case 0x14:
            if (rm == 0) op = pick(Op::fmin_s, Op::fmin_d);
            if (rm == 1) op = pick(Op::fmax_s, Op::fmax_d);
            break;
        case 0x20:
            if (!dbl && rs2 == 1) op = Op::fcvt_s_d, uses_rm = true;
            if (dbl && rs2 == 0) op = Op::fcvt_d_s, uses_rm = true;
            break;
        case 0x50:
            if (rm == 0) op = pick(Op::fle_s, Op::fle_d);
            if (rm == 1) op = pick(Op::flt_s, Op::flt_d);
            if (rm == 2) op = pick(Op::feq_s, Op::feq_d);
            break;
        case 0x60: {
            static constexpr Op singles[] = {Op::fcvt_w_s, Op::fcvt_wu_s, Op::fcvt_l_s,
                                             Op::fcvt_lu_s};
            static constexpr Op doubles[] = {Op::fcvt_w_d, Op::fcvt_wu_d, Op::fcvt_l_d,
                                             Op::fcvt_lu_d};
            if (rs2 < 4) op = dbl ? doubles[rs2] : singles[rs2], uses_rm = true;
            break;
        }
        case 0x68: {
            static constexpr Op singles[] = {Op::fcvt_s_w, Op::fcvt_s_wu, Op::fcvt_s_l,
                                             Op::fcvt_s_lu};
            static constexpr Op doubles[] = {Op::fcvt_d_w, Op::fcvt_d_wu, Op::fcvt_d_l,
                                             Op::fcvt_d_lu};
            if (rs2 < 4) op = dbl ? doubles[rs2] : singles[rs2], uses_rm = true;
            break;
        }
        case 0x70:
            if (rs2 == 0 && rm == 0) op = pick(Op::fmv_x_w, Op::fmv_x_d);
            if (rs2 == 0 && rm == 1) op = pick(Op::fclass_s, Op::fclass_d);
            break;
        case 0x78:
            if (rs2 == 0 && rm == 0) op = pick(Op::fmv_w_x, Op::fmv_d_x);
            break;
        default:
            break;
    }
    if (funct7 & 2) op = Op::illegal;  // fmt H and Q are not supported
    if (op == Op::illegal || (uses_rm && !valid_rm(rm))) return illegal(raw, 4);
    Insn insn = make(op, rd, rs1, rs2, 0);
    insn.rm = static_cast<uint8_t>(rm);
    return insn;
}

Insn decode_amo(uint32_t raw) {
    uint32_t funct3 = bits(raw, 14, 12), funct5 = bits(raw, 31, 27);
    if (funct3 != 2 && funct3 != 3) return illegal(raw, 4);
    Op base;
    switch (funct5) {
        case 0x02:
            if (bits(raw, 24, 20) != 0) return illegal(raw, 4);
            base = Op::lr_w;
            break;
        case 0x03:
            base = Op::sc_w;
            break;
        case 0x01:
            base = Op::amoswap_w;
            break;
        case 0x00:
            base = Op::amoadd_w;
            break;
        case 0x04:
            base = Op::amoxor_w;
            break;
        case 0x0c:
            base = Op::amoand_w;
            break;
        case 0x08:
            base = Op::amoor_w;
            break;
        case 0x10:
            base = Op::amomin_w;
            break;
        case 0x14:
            base = Op::amomax_w;
            break;
        case 0x18:
            base = Op::amominu_w;
            break;
        case 0x1c:
            base = Op::amomaxu_w;
            break;
        default:
            return illegal(raw, 4);
    }
    constexpr int kWordToDouble = static_cast<int>(Op::lr_d) - static_cast<int>(Op::lr_w);
    Op op = funct3 == 3 ? static_cast<Op>(static_cast<int>(base) + kWordToDouble) : base;
    return make(op, bits(raw, 11, 7), bits(raw, 19, 15), bits(raw, 24, 20), 0);
}

Insn decode_system(uint32_t raw) {
    uint32_t funct3 = bits(raw, 14, 12);
    uint32_t rd = bits(raw, 11, 7), rs1 = bits(raw, 19, 15);
    if (funct3 == 0) {
        switch (raw) {
            case 0x00000073:
                return make(Op::ecall, 0, 0, 0, 0);
            case 0x00100073:
                return make(Op::ebreak, 0, 0, 0, 0);
            case 0x30200073:
                return make(Op::mret, 0, 0, 0, 0);
            case 0x10200073:
                return make(Op::sret, 0, 0, 0, 0);
            case 0x10500073:
                return make(Op::wfi, 0, 0, 0, 0);
            default:
                break;
        }
        if (bits(raw, 31, 25) == 0x09 && rd == 0)
            return make(Op::sfence_vma, 0, rs1, bits(raw, 24, 20), 0);
        return illegal(raw, 4);
    }
    static constexpr Op csr_ops[] = {Op::illegal, Op::csrrw,  Op::csrrs,  Op::csrrc,
                                     Op::illegal, Op::csrrwi, Op::csrrsi, Op::csrrci};
    if (csr_ops[funct3] == Op::illegal) return illegal(raw, 4);
    return make(csr_ops[funct3], rd, rs1, 0, static_cast<int32_t>(raw >> 20));
}

}  // namespace

Insn decode(uint32_t raw) {
    if ((raw & 3) != 3) return decode_compressed(static_cast<uint16_t>(raw));
    uint32_t rd = bits(raw, 11, 7), rs1 = bits(raw, 19, 15), rs2 = bits(raw, 24, 20);
    uint32_t funct3 = bits(raw, 14, 12), funct7 = bits(raw, 31, 25);
    switch (bits(raw, 6, 0)) {
        case 0x37:
            return make(Op::lui, rd, 0, 0, static_cast<int32_t>(raw & 0xfffff000u));
        case 0x17:
            return make(Op::auipc, rd, 0, 0, static_cast<int32_t>(raw & 0xfffff000u));
        case 0x6f:
            return make(Op::jal, rd, 0, 0, imm_j(raw));
        case 0x67:
            if (funct3 != 0) break;
            return make(Op::jalr, rd, rs1, 0, imm_i(raw));
        case 0x63: {
            static constexpr Op ops[] = {Op::beq, Op::bne, Op::illegal, Op::illegal,
                                         Op::blt, Op::bge, Op::bltu,    Op::bgeu};
            if (ops[funct3] == Op::illegal) break;
            return make(ops[funct3], 0, rs1, rs2, imm_b(raw));
        }
        case 0x03: {
            static constexpr Op ops[] = {Op::lb,  Op::lh,  Op::lw,  Op::ld,
                                         Op::lbu, Op::lhu, Op::lwu, Op::illegal};
            if (ops[funct3] == Op::illegal) break;
            return make(ops[funct3], rd, rs1, 0, imm_i(raw));
        }
        case 0x23: {
            static constexpr Op ops[] = {Op::sb, Op::sh, Op::sw, Op::sd};
            if (funct3 > 3) break;
            return make(ops[funct3], 0, rs1, rs2, imm_s(raw));
        }
        case 0x13: {
            uint32_t funct6 = bits(raw, 31, 26);
            int32_t shamt = static_cast<int32_t>(bits(raw, 25, 20));
            switch (funct3) {
                case 0:
                    return make(Op::addi, rd, rs1, 0, imm_i(raw));
                case 2:
                    return make(Op::slti, rd, rs1, 0, imm_i(raw));
                case 3:
                    return make(Op::sltiu, rd, rs1, 0, imm_i(raw));
                case 4:
                    return make(Op::xori, rd, rs1, 0, imm_i(raw));
                case 6:
                    return make(Op::ori, rd, rs1, 0, imm_i(raw));
                case 7:
                    return make(Op::andi, rd, rs1, 0, imm_i(raw));
                case 1:
                    if (funct6 == 0) return make(Op::slli, rd, rs1, 0, shamt);
                    break;
                case 5:
                    if (funct6 == 0) return make(Op::srli, rd, rs1, 0, shamt);
                    if (funct6 == 0x10) return make(Op::srai, rd, rs1, 0, shamt);
                    break;
            }
            break;
        }
        case 0x1b: {
            int32_t shamt = static_cast<int32_t>(rs2);
            if (funct3 == 0) return make(Op::addiw, rd, rs1, 0, imm_i(raw));
            if (funct3 == 1 && funct7 == 0) return make(Op::slliw, rd, rs1, 0, shamt);
            if (funct3 == 5 && funct7 == 0) return make(Op::srliw, rd, rs1, 0, shamt);
            if (funct3 == 5 && funct7 == 0x20) return make(Op::sraiw, rd, rs1, 0, shamt);
            break;
        }
        case 0x33: {
            static constexpr Op base[] = {Op::add,  Op::sll, Op::slt, Op::sltu,
                                          Op::xor_, Op::srl, Op::or_, Op::and_};
            static constexpr Op muldiv[] = {Op::mul, Op::mulh, Op::mulhsu, Op::mulhu,
                                            Op::div, Op::divu, Op::rem,    Op::remu};
            if (funct7 == 0) return make(base[funct3], rd, rs1, rs2, 0);
            if (funct7 == 1) return make(muldiv[funct3], rd, rs1, rs2, 0);
            if (funct7 == 0x20 && funct3 == 0) return make(Op::sub, rd, rs1, rs2, 0);
            if (funct7 == 0x20 && funct3 == 5) return make(Op::sra, rd, rs1, rs2, 0);
            break;
        }
        case 0x3b: {
            Op op = Op::illegal;
            if (funct7 == 0)
                op = funct3 == 0   ? Op::addw
                     : funct3 == 1 ? Op::sllw
                     : funct3 == 5 ? Op::srlw
                                   : Op::illegal;
            if (funct7 == 0x20) op = funct3 == 0 ? Op::subw : funct3 == 5 ? Op::sraw : Op::illegal;
            if (funct7 == 1) {
                static constexpr Op ops[] = {Op::mulw, Op::illegal, Op::illegal, Op::illegal,
                                             Op::divw, Op::divuw,   Op::remw,    Op::remuw};
                op = ops[funct3];
            }
            if (op == Op::illegal) break;
            return make(op, rd, rs1, rs2, 0);
        }
        case 0x0f:
            if (funct3 == 0) {
                // imm = 1 when earlier stores (W, O) must be visible before later loads (R, I):
                // the only ordering a TSO host (x86-64) reorders, so the only fence that costs a
                // host barrier. fence.tso (fm = 1000) never asks for it.
                bool tso = bits(raw, 31, 28) == 0x8;
                uint32_t pred = bits(raw, 27, 24), succ = bits(raw, 23, 20);
                bool store_to_load = !tso && (pred & 0b0101) && (succ & 0b1010);
                return make(Op::fence, 0, 0, 0, store_to_load ? 1 : 0);
            }
            if (funct3 == 1) return make(Op::fence_i, 0, 0, 0, 0);
            break;
        case 0x73:
            return decode_system(raw);
        case 0x2f:
            return decode_amo(raw);
        case 0x07:
            if (funct3 == 2) return make(Op::flw, rd, rs1, 0, imm_i(raw));
            if (funct3 == 3) return make(Op::fld, rd, rs1, 0, imm_i(raw));
            break;
        case 0x27:
            if (funct3 == 2) return make(Op::fsw, 0, rs1, rs2, imm_s(raw));
            if (funct3 == 3) return make(Op::fsd, 0, rs1, rs2, imm_s(raw));
            break;
        case 0x43:
        case 0x47:
        case 0x4b:
        case 0x4f: {
            uint32_t fmt = bits(raw, 26, 25);
            if (fmt > 1 || !valid_rm(funct3)) break;
            static constexpr Op singles[] = {Op::fmadd_s, Op::fmsub_s, Op::fnmsub_s, Op::fnmadd_s};
            static constexpr Op doubles[] = {Op::fmadd_d, Op::fmsub_d, Op::fnmsub_d, Op::fnmadd_d};
            unsigned which = bits(raw, 3, 2);
            Insn insn = make(fmt ? doubles[which] : singles[which], rd, rs1, rs2, 0);
            insn.rs3 = static_cast<uint8_t>(bits(raw, 31, 27));
            insn.rm = static_cast<uint8_t>(funct3);
            return insn;
        }
        case 0x53:
            return decode_op_fp(raw);
        default:
            break;
    }
    return illegal(raw, 4);
}

Insn decode_compressed(uint16_t half) {
    uint32_t raw = half;
    uint32_t funct3 = bits(raw, 15, 13);
    uint32_t rd_full = bits(raw, 11, 7), rs2_full = bits(raw, 6, 2);
    uint32_t rd_short = 8 + bits(raw, 4, 2), rs1_short = 8 + bits(raw, 9, 7);
    int32_t imm6 = sign_extend((bits(raw, 12, 12) << 5) | bits(raw, 6, 2), 6);
    uint32_t shamt = (bits(raw, 12, 12) << 5) | bits(raw, 6, 2);
    auto c = [](Op op, uint32_t rd, uint32_t rs1, uint32_t rs2, int32_t imm) {
        return make(op, rd, rs1, rs2, imm, 2);
    };
    // Offsets of the load/store forms, scaled by access width.
    uint32_t off_w = (bits(raw, 12, 10) << 3) | (bits(raw, 6, 6) << 2) | (bits(raw, 5, 5) << 6);
    uint32_t off_d = (bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6);
    switch (bits(raw, 1, 0)) {
        case 0:
            switch (funct3) {
                case 0: {
                    uint32_t imm = (bits(raw, 12, 11) << 4) | (bits(raw, 10, 7) << 6) |
                                   (bits(raw, 6, 6) << 2) | (bits(raw, 5, 5) << 3);
                    if (imm == 0) break;  // includes the all-zero instruction
                    return c(Op::addi, rd_short, 2, 0, static_cast<int32_t>(imm));
                }
                case 1:
                    return c(Op::fld, rd_short, rs1_short, 0, static_cast<int32_t>(off_d));
                case 2:
                    return c(Op::lw, rd_short, rs1_short, 0, static_cast<int32_t>(off_w));
                case 3:
                    return c(Op::ld, rd_short, rs1_short, 0, static_cast<int32_t>(off_d));
                case 5:
                    return c(Op::fsd, 0, rs1_short, rd_short, static_cast<int32_t>(off_d));
                case 6:
                    return c(Op::sw, 0, rs1_short, rd_short, static_cast<int32_t>(off_w));
                case 7:
                    return c(Op::sd, 0, rs1_short, rd_short, static_cast<int32_t>(off_d));
                default:
                    break;
            }
            break;
        case 1:
            switch (funct3) {
                case 0:
                    return c(Op::addi, rd_full, rd_full, 0, imm6);
                case 1:
                    if (rd_full == 0) break;
                    return c(Op::addiw, rd_full, rd_full, 0, imm6);
                case 2:
                    return c(Op::addi, rd_full, 0, 0, imm6);
                case 3:
                    if (rd_full == 2) {
                        uint32_t imm = (bits(raw, 12, 12) << 9) | (bits(raw, 6, 6) << 4) |
                                       (bits(raw, 5, 5) << 6) | (bits(raw, 4, 3) << 7) |
                                       (bits(raw, 2, 2) << 5);
                        if (imm == 0) break;
                        return c(Op::addi, 2, 2, 0, sign_extend(imm, 10));
                    }
                    if (imm6 == 0) break;
                    return c(Op::lui, rd_full, 0, 0, imm6 << 12);
                case 4: {
                    uint32_t rd = rs1_short, rs2 = rd_short;
                    switch (bits(raw, 11, 10)) {
                        case 0:
                            return c(Op::srli, rd, rd, 0, static_cast<int32_t>(shamt));
                        case 1:
                            return c(Op::srai, rd, rd, 0, static_cast<int32_t>(shamt));
                        case 2:
                            return c(Op::andi, rd, rd, 0, imm6);
                        default:
                            break;
                    }
                    static constexpr Op ops[] = {Op::sub,  Op::xor_, Op::or_,     Op::and_,
                                                 Op::subw, Op::addw, Op::illegal, Op::illegal};
                    Op op = ops[(bits(raw, 12, 12) << 2) | bits(raw, 6, 5)];
                    if (op == Op::illegal) break;
                    return c(op, rd, rd, rs2, 0);
                }
                case 5: {
                    uint32_t imm = (bits(raw, 12, 12) << 11) | (bits(raw, 11, 11) << 4) |
                                   (bits(raw, 10, 9) << 8) | (bits(raw, 8, 8) << 10) |
                                   (bits(raw, 7, 7) << 6) | (bits(raw, 6, 6) << 7) |
                                   (bits(raw, 5, 3) << 1) | (bits(raw, 2, 2) << 5);
                    return c(Op::jal, 0, 0, 0, sign_extend(imm, 12));
                }
                case 6:
                case 7: {
                    uint32_t imm = (bits(raw, 12, 12) << 8) | (bits(raw, 11, 10) << 3) |
                                   (bits(raw, 6, 5) << 6) | (bits(raw, 4, 3) << 1) |
                                   (bits(raw, 2, 2) << 5);
                    return c(funct3 == 6 ? Op::beq : Op::bne, 0, rs1_short, 0, sign_extend(imm, 9));
                }
            }
            break;
        case 2: {
            uint32_t off_sp_w =
                (bits(raw, 12, 12) << 5) | (bits(raw, 6, 4) << 2) | (bits(raw, 3, 2) << 6);
            uint32_t off_sp_d =
                (bits(raw, 12, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6);
            uint32_t st_w = (bits(raw, 12, 9) << 2) | (bits(raw, 8, 7) << 6);
            uint32_t st_d = (bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6);
            switch (funct3) {
                case 0:
                    return c(Op::slli, rd_full, rd_full, 0, static_cast<int32_t>(shamt));
                case 1:
                    return c(Op::fld, rd_full, 2, 0, static_cast<int32_t>(off_sp_d));
                case 2:
                    if (rd_full == 0) break;
                    return c(Op::lw, rd_full, 2, 0, static_cast<int32_t>(off_sp_w));
                case 3:
                    if (rd_full == 0) break;
                    return c(Op::ld, rd_full, 2, 0, static_cast<int32_t>(off_sp_d));
                case 4:
                    if (bits(raw, 12, 12) == 0) {
                        if (rs2_full == 0) {
                            if (rd_full == 0) break;
                            return c(Op::jalr, 0, rd_full, 0, 0);
                        }
                        return c(Op::add, rd_full, 0, rs2_full, 0);
                    }
                    if (rs2_full == 0) {
                        if (rd_full == 0) return c(Op::ebreak, 0, 0, 0, 0);
                        return c(Op::jalr, 1, rd_full, 0, 0);
                    }
                    return c(Op::add, rd_full, rd_full, rs2_full, 0);
                case 5:
                    return c(Op::fsd, 0, 2, rs2_full, static_cast<int32_t>(st_d));
                case 6:
                    return c(Op::sw, 0, 2, rs2_full, static_cast<int32_t>(st_w));
                case 7:
                    return c(Op::sd, 0, 2, rs2_full, static_cast<int32_t>(st_d));
            }
            break;
        }
        default:
            break;
    }
    return illegal(raw, 2);
}

const char* op_name(Op op) {
    static constexpr const char* names[] = {
        "undecoded", "end-of-page", "illegal",   "lui",        "auipc",     "jal",       "jalr",
        "beq",       "bne",         "blt",       "bge",        "bltu",      "bgeu",      "lb",
        "lh",        "lw",          "ld",        "lbu",        "lhu",       "lwu",       "sb",
        "sh",        "sw",          "sd",        "addi",       "slti",      "sltiu",     "xori",
        "ori",       "andi",        "slli",      "srli",       "srai",      "add",       "sub",
        "sll",       "slt",         "sltu",      "xor",        "srl",       "sra",       "or",
        "and",       "addiw",       "slliw",     "srliw",      "sraiw",     "addw",      "subw",
        "sllw",      "srlw",        "sraw",      "fence",      "fence.i",   "ecall",     "ebreak",
        "mret",      "sret",        "wfi",       "sfence.vma", "csrrw",     "csrrs",     "csrrc",
        "csrrwi",    "csrrsi",      "csrrci",    "mul",        "mulh",      "mulhsu",    "mulhu",
        "div",       "divu",        "rem",       "remu",       "mulw",      "divw",      "divuw",
        "remw",      "remuw",       "lr.w",      "sc.w",       "amoswap.w", "amoadd.w",  "amoxor.w",
        "amoand.w",  "amoor.w",     "amomin.w",  "amomax.w",   "amominu.w", "amomaxu.w", "lr.d",
        "sc.d",      "amoswap.d",   "amoadd.d",  "amoxor.d",   "amoand.d",  "amoor.d",   "amomin.d",
        "amomax.d",  "amominu.d",   "amomaxu.d", "flw",        "fsw",       "fld",       "fsd",
        "fmadd.s",   "fmsub.s",     "fnmsub.s",  "fnmadd.s",   "fadd.s",    "fsub.s",    "fmul.s",
        "fdiv.s",    "fsqrt.s",     "fsgnj.s",   "fsgnjn.s",   "fsgnjx.s",  "fmin.s",    "fmax.s",
        "fcvt.w.s",  "fcvt.wu.s",   "fcvt.l.s",  "fcvt.lu.s",  "fmv.x.w",   "feq.s",     "flt.s",
        "fle.s",     "fclass.s",    "fcvt.s.w",  "fcvt.s.wu",  "fcvt.s.l",  "fcvt.s.lu", "fmv.w.x",
        "fmadd.d",   "fmsub.d",     "fnmsub.d",  "fnmadd.d",   "fadd.d",    "fsub.d",    "fmul.d",
        "fdiv.d",    "fsqrt.d",     "fsgnj.d",   "fsgnjn.d",   "fsgnjx.d",  "fmin.d",    "fmax.d",
        "fcvt.w.d",  "fcvt.wu.d",   "fcvt.l.d",  "fcvt.lu.d",  "fmv.x.d",   "feq.d",     "flt.d",
        "fle.d",     "fclass.d",    "fcvt.d.w",  "fcvt.d.wu",  "fcvt.d.l",  "fcvt.d.lu", "fmv.d.x",
        "fcvt.s.d",  "fcvt.d.s"};
    static_assert(sizeof(names) / sizeof(names[0]) == static_cast<size_t>(Op::count_));
    auto index = static_cast<size_t>(op);
    return index < static_cast<size_t>(Op::count_) ? names[index] : "?";
}

}  // namespace vessel::riscv
