// The translator's code cache is bounded: a workload that keeps more code hot than the buffer
// holds makes it start over (every block dropped, then translated again as it runs), never grow,
// and the guest's results stay exact.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "difftest/assembler.h"
#include "difftest/encoding.h"
#include "test_machine.h"
#include "vm/riscv/jit/translator.h"

namespace vessel::riscv {
namespace {

using difftest::Assembler;
namespace enc = difftest::enc;
enum : unsigned { a0 = 10, a1 = 11, a2 = 12, s1 = 9 };

constexpr uint64_t kRam = TestMachine::kRamBase;
constexpr unsigned kPages = 96, kBlocksPerPage = 8, kAddsPerBlock = 60;
// Enough rounds for every block to become hot, and then some.
constexpr unsigned kRounds = jit::Translator::kHotThreshold + 8;
constexpr size_t kCodeBytes = 256 << 10;

// kRounds times through kPages pages of straight-line adds, kBlocksPerPage blocks on each page,
// then the sum to a mailbox. Each block jumps to the block at the same place on the next page
// (the last page's to the next place on the first), so that every block is entered from another
// page, every round: all of them become hot, and they translate to more than kCodeBytes.
struct Workload {
    std::vector<uint8_t> image;
    uint64_t mailbox = 0, expected = 0;
};

Workload build_workload() {
    Workload workload;
    Assembler a(kRam);
    auto round = a.new_label(), end = a.new_label();
    std::vector<Assembler::Label> blocks(kPages * kBlocksPerPage);
    for (auto& label : blocks)
        label = a.new_label();
    a.li(s1, kRounds);
    a.li(a0, 0);
    a.bind(round);
    a.jal(0, blocks[0]);
    auto next_round = a.new_label();
    a.bind(next_round);
    a.word(enc::addi(s1, s1, -1));
    a.branch(0, s1, 0, end);
    a.jal(0, round);
    a.bind(end);
    workload.mailbox = kRam + 0x1000 * (kPages + 2);  // past the code
    a.li(a2, static_cast<int64_t>(workload.mailbox));
    a.word(enc::sd(a0, a2, 0));
    auto spin = a.new_label();
    a.bind(spin);
    a.jal(0, spin);
    constexpr uint64_t kSlot = 0x1000 / kBlocksPerPage;
    for (unsigned page = 0; page < kPages; ++page) {
        for (unsigned block = 0; block < kBlocksPerPage; ++block) {
            while (a.here() < kRam + 0x1000 * (page + 1) + kSlot * block)
                a.half(enc::kCNop);
            a.bind(blocks[block * kPages + page]);
            for (unsigned i = 0; i < kAddsPerBlock; ++i) {
                auto value = static_cast<int32_t>((page * 7 + block * 3 + i) % 200);
                a.word(enc::addi(a0, a0, value));
                workload.expected += static_cast<uint64_t>(value) * kRounds;
            }
            unsigned next = block * kPages + page + 1;
            if (next < blocks.size())
                a.jal(0, blocks[next]);
            else
                a.jal(0, next_round);
        }
    }
    workload.image = a.finish();
    return workload;
}

// Runs the workload on a hart of `machine`; returns the sum it stored (0 if it never finished).
uint64_t run(TestMachine& machine, Hart& hart, const Workload& workload) {
    if (!machine.memory.write(kRam, workload.image)) return 0;
    hart.reset(kRam, Priv::machine);
    std::jthread thread([&hart] { hart.run(); });
    struct Stop {
        Hart& hart;
        ~Stop() { hart.request_stop(); }
    } stop{hart};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (machine.memory.load<uint64_t>(workload.mailbox).value_or(0) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return machine.memory.load<uint64_t>(workload.mailbox).value_or(0);
}

TEST(TranslatorCodeCache, StaysWithinItsBoundWhenTheHotCodeDoesNotFit) {
    Workload workload = build_workload();
    TestMachine machine(1 << 20);
    machine.context.engine = Engine::translator;
    machine.context.translator_code_bytes = kCodeBytes;
    Hart hart(machine.context, 0);
    ASSERT_EQ(hart.engine(), Engine::translator);
    EXPECT_EQ(run(machine, hart, workload), workload.expected);

    jit::TranslatorStats stats = hart.translator()->stats();
    EXPECT_EQ(stats.code_buffer_capacity, kCodeBytes) << jit::describe(stats);
    EXPECT_LE(stats.code_buffer_used, stats.code_buffer_capacity);
    // More code than fits was translated, so the buffer started over, more than once...
    EXPECT_GT(stats.code_bytes_emitted, 2 * kCodeBytes) << jit::describe(stats);
    EXPECT_GE(stats.cache_flushes, 2u) << jit::describe(stats);
    // ... and blocks were translated again after each time.
    EXPECT_GT(stats.blocks_translated, uint64_t{kPages} * kBlocksPerPage) << jit::describe(stats);
}

// The same workload with the default buffer: it all fits, so nothing is ever dropped.
TEST(TranslatorCodeCache, TheDefaultBufferHoldsTheWholeWorkload) {
    Workload workload = build_workload();
    TestMachine machine(1 << 20);
    machine.context.engine = Engine::translator;
    Hart hart(machine.context, 0);
    ASSERT_EQ(hart.engine(), Engine::translator);
    EXPECT_EQ(run(machine, hart, workload), workload.expected);
    jit::TranslatorStats stats = hart.translator()->stats();
    EXPECT_EQ(stats.code_buffer_capacity, jit::Translator::kDefaultCodeBytes);
    EXPECT_EQ(stats.cache_flushes, 0u) << jit::describe(stats);
    EXPECT_GT(stats.code_bytes_emitted, kCodeBytes) << jit::describe(stats);
}

}  // namespace
}  // namespace vessel::riscv
