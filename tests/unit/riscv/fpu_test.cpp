// Hand-picked vectors whose answers follow directly from IEEE 754-2008 and the RISC-V F/D
// chapters, each checked in every rounding mode with its exact fflags.
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "vm/riscv/fpu.h"

namespace vessel::riscv::fp {
namespace {

constexpr uint32_t NX = kFlagNX, UF = kFlagUF, OF = kFlagOF, DZ = kFlagDZ, NV = kFlagNV;
constexpr std::array kModes = {Rounding::rne, Rounding::rtz, Rounding::rdn, Rounding::rup,
                               Rounding::rmm};

uint32_t s(float v) {
    return std::bit_cast<uint32_t>(v);
}
uint64_t d(double v) {
    return std::bit_cast<uint64_t>(v);
}

constexpr uint32_t kSNanS = 0x7f800001u;
constexpr uint32_t kQNanPayloadS = 0x7fc12345u;
constexpr uint64_t kSNanD = 0x7ff0000000000001ull;
constexpr uint64_t kQNanPayloadD = 0xfff8000000012345ull;  // negative, with a payload

struct Expect {
    uint64_t bits;
    uint32_t flags;
};
using PerMode = std::array<Expect, 5>;  // rne, rtz, rdn, rup, rmm

// Runs `op` in every mode (for the arithmetic, once per implementation) and compares.
void expect_modes(const char* what, const std::function<uint64_t(Rounding, uint32_t&)>& op,
                  const PerMode& expected) {
    for (size_t i = 0; i < kModes.size(); ++i) {
        uint32_t flags = 0;
        uint64_t bits = op(kModes[i], flags);
        EXPECT_EQ(bits, expected[i].bits) << what << " mode " << i;
        EXPECT_EQ(flags, expected[i].flags) << what << " mode " << i;
    }
}

PerMode same(Expect e) {
    return {e, e, e, e, e};
}

using Bin32 = uint32_t (*)(uint32_t, uint32_t, Rounding, uint32_t&);
using Bin64 = uint64_t (*)(uint64_t, uint64_t, Rounding, uint32_t&);

void binary_s(const char* what, Bin32 pub, Bin32 soft_fn, uint32_t a, uint32_t b,
              const PerMode& e) {
    expect_modes(
        what, [&](Rounding rm, uint32_t& f) { return pub(a, b, rm, f); }, e);
    expect_modes(
        what, [&](Rounding rm, uint32_t& f) { return soft_fn(a, b, rm, f); }, e);
}
void binary_d(const char* what, Bin64 pub, Bin64 soft_fn, uint64_t a, uint64_t b,
              const PerMode& e) {
    expect_modes(
        what, [&](Rounding rm, uint32_t& f) { return pub(a, b, rm, f); }, e);
    expect_modes(
        what, [&](Rounding rm, uint32_t& f) { return soft_fn(a, b, rm, f); }, e);
}

TEST(RiscvFpu, TiesRoundPerMode) {
    // 1 + 2^-24 lies exactly between 1 and the next single 1 + 2^-23.
    binary_s("1 + 2^-24", add_s, soft::add_s, s(1.0f), s(0x1p-24f),
             {{{s(1.0f), NX}, {s(1.0f), NX}, {s(1.0f), NX}, {0x3f800001, NX}, {0x3f800001, NX}}});
    binary_s(
        "-1 - 2^-24", add_s, soft::add_s, s(-1.0f), s(-0x1p-24f),
        {{{s(-1.0f), NX}, {s(-1.0f), NX}, {0xbf800001, NX}, {s(-1.0f), NX}, {0xbf800001, NX}}});
    // From an odd significand the even neighbour is the larger one.
    binary_s("(1 + 2^-23) + 2^-24", add_s, soft::add_s, 0x3f800001, s(0x1p-24f),
             {{{0x3f800002, NX},
               {0x3f800001, NX},
               {0x3f800001, NX},
               {0x3f800002, NX},
               {0x3f800002, NX}}});
    binary_d("1 + 2^-53", add_d, soft::add_d, d(1.0), d(0x1p-53),
             {{{d(1.0), NX}, {d(1.0), NX}, {d(1.0), NX}, {d(1.0) + 1, NX}, {d(1.0) + 1, NX}}});
    // 3 * (2^23 + 3) = 25165833 needs 25 bits: a tie between 25165832 (even) and 25165834.
    binary_s("3 * (2^23+3)", mul_s, soft::mul_s, s(3.0f), s(8388611.0f),
             {{{s(25165832.0f), NX},
               {s(25165832.0f), NX},
               {s(25165832.0f), NX},
               {s(25165834.0f), NX},
               {s(25165834.0f), NX}}});
    // 3 * (2^52 + 3) = 3 * 2^52 + 9: a tie between ...496 (even) and ...498.
    binary_d("3 * (2^52+3)", mul_d, soft::mul_d, d(3.0), d(4503599627370499.0),
             {{{d(13510798882111496.0), NX},
               {d(13510798882111496.0), NX},
               {d(13510798882111496.0), NX},
               {d(13510798882111498.0), NX},
               {d(13510798882111498.0), NX}}});
    binary_d("-3 * (2^52+3)", mul_d, soft::mul_d, d(-3.0), d(4503599627370499.0),
             {{{d(-13510798882111496.0), NX},
               {d(-13510798882111496.0), NX},
               {d(-13510798882111498.0), NX},
               {d(-13510798882111496.0), NX},
               {d(-13510798882111498.0), NX}}});
}

TEST(RiscvFpu, ExactResultsRaiseNothing) {
    binary_s("1.5 + 2.25", add_s, soft::add_s, s(1.5f), s(2.25f), same({s(3.75f), 0}));
    binary_d("3 * 7", mul_d, soft::mul_d, d(3.0), d(7.0), same({d(21.0), 0}));
    binary_d("1 / 4", div_d, soft::div_d, d(1.0), d(4.0), same({d(0.25), 0}));
}

TEST(RiscvFpu, DivisionRoundsPerMode) {
    PerMode third{
        {{0x3eaaaaab, NX}, {0x3eaaaaaa, NX}, {0x3eaaaaaa, NX}, {0x3eaaaaab, NX}, {0x3eaaaaab, NX}}};
    binary_s("1/3", div_s, soft::div_s, s(1.0f), s(3.0f), third);
    binary_d("1/3", div_d, soft::div_d, d(1.0), d(3.0),
             {{{0x3fd5555555555555, NX},
               {0x3fd5555555555555, NX},
               {0x3fd5555555555555, NX},
               {0x3fd5555555555556, NX},
               {0x3fd5555555555555, NX}}});
}

TEST(RiscvFpu, OverflowGivesInfinityOrLargestFinitePerMode) {
    constexpr uint32_t kMax = 0x7f7fffff, kInf = 0x7f800000;
    binary_s(
        "max * 2", mul_s, soft::mul_s, kMax, s(2.0f),
        {{{kInf, OF | NX}, {kMax, OF | NX}, {kMax, OF | NX}, {kInf, OF | NX}, {kInf, OF | NX}}});
    binary_s("-max * 2", mul_s, soft::mul_s, kMax | 0x80000000u, s(2.0f),
             {{{kInf | 0x80000000u, OF | NX},
               {kMax | 0x80000000u, OF | NX},
               {kInf | 0x80000000u, OF | NX},
               {kMax | 0x80000000u, OF | NX},
               {kInf | 0x80000000u, OF | NX}}});
    // max + half an ulp (2^103) is a tie that rne and rmm round up, out of range; rounding toward
    // zero gives max, which is no overflow at all.
    binary_s("max + ulp/2", add_s, soft::add_s, kMax, s(0x1p103f),
             {{{kInf, OF | NX}, {kMax, NX}, {kMax, NX}, {kInf, OF | NX}, {kInf, OF | NX}}});
    binary_s("max + ulp/4", add_s, soft::add_s, kMax, s(0x1p102f),
             {{{kMax, NX}, {kMax, NX}, {kMax, NX}, {kInf, OF | NX}, {kMax, NX}}});
    constexpr uint64_t kMaxD = 0x7fefffffffffffff, kInfD = 0x7ff0000000000000;
    binary_d("max * 2", mul_d, soft::mul_d, kMaxD, d(2.0),
             {{{kInfD, OF | NX},
               {kMaxD, OF | NX},
               {kMaxD, OF | NX},
               {kInfD, OF | NX},
               {kInfD, OF | NX}}});
}

TEST(RiscvFpu, UnderflowAndSubnormals) {
    // Exact subnormal results raise nothing.
    binary_s("min_normal / 2", mul_s, soft::mul_s, 0x00800000, s(0.5f), same({0x00400000, 0}));
    // 2^-127 + 2^-150: a tie on the subnormal grid.
    binary_s("(min_normal + ulp) / 2", mul_s, soft::mul_s, 0x00800001, s(0.5f),
             {{{0x00400000, UF | NX},
               {0x00400000, UF | NX},
               {0x00400000, UF | NX},
               {0x00400001, UF | NX},
               {0x00400001, UF | NX}}});
    // Half the smallest subnormal: rounds to zero or to the smallest subnormal.
    binary_s("min_sub / 2", mul_s, soft::mul_s, 0x00000001, s(0.5f),
             {{{0, UF | NX}, {0, UF | NX}, {0, UF | NX}, {1, UF | NX}, {1, UF | NX}}});
    binary_s("-min_sub / 2", mul_s, soft::mul_s, 0x80000001, s(0.5f),
             {{{0x80000000, UF | NX},
               {0x80000000, UF | NX},
               {0x80000001, UF | NX},
               {0x80000000, UF | NX},
               {0x80000001, UF | NX}}});
    // Division ties exist only on the subnormal grid: 5 * 2^-149 / 2 = 2.5 * 2^-149.
    binary_s("5 min_sub / 2", div_s, soft::div_s, 0x00000005, s(2.0f),
             {{{2, UF | NX}, {2, UF | NX}, {2, UF | NX}, {3, UF | NX}, {3, UF | NX}}});
}

TEST(RiscvFpu, TininessIsDetectedAfterRounding) {
    // (1 - 2^-24) * 2^-126 is exact at 24 bits, so it is tiny even when it rounds up to the
    // smallest normal: UF whenever the result is inexact.
    binary_s("(1-2^-24) * min_normal", mul_s, soft::mul_s, s(0x1.fffffep-1f), 0x00800000,
             {{{0x00800000, UF | NX},
               {0x007fffff, UF | NX},
               {0x007fffff, UF | NX},
               {0x00800000, UF | NX},
               {0x00800000, UF | NX}}});
    // 2^-126 * (1 - 2^-46) rounds to 2^-126 at full precision (rne, rup, rmm): not tiny after
    // rounding, so no UF; truncating modes leave it below 2^-126: tiny.
    binary_s("(1-2^-23) * (min_normal + ulp)", mul_s, soft::mul_s, s(0x1.fffffcp-1f), 0x00800001,
             {{{0x00800000, NX},
               {0x007fffff, UF | NX},
               {0x007fffff, UF | NX},
               {0x00800000, NX},
               {0x00800000, NX}}});
    binary_d("(1-2^-53) * min_normal", mul_d, soft::mul_d, d(0x1.fffffffffffffp-1),
             0x0010000000000000,
             {{{0x0010000000000000, UF | NX},
               {0x000fffffffffffff, UF | NX},
               {0x000fffffffffffff, UF | NX},
               {0x0010000000000000, UF | NX},
               {0x0010000000000000, UF | NX}}});
    binary_d("(1-2^-52) * (min_normal + ulp)", mul_d, soft::mul_d, d(0x1.ffffffffffffep-1),
             0x0010000000000001,
             {{{0x0010000000000000, NX},
               {0x000fffffffffffff, UF | NX},
               {0x000fffffffffffff, UF | NX},
               {0x0010000000000000, NX},
               {0x0010000000000000, NX}}});
}

TEST(RiscvFpu, SignedZeros) {
    // x - x is +0 except when rounding down.
    PerMode zero{{{0, 0}, {0, 0}, {0x80000000, 0}, {0, 0}, {0, 0}}};
    expect_modes(
        "x - x", [](Rounding rm, uint32_t& f) { return sub_s(s(1.5f), s(1.5f), rm, f); }, zero);
    binary_s("+0 + -0", add_s, soft::add_s, 0, 0x80000000, zero);
    binary_s("-0 + -0", add_s, soft::add_s, 0x80000000, 0x80000000, same({0x80000000, 0}));
    binary_d("-0 * 5", mul_d, soft::mul_d, d(-0.0), d(5.0), same({d(-0.0), 0}));
    binary_d("1 / -inf", div_d, soft::div_d, d(1.0), d(-INFINITY), same({d(-0.0), 0}));
    uint32_t flags = 0;
    EXPECT_EQ(sub_d(d(2.0), d(2.0), Rounding::rdn, flags), d(-0.0));
    EXPECT_EQ(flags, 0u);
}

TEST(RiscvFpu, NaNResultsAreCanonical) {
    binary_s("qnan + 1", add_s, soft::add_s, kQNanPayloadS, s(1.0f), same({kCanonicalNanS, 0}));
    binary_s("-qnan * 1", mul_s, soft::mul_s, 0xffc00000, s(1.0f), same({kCanonicalNanS, 0}));
    binary_s("snan + 1", add_s, soft::add_s, kSNanS, s(1.0f), same({kCanonicalNanS, NV}));
    binary_s("inf - inf", add_s, soft::add_s, s(INFINITY), s(-INFINITY),
             same({kCanonicalNanS, NV}));
    binary_s("inf * 0", mul_s, soft::mul_s, s(INFINITY), 0, same({kCanonicalNanS, NV}));
    binary_d("qnan / 1", div_d, soft::div_d, kQNanPayloadD, d(1.0), same({kCanonicalNanD, 0}));
    binary_d("1 * snan", mul_d, soft::mul_d, d(1.0), kSNanD, same({kCanonicalNanD, NV}));
    binary_d("0 / 0", div_d, soft::div_d, 0, 0, same({kCanonicalNanD, NV}));
    binary_d("inf / inf", div_d, soft::div_d, d(INFINITY), d(-INFINITY),
             same({kCanonicalNanD, NV}));
}

TEST(RiscvFpu, DivisionByZero) {
    binary_s("1 / +0", div_s, soft::div_s, s(1.0f), 0, same({0x7f800000, DZ}));
    binary_s("-1 / +0", div_s, soft::div_s, s(-1.0f), 0, same({0xff800000, DZ}));
    binary_d("1 / -0", div_d, soft::div_d, d(1.0), d(-0.0), same({d(-INFINITY), DZ}));
    binary_d("inf / 0", div_d, soft::div_d, d(INFINITY), 0, same({d(INFINITY), 0}));
}

TEST(RiscvFpu, SquareRoot) {
    using Un32 = uint32_t (*)(uint32_t, Rounding, uint32_t&);
    using Un64 = uint64_t (*)(uint64_t, Rounding, uint32_t&);
    for (auto [fn, name] : {std::pair<Un32, const char*>{sqrt_s, "pub"}, {soft::sqrt_s, "soft"}}) {
        auto run = [fn](uint32_t a) {
            return [fn, a](Rounding rm, uint32_t& f) { return fn(a, rm, f); };
        };
        expect_modes(name, run(s(4.0f)), same({s(2.0f), 0}));
        expect_modes(name, run(s(2.0f)),
                     {{{0x3fb504f3, NX},
                       {0x3fb504f3, NX},
                       {0x3fb504f3, NX},
                       {0x3fb504f4, NX},
                       {0x3fb504f3, NX}}});
        expect_modes(name, run(s(-1.0f)), same({kCanonicalNanS, NV}));
        expect_modes(name, run(s(-INFINITY)), same({kCanonicalNanS, NV}));
        expect_modes(name, run(0x80000000), same({0x80000000, 0}));
        expect_modes(name, run(s(INFINITY)), same({0x7f800000, 0}));
        expect_modes(name, run(kSNanS), same({kCanonicalNanS, NV}));
        expect_modes(name, run(0xffc00000), same({kCanonicalNanS, 0}));
        expect_modes(name, run(0x00000002), same({s(0x1p-74f), 0}));  // sqrt(2^-148)
    }
    for (Un64 fn : {Un64{sqrt_d}, Un64{soft::sqrt_d}}) {
        expect_modes("sqrt_d(2)", [fn](Rounding rm, uint32_t& f) { return fn(d(2.0), rm, f); },
                     {{{0x3ff6a09e667f3bcd, NX},
                       {0x3ff6a09e667f3bcc, NX},
                       {0x3ff6a09e667f3bcc, NX},
                       {0x3ff6a09e667f3bcd, NX},
                       {0x3ff6a09e667f3bcd, NX}}});
        expect_modes(
            "sqrt_d(-min_sub)", [fn](Rounding rm, uint32_t& f) { return fn(kSignD | 1, rm, f); },
            same({kCanonicalNanD, NV}));
    }
}

TEST(RiscvFpu, FusedMultiplyAddRoundsOnce) {
    // (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 exactly; rounding the product first would give 0.
    for (Rounding rm : kModes) {
        uint32_t f = 0;
        EXPECT_EQ(fmadd_s(0x3f800001, 0x3f7ffffe, s(-1.0f), rm, f), s(-0x1p-46f));
        EXPECT_EQ(soft::fma_s(0x3f800001, 0x3f7ffffe, s(-1.0f), rm, f), s(-0x1p-46f));
        EXPECT_EQ(fmsub_d(d(1.0 + 0x1p-52), d(1.0 - 0x1p-52), d(1.0), rm, f), d(-0x1p-104));
        EXPECT_EQ(f, 0u);
    }
    // 1 * 1 + 2^-24: a tie resolved once, per mode.
    expect_modes(
        "1*1 + 2^-24",
        [](Rounding rm, uint32_t& f) { return fmadd_s(s(1.0f), s(1.0f), s(0x1p-24f), rm, f); },
        {{{s(1.0f), NX}, {s(1.0f), NX}, {s(1.0f), NX}, {0x3f800001, NX}, {0x3f800001, NX}}});
}

TEST(RiscvFpu, FusedVariantsNegateOperands) {
    for (Rounding rm : kModes) {
        uint32_t f = 0;
        EXPECT_EQ(fmadd_s(s(2.0f), s(3.0f), s(1.0f), rm, f), s(7.0f));
        EXPECT_EQ(fmsub_s(s(2.0f), s(3.0f), s(1.0f), rm, f), s(5.0f));
        EXPECT_EQ(fnmsub_s(s(2.0f), s(3.0f), s(1.0f), rm, f), s(-5.0f));
        EXPECT_EQ(fnmadd_s(s(2.0f), s(3.0f), s(1.0f), rm, f), s(-7.0f));
        EXPECT_EQ(fmadd_d(d(2.0), d(3.0), d(1.0), rm, f), d(7.0));
        EXPECT_EQ(fmsub_d(d(2.0), d(3.0), d(1.0), rm, f), d(5.0));
        EXPECT_EQ(fnmsub_d(d(2.0), d(3.0), d(1.0), rm, f), d(-5.0));
        EXPECT_EQ(fnmadd_d(d(2.0), d(3.0), d(1.0), rm, f), d(-7.0));
        EXPECT_EQ(f, 0u);
    }
    // FNMADD is (-a)*b - c: with a*b = +0 and c = -0 that is -0 + +0, which is +0 unless rdn.
    expect_modes("fnmadd(+0, 1, -0)",
                 [](Rounding rm, uint32_t& f) { return fnmadd_d(0, d(1.0), d(-0.0), rm, f); },
                 {{{0, 0}, {0, 0}, {d(-0.0), 0}, {0, 0}, {0, 0}}});
    expect_modes(
        "fmadd(1, 1, -1)",
        [](Rounding rm, uint32_t& f) { return fmadd_s(s(1.0f), s(1.0f), s(-1.0f), rm, f); },
        {{{0, 0}, {0, 0}, {0x80000000, 0}, {0, 0}, {0, 0}}});
}

TEST(RiscvFpu, FusedMultiplyAddSpecialCases) {
    for (Rounding rm : kModes) {
        uint32_t f = 0;
        // inf * 0 is invalid even with a quiet NaN addend (spec 11.6).
        EXPECT_EQ(fmadd_s(s(INFINITY), 0, kCanonicalNanS, rm, f), kCanonicalNanS);
        EXPECT_EQ(f, NV);
        f = 0;
        EXPECT_EQ(fmadd_d(0, d(-INFINITY), kQNanPayloadD, rm, f), kCanonicalNanD);
        EXPECT_EQ(f, NV);
        f = 0;
        EXPECT_EQ(fmadd_d(d(1.0), d(2.0), kQNanPayloadD, rm, f), kCanonicalNanD);
        EXPECT_EQ(f, 0u);
        EXPECT_EQ(fmadd_d(d(INFINITY), d(2.0), d(-INFINITY), rm, f), kCanonicalNanD);
        EXPECT_EQ(f, NV);
        f = 0;
        EXPECT_EQ(fmadd_s(s(INFINITY), s(2.0f), s(INFINITY), rm, f), 0x7f800000u);
        EXPECT_EQ(fmadd_s(s(3.0f), s(2.0f), s(-INFINITY), rm, f), 0xff800000u);
        EXPECT_EQ(f, 0u);
    }
    // Overflow inside the product is not an overflow if the addend brings it back: exact.
    uint32_t f = 0;
    EXPECT_EQ(fmadd_d(0x7fefffffffffffff, d(2.0), d(-INFINITY), Rounding::rne, f), d(-INFINITY));
    EXPECT_EQ(fmadd_d(0x7fefffffffffffff, d(2.0), 0xffefffffffffffff, Rounding::rne, f),
              0x7fefffffffffffffull);
    EXPECT_EQ(f, 0u);
}

TEST(RiscvFpu, MinMaxUseMinimumNumberSemantics) {
    uint32_t f = 0;
    EXPECT_EQ(min_s(0x80000000, 0, f), 0x80000000u);
    EXPECT_EQ(min_s(0, 0x80000000, f), 0x80000000u);
    EXPECT_EQ(max_s(0x80000000, 0, f), 0u);
    EXPECT_EQ(max_d(0, kSignD, f), 0u);
    EXPECT_EQ(min_d(0, kSignD, f), kSignD);
    EXPECT_EQ(min_s(s(1.0f), s(2.0f), f), s(1.0f));
    EXPECT_EQ(max_s(s(-1.0f), s(-2.0f), f), s(-1.0f));
    EXPECT_EQ(min_d(d(-INFINITY), d(3.0), f), d(-INFINITY));
    EXPECT_EQ(min_s(kQNanPayloadS, s(1.0f), f), s(1.0f));  // one quiet NaN is ignored
    EXPECT_EQ(max_d(d(1.0), kQNanPayloadD, f), d(1.0));
    EXPECT_EQ(min_s(kQNanPayloadS, kQNanPayloadS, f), kCanonicalNanS);
    EXPECT_EQ(f, 0u);
    EXPECT_EQ(min_s(kSNanS, s(1.0f), f), s(1.0f));  // a signaling NaN is ignored but raises NV
    EXPECT_EQ(f, NV);
    f = 0;
    EXPECT_EQ(max_d(kSNanD, kQNanPayloadD, f), kCanonicalNanD);
    EXPECT_EQ(f, NV);
}

TEST(RiscvFpu, ComparisonsQuietAndSignaling) {
    uint32_t f = 0;
    EXPECT_TRUE(eq_s(0x80000000, 0, f));
    EXPECT_FALSE(lt_s(0x80000000, 0, f));
    EXPECT_TRUE(le_d(kSignD, 0, f));
    EXPECT_TRUE(lt_s(s(-2.0f), s(-1.0f), f));
    EXPECT_TRUE(lt_d(d(-INFINITY), d(-1e308), f));
    EXPECT_FALSE(le_d(d(2.0), d(1.0), f));
    EXPECT_FALSE(eq_s(kQNanPayloadS, kQNanPayloadS, f));  // FEQ is quiet for quiet NaNs
    EXPECT_EQ(f, 0u);
    EXPECT_FALSE(eq_d(kSNanD, d(1.0), f));
    EXPECT_EQ(f, NV);
    f = 0;
    EXPECT_FALSE(lt_s(kQNanPayloadS, s(1.0f), f));  // FLT and FLE signal on any NaN
    EXPECT_EQ(f, NV);
    f = 0;
    EXPECT_FALSE(le_d(d(1.0), kQNanPayloadD, f));
    EXPECT_EQ(f, NV);
}

TEST(RiscvFpu, ClassifyAllTenClasses) {
    uint32_t singles[10] = {0xff800000, s(-1.0f), 0x80000001, 0x80000000, 0,
                            0x00000001, s(1.0f),  0x7f800000, kSNanS,     kQNanPayloadS};
    uint64_t doubles[10] = {d(-INFINITY), d(-1.0),     kSignD | 1, kSignD,       0, 1,
                            d(1.0),       d(INFINITY), kSNanD,     kQNanPayloadD};
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(classify_s(singles[i]), 1u << i) << i;
        EXPECT_EQ(classify_d(doubles[i]), 1u << i) << i;
    }
    EXPECT_EQ(classify_s(0x7fffffff), kClassQuietNan);
    EXPECT_EQ(classify_d(0x000fffffffffffff), kClassPosSubnormal);
    EXPECT_EQ(classify_d(0x0010000000000000), kClassPosNormal);
}

template <class T>
uint64_t u(T v) {
    return static_cast<uint64_t>(v);
}

TEST(RiscvFpu, FloatToIntegerRoundsPerMode) {
    expect_modes("w(2.5)", [](Rounding rm, uint32_t& f) { return u(cvt_w_s(s(2.5f), rm, f)); },
                 {{{2, NX}, {2, NX}, {2, NX}, {3, NX}, {3, NX}}});
    expect_modes("w(-2.5)", [](Rounding rm, uint32_t& f) { return u(cvt_w_d(d(-2.5), rm, f)); },
                 {{{u(-2), NX}, {u(-2), NX}, {u(-3), NX}, {u(-2), NX}, {u(-3), NX}}});
    expect_modes("l(-0.5)", [](Rounding rm, uint32_t& f) { return u(cvt_l_d(d(-0.5), rm, f)); },
                 {{{0, NX}, {0, NX}, {u(-1), NX}, {0, NX}, {u(-1), NX}}});
    // Unsigned: -0.5 rounds to 0 (valid, inexact) or to -1 (invalid, clamps to 0).
    expect_modes("wu(-0.5)", [](Rounding rm, uint32_t& f) { return u(cvt_wu_s(s(-0.5f), rm, f)); },
                 {{{0, NX}, {0, NX}, {0, NV}, {0, NX}, {0, NV}}});
    // 2^31 - 0.5: a tie whose upper neighbour is out of range.
    expect_modes("w(2^31-0.5)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_w_d(d(2147483647.5), rm, f)); },
                 {{{0x7fffffff, NV},
                   {0x7fffffff, NX},
                   {0x7fffffff, NX},
                   {0x7fffffff, NV},
                   {0x7fffffff, NV}}});
    expect_modes("w(-2^31-0.5)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_w_d(d(-2147483648.5), rm, f)); },
                 {{{u(INT32_MIN), NX},
                   {u(INT32_MIN), NX},
                   {u(INT32_MIN), NV},
                   {u(INT32_MIN), NX},
                   {u(INT32_MIN), NV}}});
}

TEST(RiscvFpu, FloatToIntegerBoundariesSaturate) {
    struct Case {
        uint64_t got;
        uint32_t flags;
        uint64_t want;
        uint32_t want_flags;
    };
    auto run = [](auto fn, auto a) {
        uint32_t f = 0;
        uint64_t r = u(fn(a, Rounding::rtz, f));
        return std::pair{r, f};
    };
    auto check = [](std::pair<uint64_t, uint32_t> got, uint64_t want, uint32_t want_flags,
                    const char* what) {
        EXPECT_EQ(got.first, want) << what;
        EXPECT_EQ(got.second, want_flags) << what;
    };
    check(run(cvt_w_s, s(0x1p31f)), INT32_MAX, NV, "w(2^31)");
    check(run(cvt_w_s, s(-0x1p31f)), u(INT32_MIN), 0, "w(-2^31)");
    check(run(cvt_w_s, s(2147483520.0f)), 2147483520, 0, "w(largest below 2^31)");
    check(run(cvt_w_s, kCanonicalNanS), INT32_MAX, NV, "w(NaN)");
    check(run(cvt_w_s, 0xffc00000), INT32_MAX, NV, "w(-NaN)");
    check(run(cvt_w_s, s(INFINITY)), INT32_MAX, NV, "w(inf)");
    check(run(cvt_w_s, s(-INFINITY)), u(INT32_MIN), NV, "w(-inf)");
    check(run(cvt_w_d, d(-2147483649.0)), u(INT32_MIN), NV, "w(-2^31-1)");
    check(run(cvt_w_d, d(2147483647.0)), INT32_MAX, 0, "w(2^31-1)");
    check(run(cvt_wu_s, s(-1.0f)), 0, NV, "wu(-1)");
    check(run(cvt_wu_s, s(0x1p32f)), UINT32_MAX, NV, "wu(2^32)");
    check(run(cvt_wu_d, d(4294967295.0)), UINT32_MAX, 0, "wu(2^32-1)");
    check(run(cvt_wu_s, kCanonicalNanS), UINT32_MAX, NV, "wu(NaN)");
    check(run(cvt_wu_d, d(-INFINITY)), 0, NV, "wu(-inf)");
    check(run(cvt_wu_d, d(-0.0)), 0, 0, "wu(-0)");
    check(run(cvt_l_d, d(0x1p63)), INT64_MAX, NV, "l(2^63)");
    check(run(cvt_l_d, d(-0x1p63)), u(INT64_MIN), 0, "l(-2^63)");
    check(run(cvt_l_d, d(0x1.fffffffffffffp62)), 0x7ffffffffffffc00, 0, "l(largest below 2^63)");
    check(run(cvt_l_s, s(-0x1p64f)), u(INT64_MIN), NV, "l(-2^64)");
    check(run(cvt_l_d, kSNanD), INT64_MAX, NV, "l(sNaN)");
    check(run(cvt_lu_d, d(0x1p64)), UINT64_MAX, NV, "lu(2^64)");
    check(run(cvt_lu_d, d(0x1.fffffffffffffp63)), 0xfffffffffffff800, 0, "lu(largest below 2^64)");
    check(run(cvt_lu_s, s(-0.75f)), 0, NX, "lu(-0.75)");
    check(run(cvt_lu_d, d(-1.0)), 0, NV, "lu(-1)");
    check(run(cvt_lu_d, kCanonicalNanD), UINT64_MAX, NV, "lu(NaN)");
    check(run(cvt_lu_s, s(INFINITY)), UINT64_MAX, NV, "lu(inf)");
    check(run(cvt_l_d, d(0x1p-1074)), 0, NX, "l(min_sub)");
}

TEST(RiscvFpu, IntegerToFloatRoundsPerMode) {
    // 2^24 + 1 is a tie at single precision.
    expect_modes("s_w(2^24+1)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_s_w(16777217, rm, f)); },
                 {{{s(16777216.0f), NX},
                   {s(16777216.0f), NX},
                   {s(16777216.0f), NX},
                   {s(16777218.0f), NX},
                   {s(16777218.0f), NX}}});
    expect_modes("s_w(-2^24-1)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_s_w(-16777217, rm, f)); },
                 {{{s(-16777216.0f), NX},
                   {s(-16777216.0f), NX},
                   {s(-16777218.0f), NX},
                   {s(-16777216.0f), NX},
                   {s(-16777218.0f), NX}}});
    expect_modes("s_lu(max)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_s_lu(UINT64_MAX, rm, f)); },
                 {{{s(0x1p64f), NX},
                   {0x5f7fffff, NX},
                   {0x5f7fffff, NX},
                   {s(0x1p64f), NX},
                   {s(0x1p64f), NX}}});
    expect_modes("d_l(2^53+1)",
                 [](Rounding rm, uint32_t& f) { return cvt_d_l((1ll << 53) + 1, rm, f); },
                 {{{d(0x1p53), NX},
                   {d(0x1p53), NX},
                   {d(0x1p53), NX},
                   {d(0x1p53) + 1, NX},
                   {d(0x1p53) + 1, NX}}});
    expect_modes("d_lu(max)", [](Rounding rm, uint32_t& f) { return cvt_d_lu(UINT64_MAX, rm, f); },
                 {{{d(0x1p64), NX},
                   {0x43efffffffffffff, NX},
                   {0x43efffffffffffff, NX},
                   {d(0x1p64), NX},
                   {d(0x1p64), NX}}});
    expect_modes(
        "s_l(min)", [](Rounding rm, uint32_t& f) { return u(cvt_s_l(INT64_MIN, rm, f)); },
        same({s(-0x1p63f), 0}));
    expect_modes(
        "d_w(min)", [](Rounding rm, uint32_t& f) { return cvt_d_w(INT32_MIN, rm, f); },
        same({d(-2147483648.0), 0}));
    expect_modes(
        "d_wu(max)", [](Rounding rm, uint32_t& f) { return cvt_d_wu(UINT32_MAX, rm, f); },
        same({d(4294967295.0), 0}));
    expect_modes(
        "s_wu(0)", [](Rounding rm, uint32_t& f) { return u(cvt_s_wu(0, rm, f)); }, same({0, 0}));
}

TEST(RiscvFpu, FloatToFloatConversions) {
    expect_modes(
        "s_d(1 + 2^-24)",
        [](Rounding rm, uint32_t& f) { return u(cvt_s_d(d(1.0 + 0x1p-24), rm, f)); },
        {{{s(1.0f), NX}, {s(1.0f), NX}, {s(1.0f), NX}, {0x3f800001, NX}, {0x3f800001, NX}}});
    expect_modes("s_d(dbl max)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_s_d(0x7fefffffffffffff, rm, f)); },
                 {{{0x7f800000, OF | NX},
                   {0x7f7fffff, OF | NX},
                   {0x7f7fffff, OF | NX},
                   {0x7f800000, OF | NX},
                   {0x7f800000, OF | NX}}});
    expect_modes(
        "s_d(2^-149)", [](Rounding rm, uint32_t& f) { return u(cvt_s_d(d(0x1p-149), rm, f)); },
        same({1, 0}));
    expect_modes("s_d(2^-150)",
                 [](Rounding rm, uint32_t& f) { return u(cvt_s_d(d(0x1p-150), rm, f)); },
                 {{{0, UF | NX}, {0, UF | NX}, {0, UF | NX}, {1, UF | NX}, {1, UF | NX}}});
    expect_modes(
        "s_d(sNaN)", [](Rounding rm, uint32_t& f) { return u(cvt_s_d(kSNanD, rm, f)); },
        same({kCanonicalNanS, NV}));
    expect_modes(
        "s_d(qNaN)", [](Rounding rm, uint32_t& f) { return u(cvt_s_d(kQNanPayloadD, rm, f)); },
        same({kCanonicalNanS, 0}));
    expect_modes(
        "s_d(-0)", [](Rounding rm, uint32_t& f) { return u(cvt_s_d(kSignD, rm, f)); },
        same({0x80000000, 0}));
    uint32_t f = 0;
    EXPECT_EQ(cvt_d_s(0x00000001, f), d(0x1p-149));
    EXPECT_EQ(cvt_d_s(s(-INFINITY), f), d(-INFINITY));
    EXPECT_EQ(cvt_d_s(kQNanPayloadS, f), kCanonicalNanD);
    EXPECT_EQ(cvt_d_s(s(0.1f), f), d(static_cast<double>(0.1f)));
    EXPECT_EQ(f, 0u);
    EXPECT_EQ(cvt_d_s(kSNanS, f), kCanonicalNanD);
    EXPECT_EQ(f, NV);
}

TEST(RiscvFpu, NanBoxing) {
    EXPECT_EQ(box_s(0x3f800000), 0xffffffff3f800000ull);
    EXPECT_EQ(unbox_s(box_s(0x3f800000)), 0x3f800000u);
    EXPECT_EQ(unbox_s(box_s(kSNanS)), kSNanS);
    EXPECT_EQ(unbox_s(0x000000003f800000ull), kCanonicalNanS);
    EXPECT_EQ(unbox_s(0xfffffffe3f800000ull), kCanonicalNanS);
    EXPECT_EQ(unbox_s(d(1.0)), kCanonicalNanS);
}

TEST(RiscvFpu, SignInjection) {
    EXPECT_EQ(sgnj_s(s(1.0f), s(-2.0f)), s(-1.0f));
    EXPECT_EQ(sgnjn_s(s(1.0f), s(-2.0f)), s(1.0f));
    EXPECT_EQ(sgnjx_s(s(-1.0f), s(-2.0f)), s(1.0f));
    EXPECT_EQ(sgnj_d(kSNanD, d(-1.0)), kSNanD | kSignD);  // no canonicalisation: bit operations
    EXPECT_EQ(sgnjn_d(d(3.0), d(3.0)), d(-3.0));
    EXPECT_EQ(sgnjx_d(d(-3.0), d(3.0)), d(-3.0));
}

TEST(RiscvFpu, RoundingModeEncodings) {
    EXPECT_TRUE(is_valid_rounding(4));
    EXPECT_FALSE(is_valid_rounding(5));
    EXPECT_FALSE(is_valid_rounding(6));
    EXPECT_FALSE(is_valid_rounding(kRoundingDynamic));
    EXPECT_EQ(resolve_rounding(1, 0), Rounding::rtz);
    EXPECT_EQ(resolve_rounding(4, 7), Rounding::rmm);  // a static mode ignores frm
    EXPECT_EQ(resolve_rounding(kRoundingDynamic, 3), Rounding::rup);
    EXPECT_EQ(resolve_rounding(kRoundingDynamic, 4), Rounding::rmm);
    EXPECT_EQ(resolve_rounding(5, 0), std::nullopt);
    EXPECT_EQ(resolve_rounding(6, 0), std::nullopt);
    EXPECT_EQ(resolve_rounding(kRoundingDynamic, 5), std::nullopt);
    EXPECT_EQ(resolve_rounding(kRoundingDynamic, 7), std::nullopt);
}

TEST(RiscvFpu, HostRoundingStateIsRestored) {
    // The host path switches MXCSR per operation; host code after it must still round to nearest.
    uint32_t f = 0;
    (void)add_d(d(1.0), d(0x1p-53), Rounding::rup, f);
    volatile double one = 1.0;
    volatile double tiny = 0x1p-53;
    EXPECT_EQ(one + tiny, 1.0);
    volatile double neg = -1.0;
    (void)mul_s(s(1.0f), s(3.0f), Rounding::rdn, f);
    EXPECT_EQ(neg - tiny, -1.0);
}

}  // namespace
}  // namespace vessel::riscv::fp
