// The differential tester's encoder agrees with the decoder on every form the generator emits:
// were either wrong, generated programs would test something other than what they claim.
#include <gtest/gtest.h>

#include <initializer_list>

#include "difftest/assembler.h"
#include "difftest/encoding.h"
#include "vm/riscv/decoder.h"

namespace vessel::riscv::difftest {
namespace {

struct Case {
    uint32_t encoding;
    Op op;
    unsigned rd, rs1, rs2;
    int32_t imm;
};

Insn decoded(uint32_t encoding) {
    return (encoding & 3) == 3 ? decode(encoding)
                               : decode_compressed(static_cast<uint16_t>(encoding));
}

TEST(DifftestEncoding, EveryFormDecodesAsWritten) {
    const Case cases[] = {
        {enc::addi(5, 6, -7), Op::addi, 5, 6, 0, -7},
        {enc::addiw(7, 8, 2047), Op::addiw, 7, 8, 0, 2047},
        {enc::slli(1, 2, 63), Op::slli, 1, 2, 0, 63},
        {enc::srli(3, 4, 17), Op::srli, 3, 4, 0, 17},
        {enc::i(0x400 | 5, 9, 5, 10, enc::kOpImm), Op::srai, 10, 9, 0, 5},
        {enc::lui(11, 0xfffff000), Op::lui, 11, 0, 0, -4096},
        {enc::auipc(12, 0x12345000), Op::auipc, 12, 0, 0, 0x12345000},
        {enc::jal(1, -2048), Op::jal, 1, 0, 0, -2048},
        {enc::jalr(1, 31, -4), Op::jalr, 1, 31, 0, -4},
        {enc::branch(6, 3, 4, -4096), Op::bltu, 0, 3, 4, -4096},
        {enc::branch(1, 9, 0, 4094), Op::bne, 0, 9, 0, 4094},
        {enc::load(6, 13, 2, -1), Op::lwu, 13, 2, 0, -1},
        {enc::store(3, 14, 8, -2048), Op::sd, 0, 8, 14, -2048},
        {enc::r(0x20, 15, 16, 5, 17, enc::kOp32), Op::sraw, 17, 16, 15, 0},
        {enc::r(1, 18, 19, 2, 20, enc::kOp), Op::mulhsu, 20, 19, 18, 0},
        {enc::r(1, 21, 22, 7, 23, enc::kOp32), Op::remuw, 23, 22, 21, 0},
        {enc::csr(2, 5, 0x300, 0), Op::csrrs, 5, 0, 0, 0x300},
        {enc::csr(7, 6, 0x001, 31), Op::csrrci, 6, 31, 0, 0x001},
        {enc::amo(2, true, false, 3, 5, 31, 0), Op::lr_d, 5, 31, 0, 0},
        {enc::amo(3, false, true, 2, 6, 31, 7), Op::sc_w, 6, 31, 7, 0},
        {enc::amo(0x1c, false, false, 3, 8, 31, 9), Op::amomaxu_d, 8, 31, 9, 0},
        {enc::fp_op(0x1a, 1, 3, 10, 7, 4), Op::fcvt_d_lu, 4, 10, 3, 0},
        {enc::fp_op(0x08, 0, 1, 5, 0, 6), Op::fcvt_s_d, 6, 5, 1, 0},
        {enc::fp_op(0x1c, 1, 0, 7, 1, 11), Op::fclass_d, 11, 7, 0, 0},
        {enc::fmv_w_x(3, 30), Op::fmv_w_x, 3, 30, 0, 0},
        {enc::fma(0x4b, 1, 1, 2, 3, 4, 7), Op::fnmsub_d, 1, 2, 3, 0},
        {enc::sfence_vma(31, 0), Op::sfence_vma, 0, 31, 0, 0},
        {enc::kFenceI, Op::fence_i, 0, 0, 0, 0},
        {enc::c_addi(10, -32), Op::addi, 10, 10, 0, -32},
        {enc::c_addiw(11, 31), Op::addiw, 11, 11, 0, 31},
        {enc::c_li(12, -1), Op::addi, 12, 0, 0, -1},
        {enc::c_lui(13, -1), Op::lui, 13, 0, 0, -4096},
        {enc::c_slli(14, 63), Op::slli, 14, 14, 0, 63},
        {enc::c_shift_andi(1, 15, 33), Op::srai, 15, 15, 0, 33},
        {enc::c_shift_andi(2, 8, -5), Op::andi, 8, 8, 0, -5},
        {enc::c_arith(4, 9, 10), Op::subw, 9, 9, 10, 0},
        {enc::c_arith(2, 11, 12), Op::or_, 11, 11, 12, 0},
        {enc::c_mv(5, 6), Op::add, 5, 0, 6, 0},
        {enc::c_add(7, 8), Op::add, 7, 7, 8, 0},
        {enc::c_addi4spn(13, 1020), Op::addi, 13, 2, 0, 1020},
        {enc::c_jr(31), Op::jalr, 0, 31, 0, 0},
        {enc::c_jalr(31), Op::jalr, 1, 31, 0, 0},
        {enc::c_j(-2048), Op::jal, 0, 0, 0, -2048},
        {enc::c_branch(true, 9, -256), Op::bne, 0, 9, 0, -256},
        {enc::c_branch(false, 8, 254), Op::beq, 0, 8, 0, 254},
        {enc::c_mem(2, 10, 8, 124), Op::lw, 10, 8, 0, 124},
        {enc::c_mem(3, 11, 8, 248), Op::ld, 11, 8, 0, 248},
        {enc::c_mem(6, 12, 8, 68), Op::sw, 0, 8, 12, 68},
        {enc::c_mem(5, 13, 8, 200), Op::fsd, 0, 8, 13, 200},
        {enc::c_load_sp(2, 14, 252), Op::lw, 14, 2, 0, 252},
        {enc::c_load_sp(3, 15, 504), Op::ld, 15, 2, 0, 504},
        {enc::c_load_sp(1, 16, 72), Op::fld, 16, 2, 0, 72},
        {enc::c_store_sp(6, 17, 252), Op::sw, 0, 2, 17, 252},
        {enc::c_store_sp(7, 18, 504), Op::sd, 0, 2, 18, 504},
        {enc::c_store_sp(5, 19, 8), Op::fsd, 0, 2, 19, 8},
    };
    for (const Case& c : cases) {
        Insn insn = decoded(c.encoding);
        SCOPED_TRACE(::testing::Message() << std::hex << "encoding 0x" << c.encoding);
        EXPECT_EQ(insn.op, c.op) << op_name(insn.op) << " for " << op_name(c.op);
        EXPECT_EQ(insn.rd, c.rd);
        EXPECT_EQ(insn.rs1, c.rs1);
        EXPECT_EQ(insn.rs2, c.rs2);
        EXPECT_EQ(insn.imm, c.imm);
        EXPECT_EQ(insn.length, (c.encoding & 3) == 3 ? 4 : 2);
    }
}

// li must leave exactly the value asked for, whatever its shape.
TEST(DifftestEncoding, LiLoadsEveryValueItIsGiven) {
    for (int64_t value : std::initializer_list<int64_t>{
             0, 1, -1, 2047, -2048, 2048, 0x7ffff800, 0x7fffffff, INT32_MIN, 0x80000000, 0xffffffff,
             0x123456789abcdef0, INT64_MIN, INT64_MAX, -0x800, 0x40000000, -0x40000000, 0x1000,
             0x4000001000}) {
        Assembler a(0);
        a.li(5, value);
        std::vector<uint8_t> bytes = a.finish();
        // Evaluate the sequence with the decoder's view of each instruction.
        uint64_t reg = 0;
        for (size_t offset = 0; offset < bytes.size(); offset += 4) {
            uint32_t raw = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
                           (static_cast<uint32_t>(bytes[offset + 3]) << 24);
            Insn insn = decode(raw);
            auto imm = static_cast<int64_t>(insn.imm);
            uint64_t source = insn.rs1 == 5 ? reg : 0;
            switch (insn.op) {
                case Op::addi:
                    reg = source + static_cast<uint64_t>(imm);
                    break;
                case Op::addiw:
                    reg = static_cast<uint64_t>(static_cast<int64_t>(
                        static_cast<int32_t>(source + static_cast<uint64_t>(imm))));
                    break;
                case Op::lui:
                    reg = static_cast<uint64_t>(imm);
                    break;
                case Op::slli:
                    reg = source << imm;
                    break;
                default:
                    FAIL() << "unexpected " << op_name(insn.op);
            }
        }
        EXPECT_EQ(reg, static_cast<uint64_t>(value)) << "li " << value;
    }
}

}  // namespace
}  // namespace vessel::riscv::difftest
