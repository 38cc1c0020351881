// Self-modifying code on the translator (and the interpreter, the reference, beside it): a store
// into code that has been translated and run, then that code run again, with and without fence.i,
// in the same block as the store, through a jump linked on the same page and through one linked
// from another page; and code changed by another hart, seen after fence.i.
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "difftest/assembler.h"
#include "difftest/encoding.h"
#include "difftest/engine_runner.h"
#include "difftest/program_generator.h"
#include "test_machine.h"

namespace vessel::riscv {
namespace {

using difftest::Assembler;
namespace enc = difftest::enc;
enum : unsigned { ra = 1, t5 = 30, t6 = 31, a0 = 10, a7 = 17, s1 = 9 };

// Iterations of the loop, and the one (counting down) whose store changes the code: enough
// before it that the code is translated and linked when it changes (the translator leaves code
// that has run only a few times to the interpreter), enough after to run the new code.
constexpr int64_t kIterations = 20000, kPatchAt = 8000;
// a0 += 1 before the change, += 100 after, each iteration.
constexpr uint64_t kExpected = (kIterations - kPatchAt) * 1 + kPatchAt * 100;

enum class Where {
    same_block,      // the changed instruction follows the store in its block
    same_page_call,  // a function on the loop's page, called through a same-page link
    other_page_call  // a function on another page, called through a cross-page link
};

struct Case {
    Where where;
    bool fence_i;
};

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
    static constexpr const char* wheres[] = {"SameBlock", "SamePageCall", "OtherPageCall"};
    return std::string(wheres[static_cast<int>(info.param.where)]) +
           (info.param.fence_i ? "WithFenceI" : "WithoutFenceI");
}

// The body (M-mode, at kCode): the loop counts s1 down from kIterations; at kPatchAt it stores
// `addi a0, a0, 100` over the `addi a0, a0, 1` it runs every iteration.
difftest::Program program_for(const Case& c) {
    Assembler a(difftest::kCode);
    auto loop = a.new_label(), target = a.new_label(), skip = a.new_label(), done = a.new_label();
    a.li(s1, kIterations);
    a.li(a0, 0);
    a.li(t5, static_cast<int32_t>(enc::addi(a0, a0, 100)));
    a.bind(loop);
    a.li(t6, kPatchAt);
    a.branch(1, s1, t6, skip);  // bne: only the one iteration stores
    a.la(t6, target);
    a.word(enc::sw(t5, t6, 0));
    if (c.fence_i) a.word(enc::kFenceI);
    a.bind(skip);
    if (c.where == Where::same_block) {
        a.bind(target);
        a.word(enc::addi(a0, a0, 1));
    } else {
        a.jal(ra, target);
    }
    a.word(enc::addi(s1, s1, -1));
    a.branch(1, s1, 0, loop);
    a.jal(0, done);
    if (c.where == Where::other_page_call)
        while (a.here() < difftest::kCode + 0x1800)
            a.half(enc::kCNop);
    if (c.where != Where::same_block) {
        a.bind(target);
        a.word(enc::addi(a0, a0, 1));
        a.word(enc::jalr(0, ra, 0));
    }
    a.bind(done);
    return difftest::assembled_program({}, a.finish());
}

// gtest prints a failing parameter: its name, not its bytes.
void PrintTo(const Case& c, std::ostream* out) {
    static constexpr const char* wheres[] = {"same block", "same-page call", "other-page call"};
    *out << wheres[static_cast<int>(c.where)] << (c.fence_i ? ", fence.i" : ", no fence.i");
}

class SelfModifyingCode : public ::testing::TestWithParam<Case> {};

TEST_P(SelfModifyingCode, TheNewInstructionRunsFromTheNextExecutionOn) {
    difftest::Program program = program_for(GetParam());
    difftest::DifferentialRunner runner;
    auto [interpreter, translator] = runner.run(program.image(), {});
    ASSERT_TRUE(interpreter.finished && translator.finished);
    ASSERT_EQ(translator.engine, Engine::translator);
    EXPECT_EQ(interpreter.x[a0], kExpected) << "the interpreter";
    EXPECT_EQ(translator.x[a0], kExpected)
        << "the translator ran the old instruction " << (kExpected - translator.x[a0]) / 99
        << " times after the store; " << jit::describe(translator.stats);
    // The store hit code that ran translated before it. Into another block it makes that block
    // stale, dropped when next looked up; into its own block, the block leaves after the store
    // and what follows runs afresh (a0 above shows the new instruction ran from then on).
    EXPECT_GE(translator.stats.blocks_translated, 1u) << jit::describe(translator.stats);
    if (GetParam().where != Where::same_block) {
        EXPECT_GE(translator.stats.invalidations, 1u) << jit::describe(translator.stats);
    }
}

INSTANTIATE_TEST_SUITE_P(
    , SelfModifyingCode,
    ::testing::Values(Case{Where::same_block, true}, Case{Where::same_block, false},
                      Case{Where::same_page_call, true}, Case{Where::same_page_call, false},
                      Case{Where::other_page_call, true}, Case{Where::other_page_call, false}),
    name_of);

// Two harts on one machine: hart 0 calls a function until hart 1 has rewritten it, then runs
// fence.i and calls it again; the new code must run, translated or not.
TEST(SelfModifyingCodeAcrossHarts, AFenceIMakesAnotherHartsStoreVisible) {
    constexpr uint64_t kRam = TestMachine::kRamBase;
    constexpr uint64_t kFunction = kRam + 0x3000, kFlags = kRam + 0x8000;
    // kFlags +0: calls made by hart 0; +8: 1 once hart 1 changed the code; +16: the result.
    constexpr uint64_t kCallsBeforeChange = 5000;
    TestMachine machine(1 << 20);
    machine.context.engine = Engine::translator;

    Assembler caller(kRam);  // hart 0
    {
        auto loop = caller.new_label(), changed = caller.new_label();
        caller.li(t6, static_cast<int64_t>(kFlags));
        caller.bind(loop);
        caller.li(t5, static_cast<int64_t>(kFunction));
        caller.word(enc::jalr(ra, t5, 0));  // a0 = f()
        caller.word(enc::ld(t5, t6, 0));
        caller.word(enc::addi(t5, t5, 1));
        caller.word(enc::sd(t5, t6, 0));  // one more call made
        caller.word(enc::ld(t5, t6, 8));
        caller.branch(1, t5, 0, changed);  // bne: hart 1 is done
        caller.jal(0, loop);
        caller.bind(changed);
        caller.word(enc::fence(3, 3));
        caller.word(enc::kFenceI);
        caller.li(t5, static_cast<int64_t>(kFunction));
        caller.word(enc::jalr(ra, t5, 0));
        caller.word(enc::sd(a0, t6, 16));
        auto spin = caller.new_label();
        caller.bind(spin);
        caller.jal(0, spin);
    }
    Assembler writer(kRam + 0x1000);  // hart 1
    {
        auto wait = writer.new_label();
        writer.li(t6, static_cast<int64_t>(kFlags));
        writer.bind(wait);
        writer.word(enc::ld(t5, t6, 0));
        writer.li(a0, kCallsBeforeChange);
        writer.branch(6, t5, a0, wait);  // bltu: until the function is well translated
        writer.li(t5, static_cast<int32_t>(enc::addi(a0, 0, 2)));
        writer.li(a0, static_cast<int64_t>(kFunction));
        writer.word(enc::sw(t5, a0, 0));
        writer.word(enc::fence(3, 3));
        writer.li(t5, 1);
        writer.word(enc::sd(t5, t6, 8));
        auto spin = writer.new_label();
        writer.bind(spin);
        writer.jal(0, spin);
    }
    Assembler function(kFunction);
    function.word(enc::addi(a0, 0, 1));
    function.word(enc::jalr(0, ra, 0));
    for (Assembler* part : {&caller, &writer, &function}) {
        std::vector<uint8_t> bytes = part->finish();
        ASSERT_TRUE(machine.memory.write(part->here() - bytes.size(), bytes));
    }

    Hart hart0(machine.context, 0), hart1(machine.context, 1);
    hart0.reset(kRam, Priv::machine);
    hart1.reset(kRam + 0x1000, Priv::machine);
    ASSERT_EQ(hart0.engine(), Engine::translator);
    std::jthread thread0([&hart0] { hart0.run(); }), thread1([&hart1] { hart1.run(); });
    struct Stop {
        Hart &first, &second;
        ~Stop() {
            first.request_stop();
            second.request_stop();
        }
    } stop{hart0, hart1};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (machine.memory.load<uint64_t>(kFlags + 16).value_or(0) == 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(machine.memory.load<uint64_t>(kFlags + 16).value_or(0), 2u)
        << "after fence.i hart 0 ran the function as hart 1 rewrote it";
    EXPECT_GE(machine.memory.load<uint64_t>(kFlags).value_or(0), kCallsBeforeChange);
}

}  // namespace
}  // namespace vessel::riscv
