// The translator against the interpreter, the reference: random RV64GC programs (every
// instruction class, CSRs in M, S and U, traps, Sv39 with unmapped, read-only and no-execute
// pages, self-modifying code with and without fence.i) run from identical state on a hart of
// each engine, and everything architectural is compared at every trap and at the end. A fixed
// set of seeds runs here; bench/difftest runs thousands (riscv-difftest). Every divergence found
// stays below as a regression case.
#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "difftest/encoding.h"
#include "difftest/engine_runner.h"
#include "difftest/program_generator.h"

namespace vessel::riscv::difftest {
namespace {

constexpr uint64_t kSeeds = 100;

uint64_t traps_logged(const Outcome& outcome) {
    uint64_t cursor = 0;
    std::memcpy(&cursor, outcome.memory.data() + (kLogCursor - kRam), 8);
    return (cursor - kLog) / RecordLayout::bytes;
}

uint64_t logged(const Outcome& outcome, uint64_t record, unsigned field) {
    uint64_t value = 0;
    std::memcpy(&value,
                outcome.memory.data() + (kLog - kRam) + record * RecordLayout::bytes + field, 8);
    return value;
}

// Runs seeds [first, first + kSeeds) and checks both that the engines agree and that the programs
// do what the tester claims: they end, trap in every way listed, delegate to S, and leave the
// translator a good share of the work (it translates only code that has run a few times).
void run_seeds(uint64_t first, const Features& features) {
    DifferentialRunner runner;
    std::set<uint64_t> causes, handlers;
    uint64_t traps = 0, finished = 0, translated = 0;
    for (uint64_t seed = first; seed < first + kSeeds; ++seed) {
        Program program = generate_program(seed, features);
        auto [interpreter, translator] = runner.run(program.image(), {});
        ASSERT_EQ(translator.engine, Engine::translator) << "the translator did not start";
        EXPECT_EQ(compare(interpreter, translator), "")
            << "seed " << seed << " diverges; reproduce and minimize with: riscv-difftest --start "
            << seed << " --seeds 1 --minimize"
            << (features.fence_i_after_code_stores ? " --fence-i-after-code-stores" : "");
        finished += interpreter.finished && interpreter.mailbox == 1;
        for (uint64_t record = 0; record < traps_logged(interpreter); ++record) {
            causes.insert(logged(interpreter, record, RecordLayout::cause));
            handlers.insert(logged(interpreter, record, RecordLayout::handler));
        }
        traps += traps_logged(interpreter);
        translated += translator.stats.guest_instructions_translated;
    }
    EXPECT_GE(finished, kSeeds * 9 / 10) << "programs that reached their end";
    EXPECT_GE(traps, kSeeds * 50);
    for (uint64_t cause : {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15})
        EXPECT_TRUE(causes.count(cause)) << "no trap with cause " << cause;
    EXPECT_TRUE(handlers.count(1)) << "no trap delegated to S";
    EXPECT_TRUE(handlers.count(3));
    EXPECT_GE(translated, kSeeds * 1000) << "guest instructions the translator compiled";
}

TEST(Differential, RandomProgramsRunAlikeOnBothEngines) {
    run_seeds(1, {.fence_i_after_code_stores = true});
}

// The same with stores into code that runs next without a fence.i between: the interpreter runs
// the new code at once, and so must the translator (see SelfModifyingCode too).
TEST(Differential, RandomProgramsRunAlikeWithoutFenceIAfterCodeStores) {
    run_seeds(1001, {.fence_i_after_code_stores = false});
}

// The tester itself: one changed instruction on the translator's side must be reported.
TEST(Differential, ReportsAProgramThatRunsDifferently) {
    difftest::Setup setup;                    // gtest's Test::Setup would shadow the bare name
    const Placed body[] = {{0, 0x00150513},   // addi a0, a0, 1
                           {4, 0x00000073}};  // ecall (logged, resumed)
    Program program = explicit_program(setup, body);
    Program changed = program;
    changed.body[2] ^= 0x20;  // addi a0, a0, 1 -> addi a0, a0, 3 (bit 21: the immediate's bit 1)
    DifferentialRunner runner;
    auto [interpreter, translator] = runner.run(program.image(), changed.image(), {});
    std::string report = compare(interpreter, translator);
    EXPECT_NE(report.find("first differing trap #0"), std::string::npos) << report;
    EXPECT_NE(report.find("  x10 (a0): interpreter"), std::string::npos) << report;
    EXPECT_NE(report.find("final x10 (a0)"), std::string::npos) << report;
}

// li and mv are addi, ori, xori, add, or, xor and sub with x0 as an operand: the translator emits
// them as a constant or a copy, into a register cached in a host register (used in the loop) and
// into one left in its slot (used once), from either kind.
TEST(Differential, ConstantsAndCopiesThroughX0RunAlike) {
    using namespace enc;
    enum : unsigned { t0 = 5, t1, t2, s1 = 9, a0, a1, a2, a3, a4, a5, a6, a7, t3 = 28 };
    difftest::Setup setup;
    const Placed body[] = {
        {0, addi(s1, 0, 1000)},
        {4, add(a0, 0, s1)},  // loop: values that change with every iteration
        {8, ori(a1, 0, 0x7ff)},
        {12, xori(a2, 0, -2048)},
        {16, add(a3, 0, a0)},
        {20, add(a4, a0, 0)},
        {24, or_(a5, 0, s1)},
        {28, r(0, 0, s1, 4, a6, kOp)},     // xor a6, s1, x0
        {32, r(0x20, 0, a0, 0, a7, kOp)},  // sub a7, a0, x0
        {36, addi(t0, s1, 0)},
        {40, add(a2, 0, 0)},  // zero into a register in a host register
        {44, add(t1, 0, 0)},
        {48, c_li(t2, -5)},
        {50, c_mv(t3, s1)},
        {52, add(a0, a0, a1)},
        {56, add(a1, a1, a2)},
        {60, addi(s1, s1, -1)},
        {64, branch(1, s1, 0, -60)},  // bne s1, x0, loop
    };
    Program program = explicit_program(setup, body);
    DifferentialRunner runner;
    auto [interpreter, translator] = runner.run(program.image(), {});
    ASSERT_TRUE(interpreter.finished && interpreter.mailbox == 1);
    EXPECT_EQ(compare(interpreter, translator), "");
    EXPECT_GT(translator.stats.guest_instructions_translated, 0u);
}

// Divergences riscv-difftest found, minimized (riscv-difftest --minimize prints them like this).
struct Regression {
    const char* name;
    difftest::Setup setup;
    std::vector<Placed> body;
};

std::vector<Regression> regressions() {
    using P = Priv;
    return {
        // A loop stores a new instruction (its count in the immediate) into the first word of
        // the snippet page at 0x8001d000 and calls it with jal, no fence.i between: once the
        // translator has linked the jal to the snippet's block, it keeps running the block
        // translated before the store (the interpreter runs each new instruction).
        {"CrossPageCallIntoCodeRewrittenWithoutFenceI",
         {.seed = 0x3,
          .priv = P::machine,
          .paging = true,
          .medeleg = 0x0,
          .mstatus = 0xc0000,
          .fcsr = 0xa,
          .scounteren = 0x7,
          .code_s = {0x0f, 0x0f, 0xcf, 0xcf, 0x0f, 0x0b, 0x0b, 0x0b, 0x09, 0x0f, 0x0f, 0x09, 0x07,
                     0x0b, 0x0b, 0x07},
          .code_u = {0x0f, 0xcf, 0x09, 0x0f, 0x09, 0x0b, 0x09, 0x09, 0x09, 0x09, 0x0b, 0xcf, 0x0b,
                     0x0f, 0x0b, 0x0f},
          .data_s = {0xc7, 0x07, 0x47, 0x07, 0x05, 0x07, 0x09, 0x03, 0x09, 0x01, 0x47, 0x07, 0x07,
                     0x07, 0xc7, 0x07},
          .data_u = {0x07, 0x07, 0x05, 0x47, 0x07, 0x47, 0x07, 0x05, 0x07, 0x05, 0x01, 0x07, 0x01,
                     0x03, 0x47, 0xc7},
          .mega = 0x03},
         {{0x90a, 0x01f00493},    // li s1, 31
          {0x90e, 0x00000f97},    // loop: auipc t6, 0
          {0x912, 0x0000cf37},    // lui t5, 0xc
          {0x916, 0x6f2f0f1b},    // addiw t5, t5, 0x6f2: t6 + t5 = 0x8001d000
          {0x91a, 0x01ef8fb3},    // add t6, t6, t5
          {0x926, 0x01449893},    // slli a7, s1, 20
          {0x92a, 0x011f6f33},    // or t5, t5, a7: the new instruction
          {0x932, 0x01efa023},    // sw t5, 0(t6)
          {0x936, 0x6ca0c0ef},    // jal ra, 0x8001d000
          {0x94a, 0xfff48493},    // addi s1, s1, -1
          {0x94e, 0xfc0490e3}}},  // bnez s1, loop
    };
}

// gtest prints a failing parameter: its name, not its bytes.
void PrintTo(const Regression& regression, std::ostream* out) {
    *out << regression.name;
}

class DifferentialRegression : public ::testing::TestWithParam<Regression> {};

TEST_P(DifferentialRegression, RunsAlikeOnBothEngines) {
    const Regression& regression = GetParam();
    Program program = explicit_program(regression.setup, regression.body);
    DifferentialRunner runner;
    auto [interpreter, translator] = runner.run(program.image(), {});
    ASSERT_TRUE(interpreter.finished && interpreter.mailbox == 1);
    EXPECT_EQ(compare(interpreter, translator), "");
}

INSTANTIATE_TEST_SUITE_P(, DifferentialRegression, ::testing::ValuesIn(regressions()),
                         [](const ::testing::TestParamInfo<Regression>& info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace vessel::riscv::difftest
