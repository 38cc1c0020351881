// The hart's cache of decoded code: bounded however much code runs, correct when pages are
// recycled, and never stale after the code changes (a store, then fence.i).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "test_machine.h"
#include "vm/riscv/hart.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {
namespace {

constexpr uint64_t kRam = TestMachine::kRamBase;

// RV64I encodings, enough for the program below.
constexpr uint32_t i_type(int32_t imm, unsigned rs1, unsigned funct3, unsigned rd, unsigned op) {
    return (static_cast<uint32_t>(imm) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | op;
}
constexpr uint32_t addi(unsigned rd, unsigned rs1, int32_t imm) {
    return i_type(imm, rs1, 0, rd, 0x13);
}
constexpr uint32_t jalr(unsigned rs1) {
    return i_type(0, rs1, 0, 0, 0x67);
}
constexpr uint32_t s_type(unsigned rs2, unsigned rs1, unsigned funct3) {
    return (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | 0x23;  // offset 0
}
constexpr uint32_t sd(unsigned rs2, unsigned rs1) {
    return s_type(rs2, rs1, 3);
}
constexpr uint32_t sw(unsigned rs2, unsigned rs1) {
    return s_type(rs2, rs1, 2);
}
constexpr uint32_t branch(unsigned funct3, unsigned rs1, unsigned rs2, int32_t offset) {
    auto imm = static_cast<uint32_t>(offset);
    return (((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (funct3 << 12) | (((imm >> 1) & 0xf) << 8) | (((imm >> 11) & 1) << 7) | 0x63;
}
constexpr uint32_t beq(unsigned rs1, unsigned rs2, int32_t offset) {
    return branch(0, rs1, rs2, offset);
}
constexpr uint32_t jal_x0(int32_t offset) {
    auto imm = static_cast<uint32_t>(offset);
    return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) | (((imm >> 11) & 1) << 20) |
           (((imm >> 12) & 0xff) << 12) | 0x6f;
}
constexpr uint32_t kFenceI = 0x0000100f;
enum : unsigned { a0 = 10, a1, a2, a3, a4, a5 };

// More pages of code than the cache may hold: every page must be recycled, then reused.
TEST(DecodedCode, StaysBoundedAndCorrectOverMorePagesThanItHolds) {
    constexpr unsigned pages = Hart::max_decoded_pages() + 44;
    // Rounds through all pages: enough for the translator, which leaves code that has run fewer
    // than Translator::kHotThreshold times to the interpreter, to translate every page.
    constexpr uint64_t kRounds = jit::Translator::kHotThreshold + 4;
    TestMachine machine(2 << 20);
    std::vector<uint32_t> image((pages + 2) * 1024, 0);
    // Pages 0 .. pages-1: count the page, go to the next one.
    for (unsigned page = 0; page < pages; ++page) {
        image[page * 1024] = addi(a0, a0, 1);
        image[page * 1024 + 1] = jal_x0(4096 - 4);
    }
    // The last page: a1 rounds through them all, then the count goes to the mailbox (a3). In the
    // first phase (a4 = 0) the program then rewrites page 0's first instruction to add 100
    // (a5), fences, and runs one more round.
    const uint32_t last[] = {addi(a1, a1, -1), beq(a1, 0, 8),  jalr(a2),       sd(a0, a3),
                             addi(a3, a3, 8),  beq(a4, 0, 8),  jal_x0(0),      sw(a5, a2),
                             kFenceI,          addi(a4, 0, 1), addi(a1, 0, 1), jalr(a2)};
    std::copy(std::begin(last), std::end(last), image.begin() + pages * 1024);
    ASSERT_TRUE(machine.load(image));
    const uint64_t mailbox = kRam + (pages + 1) * 4096;

    Hart hart(machine.context, 0);
    hart.reset(kRam, Priv::machine);
    hart.set_reg(a1, kRounds);
    hart.set_reg(a2, kRam);
    hart.set_reg(a3, mailbox);
    hart.set_reg(a5, addi(a0, a0, 100));
    std::jthread thread([&hart] { hart.run(); });
    struct Stop {
        Hart& hart;
        ~Stop() { hart.request_stop(); }
    } stop{hart};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (machine.memory.load<uint64_t>(mailbox + 8).value_or(0) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The hart's caches and statistics are its thread's: read them once it has stopped.
    hart.request_stop();
    thread.join();

    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox).value_or(0), kRounds * pages);
    // The changed first page adds 100 in place of 1: never the stale decoding.
    EXPECT_EQ(machine.memory.load<uint64_t>(mailbox + 8).value_or(0), (kRounds + 1) * pages + 99);
    if (hart.engine() == Engine::interpreter) {
        EXPECT_LE(hart.decoded_pages_allocated(), Hart::max_decoded_pages());
        EXPECT_GT(hart.decoded_pages_allocated(), Hart::max_decoded_pages() / 2);
    } else {
        // The translator: every page's block translated, in its bounded buffer.
        jit::TranslatorStats stats = hart.translator()->stats();
        EXPECT_GE(stats.blocks_translated, pages);
        EXPECT_LE(stats.code_buffer_used, stats.code_buffer_capacity);
    }
}

}  // namespace
}  // namespace vessel::riscv
