// Software IEEE-754 arithmetic with RISC-V semantics. Every operation computes its exact result
// (or an exact integer with a sticky bit below the rounding point) and rounds it once in
// round_pack, which implements all five rounding modes, overflow to infinity or the largest finite
// value, and underflow with tininess detected after rounding as RISC-V requires.
#include "vm/riscv/fpu.h"
#include "vm/riscv/fpu_format.h"

#include <cmath>
#include <limits>

namespace vessel::riscv::fp {
namespace {

using u128 = unsigned __int128;

int msb128(u128 v) {
    uint64_t hi = static_cast<uint64_t>(v >> 64);
    return hi != 0 ? 127 - __builtin_clzll(hi) : 63 - __builtin_clzll(static_cast<uint64_t>(v));
}

// Shifts right and ORs every bit shifted out into bit 0, so the result still tells "exact" from
// "strictly between two values" when it is rounded later.
uint64_t shift_right_jam64(uint64_t v, int n) {
    if (n == 0) return v;
    if (n >= 64) return v != 0;
    return (v >> n) | ((v << (64 - n)) != 0);
}

u128 shift_right_jam128(u128 v, int n) {
    if (n == 0) return v;
    if (n >= 128) return v != 0;
    return (v >> n) | ((v << (128 - n)) != 0);
}

// Finite, non-zero operand: value = (-1)^sign * m * 2^e with m having exactly F::p bits.
struct Unpacked {
    bool sign;
    int e;
    uint64_t m;
};

template <class F>
Unpacked unpack(typename F::Bits b) {
    bool sign = (b & F::kSign) != 0;
    int field = static_cast<int>((b >> (F::p - 1)) & F::kExpMax);
    uint64_t frac = b & F::kFracMask;
    if (field == 0) {
        int shift = __builtin_clzll(frac) - (64 - F::p);
        return {sign, 1 - F::kBias - (F::p - 1) - shift, frac << shift};
    }
    return {sign, field - F::kBias - (F::p - 1), frac | (uint64_t{1} << (F::p - 1))};
}

// value = (-1)^sign * sig * 2^(exp - 62) with bit 62 of sig set and a sticky bit jammed into bit 0.
template <class F>
typename F::Bits round_pack(bool sign, int exp, uint64_t sig, Rounding rm, uint32_t& flags) {
    using Bits = typename F::Bits;
    constexpr int kRoundBits = 63 - F::p;
    constexpr uint64_t kMask = (uint64_t{1} << kRoundBits) - 1;
    constexpr uint64_t kHalf = uint64_t{1} << (kRoundBits - 1);
    uint64_t increment = 0;
    switch (rm) {
        case Rounding::rne:
        case Rounding::rmm:
            increment = kHalf;
            break;
        case Rounding::rtz:
            break;
        case Rounding::rdn:
            increment = sign ? kMask : 0;
            break;
        case Rounding::rup:
            increment = sign ? 0 : kMask;
            break;
    }
    Bits sign_bits = sign ? F::kSign : 0;
    int biased = exp + F::kBias;
    if (biased <= 0) {
        // Tiny after rounding: the result rounded to full precision with an unbounded exponent
        // is still below the smallest normal number.
        bool tiny = biased < 0 || sig + increment < (uint64_t{1} << 63);
        sig = shift_right_jam64(sig, 1 - biased);
        uint64_t round_bits = sig & kMask;
        uint64_t frac = (sig + increment) >> kRoundBits;
        if (rm == Rounding::rne && round_bits == kHalf) frac &= ~uint64_t{1};
        if (round_bits != 0) flags |= tiny ? kFlagNX | kFlagUF : kFlagNX;
        // A carry into bit p-1 yields the smallest normal number, which this encoding gives.
        return sign_bits | static_cast<Bits>(frac);
    }
    uint64_t round_bits = sig & kMask;
    uint64_t frac = (sig + increment) >> kRoundBits;
    if (rm == Rounding::rne && round_bits == kHalf) frac &= ~uint64_t{1};
    if (frac >> F::p) {
        frac >>= 1;
        ++biased;
    }
    if (biased >= F::kExpMax) {
        flags |= kFlagOF | kFlagNX;
        bool to_infinity = rm == Rounding::rne || rm == Rounding::rmm ||
                           (rm == Rounding::rdn && sign) || (rm == Rounding::rup && !sign);
        return sign_bits | (to_infinity ? F::kInf : F::kMaxFinite);
    }
    if (round_bits != 0) flags |= kFlagNX;
    return sign_bits | ((static_cast<Bits>(biased - 1) << (F::p - 1)) + static_cast<Bits>(frac));
}

// value = (-1)^sign * mag * 2^scale, mag != 0, with a sticky bit already jammed into bit 0 if the
// caller dropped anything.
template <class F>
typename F::Bits round_pack_wide(bool sign, int scale, u128 mag, Rounding rm, uint32_t& flags) {
    int msb = msb128(mag);
    uint64_t sig = msb > 62 ? static_cast<uint64_t>(shift_right_jam128(mag, msb - 62))
                            : static_cast<uint64_t>(mag) << (62 - msb);
    return round_pack<F>(sign, scale + msb, sig, rm, flags);
}

template <class F>
typename F::Bits nan_result(uint32_t& flags, bool signaling) {
    if (signaling) flags |= kFlagNV;
    return F::kCanonicalNan;
}

template <class F>
typename F::Bits invalid(uint32_t& flags) {
    flags |= kFlagNV;
    return F::kCanonicalNan;
}

template <class F>
typename F::Bits exact_zero_sum(Rounding rm) {
    return rm == Rounding::rdn ? F::kSign : 0;
}

// (-1)^sign * mag * 2^scale with mag below 2^107.
struct Term {
    bool sign;
    int scale;
    u128 mag;
};

// Rounds x + y once. The larger term is normalised to bit 125 so the smaller one only loses bits
// (into the sticky bit) when it is at least 2^19 times smaller, where no cancellation can reach
// the rounding point.
template <class F>
typename F::Bits add_terms(Term x, Term y, Rounding rm, uint32_t& flags) {
    if (x.scale + msb128(x.mag) < y.scale + msb128(y.mag)) std::swap(x, y);
    int up = 125 - msb128(x.mag);
    x.mag <<= up;
    x.scale -= up;
    int d = y.scale - x.scale;
    y.mag = d >= 0 ? y.mag << d : shift_right_jam128(y.mag, -d);
    u128 sum;
    bool sign = x.sign;
    if (x.sign == y.sign) {
        sum = x.mag + y.mag;
    } else if (x.mag >= y.mag) {
        sum = x.mag - y.mag;
    } else {
        sum = y.mag - x.mag;
        sign = y.sign;
    }
    if (sum == 0) return exact_zero_sum<F>(rm);
    return round_pack_wide<F>(sign, x.scale, sum, rm, flags);
}

template <class F>
typename F::Bits add(typename F::Bits a, typename F::Bits b, Rounding rm, uint32_t& flags) {
    if (F::is_nan(a) || F::is_nan(b)) return nan_result<F>(flags, F::is_snan(a) || F::is_snan(b));
    bool sa = (a & F::kSign) != 0;
    bool sb = (b & F::kSign) != 0;
    if (F::is_inf(a)) return F::is_inf(b) && sa != sb ? invalid<F>(flags) : a;
    if (F::is_inf(b)) return b;
    if (F::is_zero(a) && F::is_zero(b)) return sa == sb ? a : exact_zero_sum<F>(rm);
    if (F::is_zero(a)) return b;
    if (F::is_zero(b)) return a;
    Unpacked ua = unpack<F>(a);
    Unpacked ub = unpack<F>(b);
    return add_terms<F>({ua.sign, ua.e, ua.m}, {ub.sign, ub.e, ub.m}, rm, flags);
}

template <class F>
typename F::Bits mul(typename F::Bits a, typename F::Bits b, Rounding rm, uint32_t& flags) {
    if (F::is_nan(a) || F::is_nan(b)) return nan_result<F>(flags, F::is_snan(a) || F::is_snan(b));
    typename F::Bits sign = (a ^ b) & F::kSign;
    if (F::is_inf(a) || F::is_inf(b)) {
        if (F::is_zero(a) || F::is_zero(b)) return invalid<F>(flags);
        return sign | F::kInf;
    }
    if (F::is_zero(a) || F::is_zero(b)) return sign;
    Unpacked ua = unpack<F>(a);
    Unpacked ub = unpack<F>(b);
    return round_pack_wide<F>(sign != 0, ua.e + ub.e, static_cast<u128>(ua.m) * ub.m, rm, flags);
}

template <class F>
typename F::Bits div(typename F::Bits a, typename F::Bits b, Rounding rm, uint32_t& flags) {
    if (F::is_nan(a) || F::is_nan(b)) return nan_result<F>(flags, F::is_snan(a) || F::is_snan(b));
    typename F::Bits sign = (a ^ b) & F::kSign;
    if (F::is_inf(a)) return F::is_inf(b) ? invalid<F>(flags) : sign | F::kInf;
    if (F::is_inf(b)) return sign;
    if (F::is_zero(b)) {
        if (F::is_zero(a)) return invalid<F>(flags);
        flags |= kFlagDZ;
        return sign | F::kInf;
    }
    if (F::is_zero(a)) return sign;
    Unpacked ua = unpack<F>(a);
    Unpacked ub = unpack<F>(b);
    // Both significands have p bits, so the quotient has p+2 or p+3 bits: enough for rounding.
    constexpr int kExtra = F::p + 2;
    u128 num = static_cast<u128>(ua.m) << kExtra;
    u128 q = num / ub.m;
    bool rem = num - q * ub.m != 0;
    return round_pack_wide<F>(sign != 0, ua.e - ub.e - kExtra - 1, (q << 1) | rem, rm, flags);
}

u128 isqrt128(u128 v) {
    // The long double estimate is within a few units; the loops make it exact.
    auto r = static_cast<uint64_t>(std::sqrt(static_cast<long double>(v)));
    while (static_cast<u128>(r) * r > v)
        --r;
    while (static_cast<u128>(r + 1) * (r + 1) <= v)
        ++r;
    return r;
}

template <class F>
typename F::Bits sqrt(typename F::Bits a, Rounding rm, uint32_t& flags) {
    if (F::is_nan(a)) return nan_result<F>(flags, F::is_snan(a));
    if (F::is_zero(a)) return a;
    if (a & F::kSign) return invalid<F>(flags);
    if (F::is_inf(a)) return a;
    Unpacked ua = unpack<F>(a);
    // Scale m so that its root has at least p+2 bits and the exponent is even.
    int shift = F::p + 4;
    if ((ua.e - shift) & 1) ++shift;
    u128 m = static_cast<u128>(ua.m) << shift;
    u128 root = isqrt128(m);
    bool rem = root * root != m;
    return round_pack_wide<F>(false, (ua.e - shift) / 2 - 1, (root << 1) | rem, rm, flags);
}

template <class F>
typename F::Bits fma(typename F::Bits a, typename F::Bits b, typename F::Bits c, Rounding rm,
                     uint32_t& flags) {
    bool inf_times_zero = (F::is_inf(a) && F::is_zero(b)) || (F::is_zero(a) && F::is_inf(b));
    if (F::is_nan(a) || F::is_nan(b) || F::is_nan(c)) {
        // RISC-V raises NV for inf * 0 even when the addend is a quiet NaN.
        bool signaling = F::is_snan(a) || F::is_snan(b) || F::is_snan(c) || inf_times_zero;
        return nan_result<F>(flags, signaling);
    }
    if (inf_times_zero) return invalid<F>(flags);
    bool sp = ((a ^ b) & F::kSign) != 0;
    bool sc = (c & F::kSign) != 0;
    if (F::is_inf(a) || F::is_inf(b)) {
        if (F::is_inf(c) && sc != sp) return invalid<F>(flags);
        return (sp ? F::kSign : 0) | F::kInf;
    }
    if (F::is_inf(c)) return c;
    if (F::is_zero(a) || F::is_zero(b)) {
        if (!F::is_zero(c)) return c;
        return sp == sc ? c : exact_zero_sum<F>(rm);
    }
    Unpacked ua = unpack<F>(a);
    Unpacked ub = unpack<F>(b);
    Term product{sp, ua.e + ub.e, static_cast<u128>(ua.m) * ub.m};
    if (F::is_zero(c)) return round_pack_wide<F>(sp, product.scale, product.mag, rm, flags);
    Unpacked uc = unpack<F>(c);
    return add_terms<F>(product, {uc.sign, uc.e, uc.m}, rm, flags);
}

template <class F, class Int>
Int to_int(typename F::Bits a, Rounding rm, uint32_t& flags) {
    constexpr Int kMax = std::numeric_limits<Int>::max();
    constexpr Int kMin = std::numeric_limits<Int>::min();
    if (F::is_nan(a)) {
        flags |= kFlagNV;
        return kMax;
    }
    bool sign = (a & F::kSign) != 0;
    if (F::is_inf(a)) {
        flags |= kFlagNV;
        return sign ? kMin : kMax;
    }
    if (F::is_zero(a)) return 0;
    Unpacked u = unpack<F>(a);
    u128 magnitude;
    bool inexact = false;
    if (u.e >= 0) {
        if (u.e > 64) {
            flags |= kFlagNV;
            return sign ? kMin : kMax;
        }
        magnitude = static_cast<u128>(u.m) << u.e;
    } else {
        int shift = -u.e;
        // Below the binary point: compare the dropped bits with one half.
        uint64_t integer = shift >= 64 ? 0 : u.m >> shift;
        uint64_t dropped = shift >= 64 ? u.m : u.m & ((uint64_t{1} << shift) - 1);
        int vs_half;  // -1 below, 0 equal, 1 above
        if (shift > 64) {
            vs_half = -1;
        } else {
            uint64_t half = uint64_t{1} << (shift - 1);
            vs_half = dropped < half ? -1 : dropped == half ? 0 : 1;
        }
        inexact = dropped != 0;
        bool up = false;
        switch (rm) {
            case Rounding::rne:
                up = vs_half > 0 || (vs_half == 0 && (integer & 1));
                break;
            case Rounding::rmm:
                up = vs_half >= 0;
                break;
            case Rounding::rtz:
                break;
            case Rounding::rdn:
                up = inexact && sign;
                break;
            case Rounding::rup:
                up = inexact && !sign;
                break;
        }
        magnitude = static_cast<u128>(integer) + up;
    }
    bool in_range;
    if (sign) {
        in_range = magnitude <= static_cast<u128>(-(static_cast<__int128>(kMin)));
    } else {
        in_range = magnitude <= static_cast<u128>(kMax);
    }
    if (!in_range) {
        flags |= kFlagNV;
        return sign ? kMin : kMax;
    }
    if (inexact) flags |= kFlagNX;
    auto v = static_cast<__int128>(magnitude);
    return static_cast<Int>(sign ? -v : v);
}

template <class F>
typename F::Bits from_int(bool negative, uint64_t magnitude, Rounding rm, uint32_t& flags) {
    if (magnitude == 0) return 0;
    return round_pack_wide<F>(negative, 0, magnitude, rm, flags);
}

template <class To, class From>
typename To::Bits convert_float(typename From::Bits a, Rounding rm, uint32_t& flags) {
    if (From::is_nan(a)) return nan_result<To>(flags, From::is_snan(a));
    typename To::Bits sign = (a & From::kSign) ? To::kSign : 0;
    if (From::is_inf(a)) return sign | To::kInf;
    if (From::is_zero(a)) return sign;
    Unpacked u = unpack<From>(a);
    return round_pack_wide<To>(u.sign, u.e, u.m, rm, flags);
}

uint64_t magnitude_of(int64_t v) {
    return v < 0 ? ~static_cast<uint64_t>(v) + 1 : static_cast<uint64_t>(v);
}

}  // namespace

namespace soft {
uint32_t add_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags) {
    return add<F32>(a, b, rm, flags);
}
uint32_t mul_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags) {
    return mul<F32>(a, b, rm, flags);
}
uint32_t div_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags) {
    return div<F32>(a, b, rm, flags);
}
uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& flags) {
    return sqrt<F32>(a, rm, flags);
}
uint32_t fma_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    return fma<F32>(a, b, c, rm, flags);
}
uint64_t add_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags) {
    return add<F64>(a, b, rm, flags);
}
uint64_t mul_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags) {
    return mul<F64>(a, b, rm, flags);
}
uint64_t div_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags) {
    return div<F64>(a, b, rm, flags);
}
uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return sqrt<F64>(a, rm, flags);
}
uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    return fma<F64>(a, b, c, rm, flags);
}
}  // namespace soft

int32_t cvt_w_s(uint32_t a, Rounding rm, uint32_t& flags) {
    return to_int<F32, int32_t>(a, rm, flags);
}
uint32_t cvt_wu_s(uint32_t a, Rounding rm, uint32_t& flags) {
    return to_int<F32, uint32_t>(a, rm, flags);
}
int64_t cvt_l_s(uint32_t a, Rounding rm, uint32_t& flags) {
    return to_int<F32, int64_t>(a, rm, flags);
}
uint64_t cvt_lu_s(uint32_t a, Rounding rm, uint32_t& flags) {
    return to_int<F32, uint64_t>(a, rm, flags);
}
int32_t cvt_w_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return to_int<F64, int32_t>(a, rm, flags);
}
uint32_t cvt_wu_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return to_int<F64, uint32_t>(a, rm, flags);
}
int64_t cvt_l_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return to_int<F64, int64_t>(a, rm, flags);
}
uint64_t cvt_lu_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return to_int<F64, uint64_t>(a, rm, flags);
}

uint32_t cvt_s_w(int32_t v, Rounding rm, uint32_t& flags) {
    return from_int<F32>(v < 0, magnitude_of(v), rm, flags);
}
uint32_t cvt_s_wu(uint32_t v, Rounding rm, uint32_t& flags) {
    return from_int<F32>(false, v, rm, flags);
}
uint32_t cvt_s_l(int64_t v, Rounding rm, uint32_t& flags) {
    return from_int<F32>(v < 0, magnitude_of(v), rm, flags);
}
uint32_t cvt_s_lu(uint64_t v, Rounding rm, uint32_t& flags) {
    return from_int<F32>(false, v, rm, flags);
}
uint64_t cvt_d_w(int32_t v, Rounding rm, uint32_t& flags) {
    return from_int<F64>(v < 0, magnitude_of(v), rm, flags);
}
uint64_t cvt_d_wu(uint32_t v, Rounding rm, uint32_t& flags) {
    return from_int<F64>(false, v, rm, flags);
}
uint64_t cvt_d_l(int64_t v, Rounding rm, uint32_t& flags) {
    return from_int<F64>(v < 0, magnitude_of(v), rm, flags);
}
uint64_t cvt_d_lu(uint64_t v, Rounding rm, uint32_t& flags) {
    return from_int<F64>(false, v, rm, flags);
}

uint32_t cvt_s_d(uint64_t a, Rounding rm, uint32_t& flags) {
    return convert_float<F32, F64>(a, rm, flags);
}
uint64_t cvt_d_s(uint32_t a, uint32_t& flags) {
    return convert_float<F64, F32>(a, Rounding::rne, flags);
}

}  // namespace vessel::riscv::fp
