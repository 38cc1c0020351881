// RV64GC instruction encodings for the differential tester's programs, written from the ISA
// manual's tables rather than from the project's decoder, so that a decoder bug shows up as a
// failing round trip (encoding_test.cpp) instead of being built into the programs.
#pragma once

#include <cstdint>

namespace vessel::riscv::difftest::enc {

// --- 32-bit formats ---
constexpr uint32_t r(uint32_t funct7, unsigned rs2, unsigned rs1, uint32_t funct3, unsigned rd,
                     uint32_t opcode) {
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
constexpr uint32_t i(int32_t imm, unsigned rs1, uint32_t funct3, unsigned rd, uint32_t opcode) {
    return ((static_cast<uint32_t>(imm) & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) |
           opcode;
}
constexpr uint32_t s(int32_t imm, unsigned rs2, unsigned rs1, uint32_t funct3, uint32_t opcode) {
    auto v = static_cast<uint32_t>(imm);
    return (((v >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) |
           ((v & 0x1f) << 7) | opcode;
}
constexpr uint32_t b(int32_t offset, unsigned rs2, unsigned rs1, uint32_t funct3) {
    auto v = static_cast<uint32_t>(offset);
    return (((v >> 12) & 1) << 31) | (((v >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (funct3 << 12) | (((v >> 1) & 0xf) << 8) | (((v >> 11) & 1) << 7) | 0x63;
}
// `upper`: the value of bits 31..12 as the instruction places them (imm20 << 12).
constexpr uint32_t u(uint32_t upper, unsigned rd, uint32_t opcode) {
    return (upper & 0xfffff000u) | (rd << 7) | opcode;
}
constexpr uint32_t j(int32_t offset, unsigned rd) {
    auto v = static_cast<uint32_t>(offset);
    return (((v >> 20) & 1) << 31) | (((v >> 1) & 0x3ff) << 21) | (((v >> 11) & 1) << 20) |
           (((v >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}

// --- RV64I ---
inline constexpr uint32_t kOp = 0x33, kOp32 = 0x3b, kOpImm = 0x13, kOpImm32 = 0x1b, kLoad = 0x03,
                          kStore = 0x23, kAmo = 0x2f, kLoadFp = 0x07, kStoreFp = 0x27, kOpFp = 0x53,
                          kSystem = 0x73, kMiscMem = 0x0f;
constexpr uint32_t lui(unsigned rd, uint32_t upper) {
    return u(upper, rd, 0x37);
}
constexpr uint32_t auipc(unsigned rd, uint32_t upper) {
    return u(upper, rd, 0x17);
}
constexpr uint32_t jal(unsigned rd, int32_t offset) {
    return j(offset, rd);
}
constexpr uint32_t jalr(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 0, rd, 0x67);
}
constexpr uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 0, rd, kOpImm);
}
constexpr uint32_t addiw(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 0, rd, kOpImm32);
}
constexpr uint32_t slli(unsigned rd, unsigned rs1, unsigned shamt) {
    return i(static_cast<int32_t>(shamt & 63), rs1, 1, rd, kOpImm);
}
constexpr uint32_t srli(unsigned rd, unsigned rs1, unsigned shamt) {
    return i(static_cast<int32_t>(shamt & 63), rs1, 5, rd, kOpImm);
}
constexpr uint32_t ori(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 6, rd, kOpImm);
}
constexpr uint32_t andi(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 7, rd, kOpImm);
}
constexpr uint32_t xori(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 4, rd, kOpImm);
}
constexpr uint32_t or_(unsigned rd, unsigned rs1, unsigned rs2) {
    return r(0, rs2, rs1, 6, rd, kOp);
}
constexpr uint32_t add(unsigned rd, unsigned rs1, unsigned rs2) {
    return r(0, rs2, rs1, 0, rd, kOp);
}
// Loads and stores: funct3 is the width (0 b, 1 h, 2 w, 3 d; +4 unsigned loads).
constexpr uint32_t load(uint32_t funct3, unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, funct3, rd, kLoad);
}
constexpr uint32_t store(uint32_t funct3, unsigned rs2, unsigned rs1, int32_t imm) {
    return s(imm, rs2, rs1, funct3, kStore);
}
constexpr uint32_t ld(unsigned rd, unsigned rs1, int32_t imm) {
    return load(3, rd, rs1, imm);
}
constexpr uint32_t lhu(unsigned rd, unsigned rs1, int32_t imm) {
    return load(5, rd, rs1, imm);
}
constexpr uint32_t sd(unsigned rs2, unsigned rs1, int32_t imm) {
    return store(3, rs2, rs1, imm);
}
constexpr uint32_t sw(unsigned rs2, unsigned rs1, int32_t imm) {
    return store(2, rs2, rs1, imm);
}
constexpr uint32_t fld(unsigned rd, unsigned rs1, int32_t imm) {
    return i(imm, rs1, 3, rd, kLoadFp);
}
constexpr uint32_t fsd(unsigned rs2, unsigned rs1, int32_t imm) {
    return s(imm, rs2, rs1, 3, kStoreFp);
}
// Branches: funct3 0 beq, 1 bne, 4 blt, 5 bge, 6 bltu, 7 bgeu.
constexpr uint32_t branch(uint32_t funct3, unsigned rs1, unsigned rs2, int32_t offset) {
    return b(offset, rs2, rs1, funct3);
}
constexpr uint32_t fence(unsigned pred, unsigned succ) {
    return ((pred & 15) << 24) | ((succ & 15) << 20) | kMiscMem;
}
inline constexpr uint32_t kFenceI = 0x0000100f, kEcall = 0x00000073, kEbreak = 0x00100073,
                          kMret = 0x30200073, kSret = 0x10200073, kWfi = 0x10500073,
                          kNop = 0x00000013;
constexpr uint32_t sfence_vma(unsigned rs1, unsigned rs2) {
    return r(0x09, rs2, rs1, 0, 0, kSystem);
}
// CSR accesses: funct3 1 csrrw, 2 csrrs, 3 csrrc, 5..7 the immediate forms (rs1 is the uimm).
constexpr uint32_t csr(uint32_t funct3, unsigned rd, uint32_t number, unsigned rs1) {
    return ((number & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | kSystem;
}
constexpr uint32_t csrr(unsigned rd, uint32_t number) {
    return csr(2, rd, number, 0);
}
constexpr uint32_t csrw(uint32_t number, unsigned rs1) {
    return csr(1, 0, number, rs1);
}
constexpr uint32_t csrs(uint32_t number, unsigned rs1) {
    return csr(2, 0, number, rs1);
}
constexpr uint32_t csrc(uint32_t number, unsigned rs1) {
    return csr(3, 0, number, rs1);
}
constexpr uint32_t csrrw(unsigned rd, uint32_t number, unsigned rs1) {
    return csr(1, rd, number, rs1);
}

// --- A: funct5 2 lr, 3 sc, 1 swap, 0 add, 4 xor, 0xc and, 8 or, 0x10 min, 0x14 max, 0x18 minu,
// 0x1c maxu; width funct3 2 (w) or 3 (d).
constexpr uint32_t amo(uint32_t funct5, bool aq, bool rl, uint32_t width, unsigned rd, unsigned rs1,
                       unsigned rs2) {
    return (funct5 << 27) | (uint32_t{aq} << 26) | (uint32_t{rl} << 25) | (rs2 << 20) |
           (rs1 << 15) | (width << 12) | (rd << 7) | kAmo;
}

// --- F/D: fmt 0 single, 1 double ---
constexpr uint32_t fp_op(uint32_t funct5, uint32_t fmt, unsigned rs2, unsigned rs1, uint32_t rm,
                         unsigned rd) {
    return r((funct5 << 2) | fmt, rs2, rs1, rm, rd, kOpFp);
}
// opcode 0x43 fmadd, 0x47 fmsub, 0x4b fnmsub, 0x4f fnmadd.
constexpr uint32_t fma(uint32_t opcode, uint32_t fmt, unsigned rd, unsigned rs1, unsigned rs2,
                       unsigned rs3, uint32_t rm) {
    return (rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opcode;
}
constexpr uint32_t fmv_w_x(unsigned rd, unsigned rs1) {
    return fp_op(0x1e, 0, 0, rs1, 0, rd);
}

// --- C (16-bit); registers named rs1p/rdp/rs2p are x8..x15 ---
constexpr unsigned p(unsigned reg) {
    return reg & 7;
}
constexpr uint16_t c16(uint32_t value) {
    return static_cast<uint16_t>(value);
}
inline constexpr uint16_t kCNop = 0x0001, kCEbreak = 0x9002;
// CI: funct3 | imm[5] | rd | imm[4:0] | op
constexpr uint16_t ci(uint32_t funct3, unsigned rd, int32_t imm6, uint32_t op) {
    auto v = static_cast<uint32_t>(imm6);
    return c16((funct3 << 13) | (((v >> 5) & 1) << 12) | (rd << 7) | ((v & 0x1f) << 2) | op);
}
constexpr uint16_t c_addi(unsigned rd, int32_t imm) {
    return ci(0, rd, imm, 1);
}
constexpr uint16_t c_addiw(unsigned rd, int32_t imm) {
    return ci(1, rd, imm, 1);
}
constexpr uint16_t c_li(unsigned rd, int32_t imm) {
    return ci(2, rd, imm, 1);
}
// c.lui: nzimm[17:12] in the CI immediate.
constexpr uint16_t c_lui(unsigned rd, int32_t imm6) {
    return ci(3, rd, imm6, 1);
}
constexpr uint16_t c_slli(unsigned rd, unsigned shamt) {
    return ci(0, rd, static_cast<int32_t>(shamt), 2);
}
constexpr uint16_t c_addi16sp(int32_t imm) {
    auto v = static_cast<uint32_t>(imm);
    return c16((3u << 13) | (((v >> 9) & 1) << 12) | (2u << 7) | (((v >> 4) & 1) << 6) |
               (((v >> 6) & 1) << 5) | (((v >> 7) & 3) << 3) | (((v >> 5) & 1) << 2) | 1);
}
constexpr uint16_t c_addi4spn(unsigned rdp, uint32_t imm) {
    return c16((((imm >> 4) & 3) << 11) | (((imm >> 6) & 15) << 7) | (((imm >> 2) & 1) << 6) |
               (((imm >> 3) & 1) << 5) | (p(rdp) << 2));
}
// CB shifts and andi: funct2 0 srli, 1 srai, 2 andi.
constexpr uint16_t c_shift_andi(uint32_t funct2, unsigned rdp, int32_t imm) {
    auto v = static_cast<uint32_t>(imm);
    return c16((4u << 13) | (((v >> 5) & 1) << 12) | (funct2 << 10) | (p(rdp) << 7) |
               ((v & 0x1f) << 2) | 1);
}
// CA: which 0 sub, 1 xor, 2 or, 3 and, 4 subw, 5 addw.
constexpr uint16_t c_arith(unsigned which, unsigned rdp, unsigned rs2p) {
    return c16((4u << 13) | ((which >> 2) << 12) | (3u << 10) | (p(rdp) << 7) | ((which & 3) << 5) |
               (p(rs2p) << 2) | 1);
}
constexpr uint16_t c_mv(unsigned rd, unsigned rs2) {
    return c16((8u << 12) | (rd << 7) | (rs2 << 2) | 2);
}
constexpr uint16_t c_add(unsigned rd, unsigned rs2) {
    return c16((9u << 12) | (rd << 7) | (rs2 << 2) | 2);
}
constexpr uint16_t c_jr(unsigned rs1) {
    return c16((8u << 12) | (rs1 << 7) | 2);
}
constexpr uint16_t c_jalr(unsigned rs1) {
    return c16((9u << 12) | (rs1 << 7) | 2);
}
constexpr uint16_t c_j(int32_t offset) {
    auto v = static_cast<uint32_t>(offset);
    return c16((5u << 13) | (((v >> 11) & 1) << 12) | (((v >> 4) & 1) << 11) |
               (((v >> 8) & 3) << 9) | (((v >> 10) & 1) << 8) | (((v >> 6) & 1) << 7) |
               (((v >> 7) & 1) << 6) | (((v >> 1) & 7) << 3) | (((v >> 5) & 1) << 2) | 1);
}
constexpr uint16_t c_branch(bool bnez, unsigned rs1p, int32_t offset) {
    auto v = static_cast<uint32_t>(offset);
    return c16(((bnez ? 7u : 6u) << 13) | (((v >> 8) & 1) << 12) | (((v >> 3) & 3) << 10) |
               (p(rs1p) << 7) | (((v >> 6) & 3) << 5) | (((v >> 1) & 3) << 3) |
               (((v >> 5) & 1) << 2) | 1);
}
// CL/CS with word (w) or doubleword (d) offsets; funct3 picks c.fld 1, c.lw 2, c.ld 3, c.fsd 5,
// c.sw 6, c.sd 7.
constexpr uint16_t c_mem(uint32_t funct3, unsigned reg_p, unsigned rs1p, uint32_t offset) {
    bool word = funct3 == 2 || funct3 == 6;
    uint32_t low = word ? ((((offset >> 2) & 1) << 6) | (((offset >> 6) & 1) << 5))
                        : (((offset >> 6) & 3) << 5);
    return c16((funct3 << 13) | (((offset >> 3) & 7) << 10) | (p(rs1p) << 7) | low |
               (p(reg_p) << 2));
}
// Stack-pointer loads: funct3 1 c.fldsp, 2 c.lwsp, 3 c.ldsp.
constexpr uint16_t c_load_sp(uint32_t funct3, unsigned rd, uint32_t offset) {
    bool word = funct3 == 2;
    uint32_t low = word ? ((((offset >> 2) & 7) << 4) | (((offset >> 6) & 3) << 2))
                        : ((((offset >> 3) & 3) << 5) | (((offset >> 6) & 7) << 2));
    return c16((funct3 << 13) | (((offset >> 5) & 1) << 12) | (rd << 7) | low | 2);
}
// Stack-pointer stores: funct3 5 c.fsdsp, 6 c.swsp, 7 c.sdsp.
constexpr uint16_t c_store_sp(uint32_t funct3, unsigned rs2, uint32_t offset) {
    bool word = funct3 == 6;
    uint32_t imm = word ? ((((offset >> 2) & 15) << 9) | (((offset >> 6) & 3) << 7))
                        : ((((offset >> 3) & 7) << 10) | (((offset >> 6) & 7) << 7));
    return c16((funct3 << 13) | imm | (rs2 << 2) | 2);
}

}  // namespace vessel::riscv::difftest::enc
