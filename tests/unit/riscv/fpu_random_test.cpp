// Randomized cross-check of the library (host-FPU path and software path) against the exact GMP
// reference, in all five rounding modes, over inputs biased toward the cases that go wrong:
// subnormals, the overflow threshold, sparse significands that make exact ties, and addends that
// nearly cancel a product.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

#include <fmt/format.h>

#include "fpu_operands.h"
#include "fpu_reference.h"
#include "vm/riscv/fpu.h"

namespace vessel::riscv::fp {
namespace {

namespace ref = reference;
using reference::Operands;

constexpr std::array kModes = {Rounding::rne, Rounding::rtz, Rounding::rdn, Rounding::rup,
                               Rounding::rmm};
// Per operation, format and mode. VESSEL_FPU_SOAK=<n> raises it for a long one-off soak run.
const int kIterations = [] {
    const char* soak = std::getenv("VESSEL_FPU_SOAK");
    return soak != nullptr ? std::atoi(soak) : 6000;
}();

std::string hex(uint64_t v) {
    return fmt::format("{:#x}", v);
}

struct Checker {
    int failures = 0;
    void check(const std::string& what, const ref::Result& expected, uint64_t bits,
               const uint32_t& flags) {  // by reference: read after the call computing bits
        if (expected == ref::Result{bits, flags} || ++failures > 10) return;
        ADD_FAILURE() << what << ": expected " << hex(expected.bits) << " flags "
                      << hex(expected.flags) << ", got " << hex(bits) << " flags " << hex(flags);
    }
};

std::string mode_name(Rounding rm) {
    static const char* names[] = {"rne", "rtz", "rdn", "rup", "rmm"};
    return names[static_cast<int>(rm)];
}

// How the second operand relates to the first.
enum class Partner { none, negation, factor_near_limits, divisor_near_limits };

using Binary32 = uint32_t (*)(uint32_t, uint32_t, Rounding, uint32_t&);
using Binary64 = uint64_t (*)(uint64_t, uint64_t, Rounding, uint32_t&);
using RefBinary = ref::Result (*)(const ref::Fmt&, uint64_t, uint64_t, Rounding);

void check_binary(const char* name, RefBinary reference, Binary32 pub_s, Binary32 soft_s,
                  Binary64 pub_d, Binary64 soft_d, Partner partner) {
    Checker checker;
    for (Rounding rm : kModes) {
        for (int which = 0; which < 2; ++which) {
            const ref::Fmt& f = which == 0 ? ref::kSingle : ref::kDouble;
            Operands gen(f, 1000 + static_cast<int>(rm) * 10 + which);
            for (int i = 0; i < kIterations; ++i) {
                uint64_t a = gen.next();
                uint64_t b = gen.next();
                if (partner == Partner::negation && gen.coin()) b = gen.near(a ^ f.sign_bit());
                if (partner != Partner::negation && partner != Partner::none && gen.coin())
                    b = gen.partner_near_limits(a, partner == Partner::divisor_near_limits);
                ref::Result expected = reference(f, a, b, rm);
                std::string what = fmt::format("{}_{}({}, {}) {}", name, which ? 'd' : 's', hex(a),
                                               hex(b), mode_name(rm));
                uint32_t flags = 0;
                uint32_t soft_flags = 0;
                if (which == 0) {
                    auto a32 = static_cast<uint32_t>(a);
                    auto b32 = static_cast<uint32_t>(b);
                    checker.check(what, expected, pub_s(a32, b32, rm, flags), flags);
                    checker.check("soft " + what, expected, soft_s(a32, b32, rm, soft_flags),
                                  soft_flags);
                } else {
                    checker.check(what, expected, pub_d(a, b, rm, flags), flags);
                    checker.check("soft " + what, expected, soft_d(a, b, rm, soft_flags),
                                  soft_flags);
                }
            }
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

TEST(RiscvFpuRandom, AddMatchesExactReference) {
    check_binary("add", ref::add, add_s, soft::add_s, add_d, soft::add_d, Partner::negation);
}

TEST(RiscvFpuRandom, SubMatchesExactReference) {
    auto ref_sub = [](const ref::Fmt& f, uint64_t a, uint64_t b, Rounding rm) {
        return ref::add(f, a, b ^ f.sign_bit(), rm);
    };
    auto soft_sub_s = [](uint32_t a, uint32_t b, Rounding rm, uint32_t& fl) {
        return soft::add_s(a, b ^ 0x80000000u, rm, fl);
    };
    auto soft_sub_d = [](uint64_t a, uint64_t b, Rounding rm, uint32_t& fl) {
        return soft::add_d(a, b ^ kSignD, rm, fl);
    };
    check_binary("sub", ref_sub, sub_s, soft_sub_s, sub_d, soft_sub_d, Partner::negation);
}

TEST(RiscvFpuRandom, MulMatchesExactReference) {
    check_binary("mul", ref::mul, mul_s, soft::mul_s, mul_d, soft::mul_d,
                 Partner::factor_near_limits);
}

TEST(RiscvFpuRandom, DivMatchesExactReference) {
    check_binary("div", ref::div, div_s, soft::div_s, div_d, soft::div_d,
                 Partner::divisor_near_limits);
}

TEST(RiscvFpuRandom, SqrtMatchesExactReference) {
    Checker checker;
    for (Rounding rm : kModes) {
        for (int which = 0; which < 2; ++which) {
            const ref::Fmt& f = which == 0 ? ref::kSingle : ref::kDouble;
            Operands gen(f, 2000 + static_cast<int>(rm) * 10 + which);
            for (int i = 0; i < kIterations; ++i) {
                uint64_t a = gen.next();
                ref::Result expected = ref::sqrt(f, a, rm);
                std::string what =
                    fmt::format("sqrt_{}({}) {}", which ? 'd' : 's', hex(a), mode_name(rm));
                uint32_t flags = 0;
                uint32_t soft_flags = 0;
                if (which == 0) {
                    auto a32 = static_cast<uint32_t>(a);
                    checker.check(what, expected, sqrt_s(a32, rm, flags), flags);
                    checker.check("soft " + what, expected, soft::sqrt_s(a32, rm, soft_flags),
                                  soft_flags);
                } else {
                    checker.check(what, expected, sqrt_d(a, rm, flags), flags);
                    checker.check("soft " + what, expected, soft::sqrt_d(a, rm, soft_flags),
                                  soft_flags);
                }
            }
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

TEST(RiscvFpuRandom, FusedMultiplyAddMatchesExactReference) {
    Checker checker;
    for (Rounding rm : kModes) {
        for (int which = 0; which < 2; ++which) {
            const ref::Fmt& f = which == 0 ? ref::kSingle : ref::kDouble;
            Operands gen(f, 3000 + static_cast<int>(rm) * 10 + which);
            for (int i = 0; i < kIterations; ++i) {
                uint64_t a = gen.next();
                uint64_t b = gen.next();
                uint64_t c = gen.next();
                if (gen.coin()) {
                    // An addend close to -a*b exercises massive cancellation.
                    ref::Result product = ref::mul(f, a, b, Rounding::rne);
                    c = gen.near(product.bits ^ f.sign_bit());
                }
                int variant = static_cast<int>(gen.bits() % 4);  // fmadd, fmsub, fnmsub, fnmadd
                uint64_t ra = variant >= 2 ? a ^ f.sign_bit() : a;
                uint64_t rc = variant == 1 || variant == 3 ? c ^ f.sign_bit() : c;
                ref::Result expected = ref::fma(f, ra, b, rc, rm);
                std::string what =
                    fmt::format("fma{}_{}({}, {}, {}) {}", variant, which ? 'd' : 's', hex(a),
                                hex(b), hex(c), mode_name(rm));
                uint32_t flags = 0;
                uint32_t soft_flags = 0;
                if (which == 0) {
                    using Fn = uint32_t (*)(uint32_t, uint32_t, uint32_t, Rounding, uint32_t&);
                    Fn fns[] = {fmadd_s, fmsub_s, fnmsub_s, fnmadd_s};
                    auto a32 = static_cast<uint32_t>(a);
                    auto b32 = static_cast<uint32_t>(b);
                    auto c32 = static_cast<uint32_t>(c);
                    checker.check(what, expected, fns[variant](a32, b32, c32, rm, flags), flags);
                    checker.check("soft " + what, expected,
                                  soft::fma_s(static_cast<uint32_t>(ra), b32,
                                              static_cast<uint32_t>(rc), rm, soft_flags),
                                  soft_flags);
                } else {
                    using Fn = uint64_t (*)(uint64_t, uint64_t, uint64_t, Rounding, uint32_t&);
                    Fn fns[] = {fmadd_d, fmsub_d, fnmsub_d, fnmadd_d};
                    checker.check(what, expected, fns[variant](a, b, c, rm, flags), flags);
                    checker.check("soft " + what, expected, soft::fma_d(ra, b, rc, rm, soft_flags),
                                  soft_flags);
                }
            }
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

TEST(RiscvFpuRandom, FloatConversionsMatchExactReference) {
    Checker checker;
    for (Rounding rm : kModes) {
        Operands gen_d(ref::kDouble, 4000 + static_cast<int>(rm));
        Operands gen_s(ref::kSingle, 4100 + static_cast<int>(rm));
        for (int i = 0; i < kIterations; ++i) {
            uint64_t d = gen_d.next();
            // Doubles near the single range limits, too.
            if (gen_d.coin()) {
                uint64_t field = 1023 - 150 + gen_d.bits() % 300;
                d = (d & 0x800fffffffffffffull) | (field << 52);
            }
            uint32_t flags = 0;
            uint32_t r = cvt_s_d(d, rm, flags);
            checker.check(fmt::format("cvt_s_d({}) {}", hex(d), mode_name(rm)),
                          ref::convert(ref::kSingle, ref::kDouble, d, rm), r, flags);
            auto s = static_cast<uint32_t>(gen_s.next());
            flags = 0;
            uint64_t w = cvt_d_s(s, flags);
            checker.check(fmt::format("cvt_d_s({})", hex(s)),
                          ref::convert(ref::kDouble, ref::kSingle, s, rm), w, flags);
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

TEST(RiscvFpuRandom, IntegerConversionsMatchExactReference) {
    Checker checker;
    for (Rounding rm : kModes) {
        for (int which = 0; which < 2; ++which) {
            const ref::Fmt& f = which == 0 ? ref::kSingle : ref::kDouble;
            Operands gen(f, 5000 + static_cast<int>(rm) * 10 + which);
            for (int i = 0; i < kIterations; ++i) {
                uint64_t a = gen.next();
                if (gen.coin()) {  // magnitudes from 2^-2 to 2^66 around the integer limits
                    uint64_t field = static_cast<uint64_t>(f.bias() - 2) + gen.bits() % 68;
                    a = (a & (f.sign_bit() | ((uint64_t{1} << (f.p - 1)) - 1))) |
                        (field << (f.p - 1));
                    if (gen.coin()) a &= ~((uint64_t{1} << (f.p - 1 - gen.bits() % (f.p - 1))) - 1);
                }
                std::string what =
                    fmt::format("cvt_{}({}) {}", which ? 'd' : 's', hex(a), mode_name(rm));
                uint32_t f1 = 0, f2 = 0, f3 = 0, f4 = 0;
                uint64_t w, wu, l, lu;
                if (which == 0) {
                    auto a32 = static_cast<uint32_t>(a);
                    w = static_cast<uint32_t>(cvt_w_s(a32, rm, f1));
                    wu = cvt_wu_s(a32, rm, f2);
                    l = static_cast<uint64_t>(cvt_l_s(a32, rm, f3));
                    lu = cvt_lu_s(a32, rm, f4);
                } else {
                    w = static_cast<uint32_t>(cvt_w_d(a, rm, f1));
                    wu = cvt_wu_d(a, rm, f2);
                    l = static_cast<uint64_t>(cvt_l_d(a, rm, f3));
                    lu = cvt_lu_d(a, rm, f4);
                }
                checker.check(what + " w", ref::to_int(f, a, 32, true, rm), w, f1);
                checker.check(what + " wu", ref::to_int(f, a, 32, false, rm), wu, f2);
                checker.check(what + " l", ref::to_int(f, a, 64, true, rm), l, f3);
                checker.check(what + " lu", ref::to_int(f, a, 64, false, rm), lu, f4);
            }
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

mpz_class mpz_of(uint64_t v, bool is_signed) {
    mpz_class z = static_cast<unsigned long>(v >> 32);
    z = (z << 32) + static_cast<unsigned long>(v & 0xffffffffu);
    if (is_signed && (v >> 63)) z -= mpz_class(1) << 64;
    return z;
}

TEST(RiscvFpuRandom, IntegerToFloatMatchesExactReference) {
    Checker checker;
    std::mt19937_64 rng(6000);
    for (Rounding rm : kModes) {
        for (int i = 0; i < kIterations; ++i) {
            // Values of every bit length, with sparse low bits so ties occur.
            uint64_t v = rng() >> (rng() % 64);
            if (rng() & 1) v &= ~((uint64_t{1} << (rng() % 40)) - 1);
            if (rng() & 1) v |= 1;
            auto v32 = static_cast<uint32_t>(v);
            std::string what = fmt::format("({}) {}", hex(v), mode_name(rm));
            uint32_t fl[8] = {};
            checker.check(
                "cvt_s_w" + what,
                ref::from_int(
                    ref::kSingle,
                    mpz_of(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v32))),
                           true),
                    rm),
                cvt_s_w(static_cast<int32_t>(v32), rm, fl[0]), fl[0]);
            checker.check("cvt_s_wu" + what, ref::from_int(ref::kSingle, mpz_of(v32, false), rm),
                          cvt_s_wu(v32, rm, fl[1]), fl[1]);
            checker.check("cvt_s_l" + what, ref::from_int(ref::kSingle, mpz_of(v, true), rm),
                          cvt_s_l(static_cast<int64_t>(v), rm, fl[2]), fl[2]);
            checker.check("cvt_s_lu" + what, ref::from_int(ref::kSingle, mpz_of(v, false), rm),
                          cvt_s_lu(v, rm, fl[3]), fl[3]);
            checker.check(
                "cvt_d_w" + what,
                ref::from_int(
                    ref::kDouble,
                    mpz_of(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v32))),
                           true),
                    rm),
                cvt_d_w(static_cast<int32_t>(v32), rm, fl[4]), fl[4]);
            checker.check("cvt_d_wu" + what, ref::from_int(ref::kDouble, mpz_of(v32, false), rm),
                          cvt_d_wu(v32, rm, fl[5]), fl[5]);
            checker.check("cvt_d_l" + what, ref::from_int(ref::kDouble, mpz_of(v, true), rm),
                          cvt_d_l(static_cast<int64_t>(v), rm, fl[6]), fl[6]);
            checker.check("cvt_d_lu" + what, ref::from_int(ref::kDouble, mpz_of(v, false), rm),
                          cvt_d_lu(v, rm, fl[7]), fl[7]);
        }
    }
    EXPECT_EQ(checker.failures, 0);
}

}  // namespace
}  // namespace vessel::riscv::fp
