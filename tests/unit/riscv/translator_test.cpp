// The translator's code buffer: bounded, flushed whole when full, and right across flushes that
// happen in the middle of looking a block up (the lookup's map is emptied under it).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "test_machine.h"
#include "vm/riscv/hart.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = TestMachine::kRamBase;
enum : unsigned { a0 = 10, a1, a2, a3, a4, a5, a6 };

constexpr uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
    return (static_cast<uint32_t>(imm) << 20) | (rs1 << 15) | (rd << 7) | 0x13;
}
constexpr uint32_t jalr(unsigned rs1) {
    return (rs1 << 15) | 0x67;
}
constexpr uint32_t sd(unsigned rs2, unsigned rs1) {
    return (rs2 << 20) | (rs1 << 15) | (3 << 12) | 0x23;
}
constexpr uint32_t beq(unsigned rs1, unsigned rs2, int32_t offset) {
    auto imm = static_cast<uint32_t>(offset);
    return (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | 0x63;
}
constexpr uint32_t jal_x0(int32_t offset) {
    auto imm = static_cast<uint32_t>(offset);
    return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
           (((imm >> 12) & 0xff) << 12) | 0x6f;
}

constexpr uint32_t csr(unsigned funct3, unsigned rd, uint32_t number, unsigned rs1) {
    return (number << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | 0x73;
}
constexpr uint32_t kCsrrs = 2, kCsrrc = 3, kMstatus = 0x300, kMstatusFs = 0x6000;

// Runs the hart with its own translator until the word at `mailbox` is set (or a bound of steps
// passes).
void run_translated(Hart& hart, TestMachine& machine, uint64_t mailbox) {
    auto translator = jit::Translator::create(hart);
    ASSERT_TRUE(translator.has_value()) << translator.error().message();
    for (unsigned step = 0; step < 1'000'000; ++step) {
        if (machine.memory.load<uint64_t>(mailbox).value_or(0) != 0) break;
        (*translator)->execute();
    }
}

TEST(Translator, ACsrWriteTurningFpOffInsideABlockIsNotUndoneByTheBlocksFpFlags) {
    // A hot loop: an FP division raises flags (kept in MXCSR while the block runs), then a CSR
    // write turns FP off, and a read records mstatus. The flags reach fflags when the block
    // leaves; that must not mark the now-off FP state dirty again.
    TestMachine machine(1 << 20);
    const uint64_t mailbox = kRam + 0x1000;
    const std::vector<uint32_t> image = {
        (0x0du << 25) | (3 << 20) | (2 << 15) | (7 << 12) | (1 << 7) | 0x53,  // fdiv.d f1, f2, f3
        csr(kCsrrc, 0, kMstatus, a4),                                         // csrc mstatus, a4
        csr(kCsrrs, a5, kMstatus, 0),                                         // csrr a5, mstatus
        sd(a5, a6),
        csr(kCsrrs, 0, kMstatus, a4),  // csrs mstatus, a4
        addi(a1, a1, -1),
        beq(a1, 0, 8),
        jal_x0(-0x1c),
        sd(a0, a3),
        jal_x0(0),
    };
    ASSERT_TRUE(machine.load(image));
    MachineContext context = machine.context;
    context.engine = Engine::interpreter;
    Hart hart(context, 0);
    hart.reset(kRam, Priv::machine);
    ASSERT_TRUE(hart.write_csr_as_firmware(kMstatus, kMstatusFs));
    hart.set_reg(a0, 1);
    hart.set_reg(a1, 64);  // enough entries to translate the loop
    hart.set_reg(a3, mailbox);
    hart.set_reg(a4, kMstatusFs);
    hart.set_reg(a6, mailbox + 8);
    run_translated(hart, machine, mailbox);
    ASSERT_EQ(machine.memory.load<uint64_t>(mailbox).value_or(0), 1u);
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox + 8).value_or(0) & kMstatusFs, 0u);
}

TEST(Translator, RunsAnInstructionStraddlingAPageEndTranslatedAndSeesItsSecondHalfChange) {
    // A loop whose first instruction, addi a0, a0, 1, starts 2 bytes before a page end.
    TestMachine machine(1 << 20);
    const uint64_t mailbox = kRam + 0x3000;
    std::vector<uint8_t> bytes(0x2000, 0);
    auto put = [&](uint64_t offset, uint32_t insn) { std::memcpy(&bytes[offset], &insn, 4); };
    put(0x0, jal_x0(0xffe));
    put(0xffe, addi(a0, a0, 1));
    put(0x1002, addi(a1, a1, -1));
    put(0x1006, beq(a1, 0, 8));
    put(0x100a, jal_x0(-12));
    put(0x100e, sd(a0, a3));
    put(0x1012, jal_x0(0));
    std::vector<uint32_t> image(bytes.size() / 4);
    std::memcpy(image.data(), bytes.data(), bytes.size());
    ASSERT_TRUE(machine.load(image));
    MachineContext context = machine.context;
    context.engine = Engine::interpreter;
    Hart hart(context, 0);
    auto translator = jit::Translator::create(hart);
    ASSERT_TRUE(translator.has_value()) << translator.error().message();
    auto run = [&](uint64_t iterations) {
        EXPECT_TRUE(machine.memory.store<uint64_t>(mailbox, 0));
        hart.reset(kRam, Priv::machine);
        hart.set_reg(a0, 0);
        hart.set_reg(a1, iterations);
        hart.set_reg(a3, mailbox);
        for (unsigned step = 0; step < 1'000'000; ++step) {
            if (machine.memory.load<uint64_t>(mailbox).value_or(0) != 0) break;
            (*translator)->execute();
        }
        return machine.memory.load<uint64_t>(mailbox).value_or(0);
    };
    EXPECT_EQ(run(1000), 1000u);
    // Translated once hot: the interpreter ran the loop only while it was cold.
    EXPECT_LT((*translator)->stats().interpreted, 200u);
    // The immediate is in the half on the next page: addi a0, a0, 2 without a store the
    // translator hears of. The guard sees it; the interpreter runs the new instruction.
    const uint32_t plus_two = addi(a0, a0, 2);
    ASSERT_TRUE(
        machine.memory.store<uint16_t>(kRam + 0x1000, static_cast<uint16_t>(plus_two >> 16)));
    EXPECT_EQ(run(100), 200u);
}

TEST(Translator, FlushesAFullBufferWhileTranslatingAndStaysRight) {
    constexpr unsigned pages = 48, rounds = 40;
    TestMachine machine(1 << 20);
    std::vector<uint32_t> image((pages + 2) * 1024, 0);
    for (unsigned page = 0; page < pages; ++page) {
        image[page * 1024] = addi(a0, a0, 1);
        image[page * 1024 + 1] = jal_x0(4096 - 4);
    }
    const uint32_t last[] = {addi(a1, a1, -1), beq(a1, 0, 8), jalr(a2), sd(a0, a3), jal_x0(0)};
    std::copy(std::begin(last), std::end(last), image.begin() + pages * 1024);
    ASSERT_TRUE(machine.load(image));
    const uint64_t mailbox = kRam + (pages + 1) * 4096;

    // A hart of its own engine-less kind, driven by a translator whose buffer has room for one
    // block at a time: nearly every translation flushes everything first.
    MachineContext context = machine.context;
    context.engine = Engine::interpreter;
    Hart hart(context, 0);
    hart.reset(kRam, Priv::machine);
    hart.set_reg(a1, rounds);
    hart.set_reg(a2, kRam);
    hart.set_reg(a3, mailbox);
    auto translator = jit::Translator::create(hart, 68 * 1024);
    ASSERT_TRUE(translator.has_value()) << translator.error().message();
    for (unsigned step = 0; step < 1'000'000; ++step) {
        if (machine.memory.load<uint64_t>(mailbox).value_or(0) != 0) break;
        (*translator)->execute();
    }
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox).value_or(0), uint64_t{pages} * rounds);
    jit::TranslatorStats stats = (*translator)->stats();
    EXPECT_GT(stats.cache_flushes, 10u);
    EXPECT_GE(stats.blocks_translated, pages);
    EXPECT_LE(stats.code_buffer_used, stats.code_buffer_capacity);
}

}  // namespace
}  // namespace vessel::riscv
