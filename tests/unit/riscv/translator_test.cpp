// The translator's code buffer: bounded, flushed whole when full, and right across flushes that
// happen in the middle of looking a block up (the lookup's map is emptied under it).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
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

// A loop counting a1 down inside one page; the count, in a0, goes to the word at a3.
const uint32_t kCountingLoop[] = {addi(a0, a0, 1), addi(a1, a1, -1), beq(a1, 0, 8),
                                  jal_x0(-12),     sd(a0, a3),       jal_x0(0)};

// Runs kCountingLoop for `iterations` on a hart of its own with a translator of its own.
jit::TranslatorStats run_counting_loop(uint64_t iterations) {
    TestMachine machine(1 << 20);
    const uint64_t mailbox = kRam + 0x2000;
    EXPECT_TRUE(machine.load(kCountingLoop));
    MachineContext context = machine.context;
    context.engine = Engine::interpreter;
    Hart hart(context, 0);
    auto translator = jit::Translator::create(hart);
    EXPECT_TRUE(translator.has_value()) << translator.error().message();
    if (!translator) return {};
    hart.reset(kRam, Priv::machine);
    hart.set_reg(a1, iterations);
    hart.set_reg(a3, mailbox);
    for (unsigned step = 0; step < 1'000'000; ++step) {
        if (machine.memory.load<uint64_t>(mailbox).value_or(0) != 0) break;
        (*translator)->execute();
    }
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox).value_or(0), iterations);
    return (*translator)->stats();
}

TEST(Translator, TranslatesAHotLoopThatNeverLeavesItsPage) {
    // Heat counts the interpreter's returns to the translator: a loop inside one page must not
    // run interpreted for hundreds of iterations per return (it did, 512 taken branches: this
    // loop's 2,000 iterations ran cold to the end).
    const jit::TranslatorStats stats = run_counting_loop(2000);
    EXPECT_GE(stats.blocks_translated, 1u);
    // At most kHotThreshold cold runs of kColdBranchBudget iterations each, then translated.
    EXPECT_LE(stats.interpreted, jit::Translator::kHotThreshold + 2u);
}

// Calls `body` below a 64 KiB frame of 0xff bytes.
[[gnu::noinline]] void call_below_a_filled_frame(const std::function<void()>& body) {
    volatile uint8_t frame[64 * 1024];
    for (auto& byte : frame)
        byte = 0xff;
    body();
    (void)frame[0];
}

TEST(Translator, CompilesTheSameWhereverItIsCalledFrom) {
    // The register allocator once kept a static list of pointers to the first compiler's own
    // register members: a compiler made deeper in the stack (or on another hart's thread) read
    // its host registers from a dead frame, here one of 0xff bytes, and failed or emitted
    // garbage.
    EXPECT_GE(run_counting_loop(20000).blocks_translated, 1u);
    call_below_a_filled_frame([] { EXPECT_GE(run_counting_loop(20000).blocks_translated, 1u); });
}

constexpr uint32_t r_type(uint32_t funct7, unsigned rs2, unsigned rs1, uint32_t funct3, unsigned rd,
                          uint32_t opcode) {
    return (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode;
}
constexpr uint32_t i_type(int32_t imm, unsigned rs1, uint32_t funct3, unsigned rd,
                          uint32_t opcode) {
    return (static_cast<uint32_t>(imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) |
           opcode;
}
constexpr uint32_t branch(uint32_t funct3, unsigned rs1, unsigned rs2, int32_t offset) {
    return (beq(rs1, rs2, offset) & ~(uint32_t{7} << 12)) | (funct3 << 12);
}
constexpr uint32_t sd_at(unsigned rs2, unsigned rs1, int32_t offset) {
    auto imm = static_cast<uint32_t>(offset);
    return (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (3 << 12) |
           ((imm & 0x1f) << 7) | 0x23;
}

TEST(Translator, IfElseArmsRunAsSelectsWithTheResultsAndCountOfTheBranches) {
    // A hot loop of the shapes the translator turns into cmov: an if/else whose taken arm is
    // out of line and jumps back, an if without else, and an if/else in line with a jump over
    // the taken arm; both arms of the first and last write one register. Checked against the
    // same computation in C++, the retired-instruction count included.
    enum : unsigned { t0 = 5, t1 = 6, t2 = 7, a7 = 17 };
    constexpr uint32_t kBltu = 6, kBge = 5, kBeq = 0, kBne = 1;
    std::vector<uint32_t> image = {
        r_type(1, a6, a2, 0, a2, 0x33),      // 0x00 loop: mul a2, a2, a6
        addi(a2, a2, 1),                     // 0x04
        i_type(33, a2, 5, a3, 0x13),         // 0x08 srli a3, a2, 33
        i_type(45, a2, 5, a7, 0x13),         // 0x0c srli a7, a2, 45
        branch(kBltu, a3, a7, 0x60 - 0x10),  // 0x10 bltu a3, a7, taken
        addi(a4, a3, 0),                     // 0x14 mv a4, a3
        r_type(0, a4, a0, 0, a0, 0x33),      // 0x18 join: add a0, a0, a4
        branch(kBge, a3, a7, 8),             // 0x1c bge a3, a7, 0x24
        addi(a0, a0, 7),                     // 0x20
        i_type(1, a3, 7, a5, 0x13),          // 0x24 andi a5, a3, 1
        branch(kBeq, a5, 0, 12),             // 0x28 beq a5, zero, 0x34
        i_type(0x55, a3, 4, a4, 0x13),       // 0x2c xori a4, a3, 0x55
        jal_x0(8),                           // 0x30 j 0x38
        i_type(-3, a7, 0, a4, 0x1b),         // 0x34 addiw a4, a7, -3
        r_type(0, a4, a0, 4, a0, 0x33),      // 0x38 xor a0, a0, a4
        addi(a1, a1, -1),                    // 0x3c
        branch(kBne, a1, 0, -0x40),          // 0x40 bne a1, zero, loop
        csr(kCsrrs, t2, 0xb02, 0),           // 0x44 csrr t2, minstret
        sd_at(a0, t0, 8),                    // 0x48
        sd_at(t2, t0, 16),                   // 0x4c
        addi(t1, 0, 1),                      // 0x50
        sd_at(t1, t0, 0),                    // 0x54
        jal_x0(0),                           // 0x58
        addi(0, 0, 0),                       // 0x5c
        i_type(1, a7, 0, a4, 0x1b),          // 0x60 taken: addiw a4, a7, 1
        jal_x0(0x18 - 0x64),                 // 0x64 j join
    };
    TestMachine machine(1 << 20);
    ASSERT_TRUE(machine.load(image));
    const uint64_t mailbox = kRam + 0x1000;
    MachineContext context = machine.context;
    context.engine = Engine::interpreter;
    Hart hart(context, 0);
    hart.reset(kRam, Priv::machine);
    constexpr uint64_t kIterations = 200000, kSeed = 12345, kMultiplier = 6364136223846793005ull;
    hart.set_reg(a1, kIterations);
    hart.set_reg(a2, kSeed);
    hart.set_reg(a6, kMultiplier);
    hart.set_reg(t0, mailbox);
    run_translated(hart, machine, mailbox);
    ASSERT_EQ(machine.memory.load<uint64_t>(mailbox).value_or(0), 1u);

    uint64_t acc = 0, state = kSeed, retired = 0;
    auto sext32 = [](uint64_t value) { return static_cast<uint64_t>(static_cast<int32_t>(value)); };
    for (uint64_t n = 0; n < kIterations; ++n) {
        state = state * kMultiplier + 1;
        const uint64_t x = state >> 33, y = state >> 45;
        retired += 4;
        const bool less = x < y;
        acc += less ? sext32(y + 1) : x;
        retired += less ? 4 : 3;  // bltu, addiw and j, or bltu and mv; then add
        const bool at_least = static_cast<int64_t>(x) >= static_cast<int64_t>(y);
        if (!at_least) acc += 7;
        retired += at_least ? 1 : 2;
        const bool even = (x & 1) == 0;
        acc ^= even ? sext32(y - 3) : x ^ 0x55;
        retired += 2 + (even ? 1 : 2) + 3;  // andi, beq; the arm; xor, addi, bne
    }
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox + 8).value_or(0), acc);
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox + 16).value_or(0), retired);
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
