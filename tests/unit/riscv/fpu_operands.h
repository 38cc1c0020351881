// Edge-biased random operands for the cross-checks: subnormals, the overflow threshold, sparse
// significands that make exact ties, special values, and values near a given one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>

#include "fpu_reference.h"

namespace vessel::riscv::fp::reference {

class Operands {
  public:
    Operands(const Fmt& f, uint64_t seed) : f_(f), rng_(seed) {}

    uint64_t next() {
        uint64_t frac_mask = (uint64_t{1} << (f_.p - 1)) - 1;
        int max_field = 2 * f_.emax + 1;
        uint64_t sign = (rng_() & 1) ? f_.sign_bit() : 0;
        uint64_t frac = rng_() & frac_mask;
        int field;
        switch (rng_() % 12) {
            case 0: {
                uint64_t specials[] = {0,
                                       f_.inf(),
                                       f_.canonical_nan(),
                                       f_.inf() | 1,  // signaling NaN
                                       1,
                                       frac_mask,
                                       frac_mask + 1,
                                       f_.inf() - 1,
                                       static_cast<uint64_t>(f_.bias()) << (f_.p - 1)};
                return sign | specials[rng_() % std::size(specials)];
            }
            case 1:
            case 2:
                field = 0;
                break;
            case 3:
                field = max_field - 1 - static_cast<int>(rng_() % 4);
                break;
            case 4:
                field = 1 + static_cast<int>(rng_() % 4);
                break;
            case 5:
                field = f_.bias() + static_cast<int>(rng_() % 60) - 30;
                frac = sparse(frac_mask);
                break;
            case 6:
                field = f_.bias() + static_cast<int>(rng_() % 60) - 30;
                frac = frac_mask ^ sparse(frac_mask);
                break;
            case 7:
                field = static_cast<int>(rng_() % static_cast<uint64_t>(max_field));
                break;
            default:
                field = f_.bias() + static_cast<int>(rng_() % 80) - 40;
                break;
        }
        return sign | (static_cast<uint64_t>(field) << (f_.p - 1)) | frac;
    }

    // A value near `target`: a few units in the last place away, or its negation.
    uint64_t near(uint64_t target) {
        if (f_.is_nan(target) || f_.is_inf(target)) return next();
        auto delta = static_cast<int64_t>(rng_() % 5) - 2;
        uint64_t mag = (target & ~f_.sign_bit()) + static_cast<uint64_t>(delta);
        if (mag >= f_.inf()) mag = target & ~f_.sign_bit();
        return (target & f_.sign_bit()) | mag;
    }

    // A random finite value whose unbiased exponent is `exponent` (clamped into the format).
    uint64_t with_exponent(int exponent) {
        int field = std::clamp(exponent + f_.bias(), 0, 2 * f_.emax);
        uint64_t frac = rng_() & ((uint64_t{1} << (f_.p - 1)) - 1);
        uint64_t sign = (rng_() & 1) ? f_.sign_bit() : 0;
        return sign | (static_cast<uint64_t>(field) << (f_.p - 1)) | frac;
    }

    // An operand b for which a*b (or a/b) lands within a few binades of the exponent limits and
    // of the library's fast-path thresholds, where results become tiny, huge or inexactly checked.
    uint64_t partner_near_limits(uint64_t a, bool for_division) {
        int field = static_cast<int>((a & ~f_.sign_bit()) >> (f_.p - 1));
        int ea = field - f_.bias();
        int targets[] = {f_.emin, f_.emin - f_.p + 1, f_.emin + f_.p - 1, f_.emin + 2 * f_.p,
                         f_.emax, f_.emax - 2,        f_.emin + 1,        f_.emin - 1};
        int target = targets[rng_() % std::size(targets)] + static_cast<int>(rng_() % 5) - 2;
        return with_exponent(for_division ? ea - target : target - ea);
    }

    uint64_t bits() { return rng_(); }
    bool coin() { return rng_() & 1; }

  private:
    uint64_t sparse(uint64_t mask) {
        uint64_t v = 0;
        for (int i = 0, n = static_cast<int>(rng_() % 4); i < n; ++i)
            v |= uint64_t{1} << (rng_() % 64);
        return v & mask;
    }

    const Fmt& f_;
    std::mt19937_64 rng_;
};

}  // namespace vessel::riscv::fp::reference
