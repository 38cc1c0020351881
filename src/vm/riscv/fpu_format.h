// Private to the fpu_*.cpp files: the two IEEE-754 binary formats as compile-time traits, so each
// algorithm is written once for single and double precision.
#pragma once

#include <cstdint>

namespace vessel::riscv::fp {

template <class BitsT, int Precision, int ExponentBits>
struct Format {
    using Bits = BitsT;
    static constexpr int p = Precision;  // significand bits including the implicit one
    static constexpr int kWidth = sizeof(Bits) * 8;
    static constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
    static constexpr int kExpMax = (1 << ExponentBits) - 1;  // the all-ones exponent field
    static constexpr Bits kSign = Bits{1} << (kWidth - 1);
    static constexpr Bits kFracMask = (Bits{1} << (p - 1)) - 1;
    static constexpr Bits kInf = static_cast<Bits>(kExpMax) << (p - 1);
    static constexpr Bits kQuiet = Bits{1} << (p - 2);
    static constexpr Bits kCanonicalNan = kInf | kQuiet;
    static constexpr Bits kMaxFinite = kInf - 1;
    static constexpr Bits kMinNormal = Bits{1} << (p - 1);

    static constexpr Bits magnitude(Bits b) { return b & ~kSign; }
    static constexpr bool is_nan(Bits b) { return magnitude(b) > kInf; }
    static constexpr bool is_snan(Bits b) { return is_nan(b) && (b & kQuiet) == 0; }
    static constexpr bool is_inf(Bits b) { return magnitude(b) == kInf; }
    static constexpr bool is_zero(Bits b) { return magnitude(b) == 0; }
    static constexpr bool is_negative(Bits b) { return (b & kSign) != 0; }
};

using F32 = Format<uint32_t, 24, 8>;
using F64 = Format<uint64_t, 53, 11>;

}  // namespace vessel::riscv::fp
