// The translator's memory accesses, in hot loops compared with the interpreter at every trap and
// at the end. Access groups (one TLB check for a run of loads or stores off one base register):
// every way a group's check can be wrong for one of its accesses (a span that runs into an
// unmapped page, a base register rewritten to another mapping between two accesses, stores that
// reach a page holding translated code). The TLB's two ways: two pages of one set used in turn.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <initializer_list>

#include "difftest/assembler.h"
#include "difftest/encoding.h"
#include "difftest/engine_runner.h"
#include "difftest/layout.h"
#include "difftest/program_generator.h"

namespace vessel::riscv {
namespace {

using difftest::Assembler;
namespace enc = difftest::enc;
enum : unsigned {
    ra = 1,
    t0 = 5,
    t1 = 6,
    t2 = 7,
    s1 = 9,
    a0 = 10,
    a1,
    a2,
    a3,
    a4,
    a5,
    a6,
    a7,
    t3 = 28,
    t4,
    t5,
    t6
};
constexpr uint8_t kDataRw = pte::V | pte::R | pte::W | pte::A | pte::D;
constexpr uint8_t kCodeRx = pte::V | pte::R | pte::X | pte::A;
// Iterations: enough that the loop runs translated for most of them.
constexpr int64_t kIterations = 3000;

difftest::Program finish(Assembler& a, const difftest::Setup& setup) {
    return difftest::assembled_program(setup, a.finish());
}

// Closes a loop: calls `function` on another page (the interpreter runs a loop within one page
// without coming back to the translator, which translates the code it is asked for often),
// counts s1 down and branches back to `loop`; then the function (`body`, then a return), past
// the loop's page.
void close_loop(Assembler& a, Assembler::Label loop, Assembler::Label function,
                std::initializer_list<uint32_t> body = {}) {
    auto done = a.new_label();
    a.jal(ra, function);
    a.word(enc::addi(s1, s1, -1));
    a.branch(1, s1, 0, loop);
    a.jal(0, done);
    while (a.here() < difftest::kCode + 0x1800)
        a.half(enc::kCNop);
    a.bind(function);
    for (uint32_t instruction : body)
        a.word(instruction);
    a.word(enc::jalr(0, ra, 0));
    a.bind(done);
}

// U-mode under Sv39 with the code and the first data pages mapped for the user.
difftest::Setup user_setup() {
    difftest::Setup setup;
    setup.priv = Priv::user;
    setup.paging = true;
    setup.code_u.fill(kCodeRx);
    setup.data_u[0] = kDataRw;
    setup.data_u[2] = kDataRw;
    return setup;
}

// Runs `program` on both engines, expects them to agree; the translator's registers.
std::array<uint64_t, 32> expect_alike(const difftest::Program& program) {
    difftest::DifferentialRunner runner;
    auto [interpreter, translator] = runner.run(program.image(), {});
    EXPECT_TRUE(interpreter.finished) << "the interpreter did not finish";
    EXPECT_EQ(translator.engine, Engine::translator);
    EXPECT_EQ(difftest::compare(interpreter, translator), "");
    EXPECT_GE(translator.stats.blocks_translated, 1u) << jit::describe(translator.stats);
    return translator.x;
}

TEST(TranslatorAccessGroups, ASpanRunningIntoAnUnmappedPageFaultsAtTheAccessThere) {
    // Each iteration stores three doublewords off a1 and loads them back; the last iteration
    // moves a1 to 8 bytes before the end of the mapped page, so the group's second store is
    // the first byte of an unmapped page: a store page fault there, after the first store
    // landed (the handler resumes after the faulting instruction).
    const difftest::Setup setup = user_setup();
    const uint64_t page = difftest::view(setup, Priv::user, difftest::kData);
    Assembler a(difftest::kCode);
    auto loop = a.new_label(), body = a.new_label();
    a.li(s1, kIterations);
    a.li(a0, 0);
    a.li(t0, 0x1111);
    a.li(t1, 0x2222);
    a.bind(loop);
    a.li(a1, static_cast<int64_t>(page + 0x100));
    a.li(t6, 1);
    a.branch(1, s1, t6, body);  // bne: all but the last iteration
    a.li(a1, static_cast<int64_t>(page + 0xff8));
    a.bind(body);
    a.word(enc::sd(t0, a1, 0));
    a.word(enc::sd(t1, a1, 8));
    a.word(enc::sd(0, a1, 16));
    a.word(enc::ld(a2, a1, 0));
    a.word(enc::ld(a3, a1, 8));
    a.word(enc::add(a0, a0, a2));
    a.word(enc::add(a0, a0, a3));
    a.word(enc::addi(t0, t0, 3));
    close_loop(a, loop, a.new_label());
    const std::array<uint64_t, 32> x = expect_alike(finish(a, setup));
    // The last iteration's loads: the first finds its store, the second faults (a3 unchanged).
    constexpr uint64_t n = kIterations;
    EXPECT_EQ(x[a0], n * 0x1111 + 3 * (n - 1) * n / 2 + n * 0x2222);
}

TEST(TranslatorAccessGroups, ABaseRewrittenBetweenAccessesUsesItsNewMapping) {
    // a1 switches from the user view of one data page to the megapage's view of the next
    // between stores: the store after the switch must not reuse the first view's host address
    // (it would write far outside guest RAM). The pages' TLB slots differ, so both stay filled.
    difftest::Setup setup = user_setup();
    setup.mega = kDataRw | pte::U;
    const uint64_t page = difftest::kData + 0x2000;
    const uint64_t user_view = difftest::view(setup, Priv::user, page);
    const uint64_t mega_view = difftest::kMegaAlias + (page - difftest::kRam);
    Assembler a(difftest::kCode);
    auto loop = a.new_label();
    a.li(s1, kIterations);
    a.li(a0, 0);
    a.li(a4, static_cast<int64_t>(user_view));
    a.li(a5, static_cast<int64_t>(mega_view + 0x1000));
    a.li(a6, static_cast<int64_t>(mega_view));
    a.bind(loop);
    a.word(enc::addi(a1, a4, 0));
    a.word(enc::sd(s1, a1, 0));
    a.word(enc::sd(t0, a1, 8));
    a.word(enc::addi(a1, a5, 0));  // the next page, another mapping
    a.word(enc::sd(s1, a1, 16));
    a.word(enc::ld(a2, a1, 16));
    a.word(enc::ld(a3, a6, 0));  // the first store, through the megapage
    a.word(enc::add(a0, a0, a2));
    a.word(enc::add(a0, a0, a3));
    a.word(enc::addi(t0, t0, 5));
    close_loop(a, loop, a.new_label());
    const std::array<uint64_t, 32> x = expect_alike(finish(a, setup));
    // Both loads find s1.
    constexpr uint64_t n = kIterations;
    EXPECT_EQ(x[a0], n * (n + 1));
}

TEST(TranslatorAccessGroups, StoresIntoAPageHoldingTranslatedCodeReachTheCode) {
    // Two stores off t3 each iteration: into a data page, and in two iterations over the
    // function the loop calls (on another page, translated by then), changing its
    // `addi a0, a0, 1` to `addi a0, a0, 100`, then to `addi a0, a0, 7`. The second time the
    // store TLB already holds the page (the first time's slow path filled it): only the page's
    // code flag sends the stores to the path that drops the translated function.
    constexpr int64_t kPatchAt = 1000;
    difftest::Setup setup;  // M-mode, no paging
    Assembler a(difftest::kCode);
    auto loop = a.new_label(), stores = a.new_label(), function = a.new_label();
    a.li(s1, kIterations);
    a.li(a0, 0);
    a.li(t4, static_cast<int32_t>(enc::addi(0, 0, 0)));
    a.bind(loop);
    a.li(t3, static_cast<int64_t>(difftest::kData));
    a.li(t6, kPatchAt);
    a.branch(4, t6, s1, stores);  // blt: s1 above kPatchAt
    a.li(t6, kPatchAt - 1);
    a.branch(4, s1, t6, stores);  // blt: s1 below kPatchAt - 1
    a.la(t3, function);
    a.li(t5, static_cast<int32_t>(enc::addi(a0, a0, 100)));
    a.li(t6, kPatchAt);
    a.branch(0, s1, t6, stores);  // beq
    a.li(t5, static_cast<int32_t>(enc::addi(a0, a0, 7)));
    a.bind(stores);
    a.word(enc::sw(t5, t3, 0));
    a.word(enc::sw(t4, t3, 4));
    close_loop(a, loop, function, {enc::addi(a0, a0, 1), enc::addi(0, 0, 0)});
    const std::array<uint64_t, 32> x = expect_alike(finish(a, setup));
    EXPECT_EQ(x[a0], static_cast<uint64_t>((kIterations - kPatchAt) + 100 + (kPatchAt - 1) * 7));
}

TEST(TranslatorTlb, TwoPagesOfOneSetUsedInTurnStayRight) {
    // The user view and the megapage's view of a data page are 64 K pages apart: one TLB set.
    // Each iteration stores through one view and loads through the other, then the reverse,
    // so the translated code finds one of them in each way in turn (and swaps them).
    difftest::Setup setup = user_setup();
    setup.mega = kDataRw | pte::U;
    const uint64_t user_view = difftest::view(setup, Priv::user, difftest::kData);
    const uint64_t mega_view = difftest::kMegaAlias + (difftest::kData - difftest::kRam);
    Assembler a(difftest::kCode);
    auto loop = a.new_label();
    a.li(s1, kIterations);
    a.li(a0, 0);
    a.li(a4, static_cast<int64_t>(user_view));
    a.li(a5, static_cast<int64_t>(mega_view));
    a.bind(loop);
    a.word(enc::sd(s1, a4, 0x100));
    a.word(enc::ld(a2, a5, 0x100));
    a.word(enc::addi(t0, s1, 7));
    a.word(enc::sd(t0, a5, 0x108));
    a.word(enc::ld(a3, a4, 0x108));
    a.word(enc::add(a0, a0, a2));
    a.word(enc::add(a0, a0, a3));
    close_loop(a, loop, a.new_label());
    const std::array<uint64_t, 32> x = expect_alike(finish(a, setup));
    constexpr uint64_t n = kIterations;
    EXPECT_EQ(x[a0], n * (n + 1) + 7 * n);
}

}  // namespace
}  // namespace vessel::riscv
