// A slow but obviously correct model of RISC-V F/D arithmetic for the randomized cross-check:
// operands become exact GMP rationals, the exact result is computed (square roots through integer
// square roots), and one rounding routine applies the IEEE-754 rules as written: five modes,
// overflow, and underflow with tininess after rounding. It shares no code with the library.
#pragma once

#include <gmpxx.h>

#include <cstdint>

#include "vm/riscv/fpu.h"

namespace vessel::riscv::fp::reference {

struct Fmt {
    int p;      // precision with the implicit bit
    int emin;   // exponent of the smallest normal
    int emax;   // exponent of the largest finite
    int width;  // bits
    int bias() const { return emax; }
    uint64_t sign_bit() const { return uint64_t{1} << (width - 1); }
    uint64_t inf() const { return static_cast<uint64_t>(2 * emax + 1) << (p - 1); }
    uint64_t canonical_nan() const { return inf() | (uint64_t{1} << (p - 2)); }
    bool is_nan(uint64_t b) const { return (b & ~sign_bit()) > inf(); }
    bool is_snan(uint64_t b) const { return is_nan(b) && !(b & (uint64_t{1} << (p - 2))); }
    bool is_inf(uint64_t b) const { return (b & ~sign_bit()) == inf(); }
    bool is_zero(uint64_t b) const { return (b & ~sign_bit()) == 0; }
    bool negative(uint64_t b) const { return (b & sign_bit()) != 0; }
};
inline constexpr Fmt kSingle{24, -126, 127, 32};
inline constexpr Fmt kDouble{53, -1022, 1023, 64};

struct Result {
    uint64_t bits;
    uint32_t flags;
    bool operator==(const Result&) const = default;
};

mpq_class decode(const Fmt& f, uint64_t bits);  // finite only

Result add(const Fmt& f, uint64_t a, uint64_t b, Rounding rm);
Result mul(const Fmt& f, uint64_t a, uint64_t b, Rounding rm);
Result div(const Fmt& f, uint64_t a, uint64_t b, Rounding rm);
Result sqrt(const Fmt& f, uint64_t a, Rounding rm);
Result fma(const Fmt& f, uint64_t a, uint64_t b, uint64_t c, Rounding rm);
Result convert(const Fmt& to, const Fmt& from, uint64_t a, Rounding rm);
// Float to integer of `bits` bits; the result is the integer's two's complement bit pattern.
Result to_int(const Fmt& f, uint64_t a, int bits, bool is_signed, Rounding rm);
Result from_int(const Fmt& f, const mpz_class& v, Rounding rm);

}  // namespace vessel::riscv::fp::reference
