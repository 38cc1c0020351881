#include "fpu_reference.h"

#include <algorithm>

namespace vessel::riscv::fp::reference {
namespace {

mpq_class pow2(int k) {
    mpz_class z = 1;
    mpz_mul_2exp(z.get_mpz_t(), z.get_mpz_t(), static_cast<unsigned long>(k < 0 ? -k : k));
    return k >= 0 ? mpq_class(z) : mpq_class(mpz_class(1), z);
}

int floor_log2(const mpq_class& x) {  // x > 0
    int e = static_cast<int>(mpz_sizeinbase(x.get_num_mpz_t(), 2)) -
            static_cast<int>(mpz_sizeinbase(x.get_den_mpz_t(), 2));
    while (pow2(e) > x)
        --e;
    while (pow2(e + 1) <= x)
        ++e;
    return e;
}

int floor_div2(int v) {
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

// A positive real number, either a rational or the square root of one, that can say how it
// compares with the grid of multiples of 2^scale.
struct Value {
    mpq_class x;
    bool is_sqrt = false;

    int floor_log2() const {
        int e = reference::floor_log2(x);
        return is_sqrt ? floor_div2(e) : e;
    }
    // n = floor(value / 2^scale); half = sign of (value / 2^scale - n - 1/2); exact when integer.
    void grid(int scale, mpz_class& n, int& half, bool& exact) const {
        if (!is_sqrt) {
            mpq_class t = x / pow2(scale);
            mpz_fdiv_q(n.get_mpz_t(), t.get_num_mpz_t(), t.get_den_mpz_t());
            mpq_class frac = t - mpq_class(n);
            exact = frac == 0;
            half = cmp(frac, mpq_class(1, 2));
            return;
        }
        mpq_class y = x / pow2(2 * scale);
        mpz_class floor_y;
        mpz_fdiv_q(floor_y.get_mpz_t(), y.get_num_mpz_t(), y.get_den_mpz_t());
        mpz_sqrt(n.get_mpz_t(), floor_y.get_mpz_t());
        exact = y == mpq_class(n * n);
        mpq_class mid = mpq_class(n) + mpq_class(1, 2);
        half = cmp(y, mid * mid);
    }
};

Result round(const Fmt& f, bool sign, const Value& v, Rounding rm) {
    auto round_at = [&](int scale, mpz_class& n) {
        int half;
        bool exact;
        v.grid(scale, n, half, exact);
        bool up = false;
        switch (rm) {
            case Rounding::rne:
                up = half > 0 || (half == 0 && mpz_odd_p(n.get_mpz_t()));
                break;
            case Rounding::rmm:
                up = half >= 0;
                break;
            case Rounding::rtz:
                break;
            case Rounding::rdn:
                up = sign && !exact;
                break;
            case Rounding::rup:
                up = !sign && !exact;
                break;
        }
        if (up) n += 1;
        return !exact;
    };
    int e = v.floor_log2();
    mpz_class unbounded;
    round_at(e - (f.p - 1), unbounded);
    bool tiny = mpq_class(unbounded) * pow2(e - (f.p - 1)) < pow2(f.emin);

    int scale = std::max(e, f.emin) - (f.p - 1);
    mpz_class n;
    bool inexact = round_at(scale, n);
    mpz_class top = mpz_class(1) << f.p;
    mpz_class implicit = mpz_class(1) << (f.p - 1);
    if (n == top) {
        n = implicit;
        ++scale;
    }
    uint64_t sign_bits = sign ? f.sign_bit() : 0;
    if (n >= implicit && scale + f.p - 1 > f.emax) {
        bool to_inf = rm == Rounding::rne || rm == Rounding::rmm || (rm == Rounding::rdn && sign) ||
                      (rm == Rounding::rup && !sign);
        return {sign_bits | (to_inf ? f.inf() : f.inf() - 1), kFlagOF | kFlagNX};
    }
    uint64_t bits;
    if (n < implicit) {
        bits = n.get_ui();
    } else {
        uint64_t field = static_cast<uint64_t>(scale + f.p - 1 + f.bias());
        mpz_class frac = n - implicit;
        bits = (field << (f.p - 1)) |
               (static_cast<uint64_t>(mpz_class(frac >> 32).get_ui()) << 32) |
               mpz_class(frac & 0xffffffffu).get_ui();
    }
    uint32_t flags = inexact ? (tiny ? kFlagNX | kFlagUF : kFlagNX) : 0;
    return {sign_bits | bits, flags};
}

Result round_rational(const Fmt& f, const mpq_class& q, Rounding rm) {
    return round(f, q < 0, Value{abs(q)}, rm);
}

Result nan_of(const Fmt& f, bool signal) {
    return {f.canonical_nan(), signal ? kFlagNV : 0u};
}

uint64_t zero_sum_sign(const Fmt& f, Rounding rm) {
    return rm == Rounding::rdn ? f.sign_bit() : 0;
}

}  // namespace

mpq_class decode(const Fmt& f, uint64_t bits) {
    uint64_t frac = bits & ((uint64_t{1} << (f.p - 1)) - 1);
    int field = static_cast<int>((bits & ~f.sign_bit()) >> (f.p - 1));
    mpz_class m = mpz_class(static_cast<unsigned long>(frac));
    int exp = f.emin;
    if (field != 0) {
        m += mpz_class(1) << (f.p - 1);
        exp = field - f.bias();
    }
    mpq_class v = mpq_class(m) * pow2(exp - (f.p - 1));
    return f.negative(bits) ? mpq_class(-v) : v;
}

Result add(const Fmt& f, uint64_t a, uint64_t b, Rounding rm) {
    if (f.is_nan(a) || f.is_nan(b)) return nan_of(f, f.is_snan(a) || f.is_snan(b));
    if (f.is_inf(a) && f.is_inf(b))
        return f.negative(a) == f.negative(b) ? Result{a, 0} : nan_of(f, true);
    if (f.is_inf(a)) return {a, 0};
    if (f.is_inf(b)) return {b, 0};
    mpq_class sum = decode(f, a) + decode(f, b);
    if (sum == 0) {
        if (f.is_zero(a) && f.is_zero(b) && f.negative(a) == f.negative(b)) return {a, 0};
        return {zero_sum_sign(f, rm), 0};
    }
    return round_rational(f, sum, rm);
}

Result mul(const Fmt& f, uint64_t a, uint64_t b, Rounding rm) {
    if (f.is_nan(a) || f.is_nan(b)) return nan_of(f, f.is_snan(a) || f.is_snan(b));
    uint64_t sign = (a ^ b) & f.sign_bit();
    if (f.is_inf(a) || f.is_inf(b)) {
        if (f.is_zero(a) || f.is_zero(b)) return nan_of(f, true);
        return {sign | f.inf(), 0};
    }
    if (f.is_zero(a) || f.is_zero(b)) return {sign, 0};
    return round_rational(f, decode(f, a) * decode(f, b), rm);
}

Result div(const Fmt& f, uint64_t a, uint64_t b, Rounding rm) {
    if (f.is_nan(a) || f.is_nan(b)) return nan_of(f, f.is_snan(a) || f.is_snan(b));
    uint64_t sign = (a ^ b) & f.sign_bit();
    if (f.is_inf(a) && f.is_inf(b)) return nan_of(f, true);
    if (f.is_inf(a)) return {sign | f.inf(), 0};
    if (f.is_inf(b)) return {sign, 0};
    if (f.is_zero(a) && f.is_zero(b)) return nan_of(f, true);
    if (f.is_zero(b)) return {sign | f.inf(), kFlagDZ};
    if (f.is_zero(a)) return {sign, 0};
    return round_rational(f, decode(f, a) / decode(f, b), rm);
}

Result sqrt(const Fmt& f, uint64_t a, Rounding rm) {
    if (f.is_nan(a)) return nan_of(f, f.is_snan(a));
    if (f.is_zero(a)) return {a, 0};
    if (f.negative(a)) return nan_of(f, true);
    if (f.is_inf(a)) return {a, 0};
    return round(f, false, Value{decode(f, a), true}, rm);
}

Result fma(const Fmt& f, uint64_t a, uint64_t b, uint64_t c, Rounding rm) {
    bool inf_zero = (f.is_inf(a) && f.is_zero(b)) || (f.is_zero(a) && f.is_inf(b));
    if (f.is_nan(a) || f.is_nan(b) || f.is_nan(c))
        return nan_of(f, f.is_snan(a) || f.is_snan(b) || f.is_snan(c) || inf_zero);
    if (inf_zero) return nan_of(f, true);
    bool product_negative = f.negative(a) != f.negative(b);
    if (f.is_inf(a) || f.is_inf(b)) {
        if (f.is_inf(c) && f.negative(c) != product_negative) return nan_of(f, true);
        return {(product_negative ? f.sign_bit() : 0) | f.inf(), 0};
    }
    if (f.is_inf(c)) return {c, 0};
    mpq_class sum = decode(f, a) * decode(f, b) + decode(f, c);
    if (sum == 0) {
        bool product_zero = f.is_zero(a) || f.is_zero(b);
        if (product_zero && f.is_zero(c) && product_negative == f.negative(c)) return {c, 0};
        return {zero_sum_sign(f, rm), 0};
    }
    return round_rational(f, sum, rm);
}

Result convert(const Fmt& to, const Fmt& from, uint64_t a, Rounding rm) {
    if (from.is_nan(a)) return nan_of(to, from.is_snan(a));
    uint64_t sign = from.negative(a) ? to.sign_bit() : 0;
    if (from.is_inf(a)) return {sign | to.inf(), 0};
    if (from.is_zero(a)) return {sign, 0};
    return round_rational(to, decode(from, a), rm);
}

Result to_int(const Fmt& f, uint64_t a, int bits, bool is_signed, Rounding rm) {
    mpz_class max = is_signed ? (mpz_class(1) << (bits - 1)) - 1 : (mpz_class(1) << bits) - 1;
    mpz_class min = is_signed ? -(mpz_class(1) << (bits - 1)) : mpz_class(0);
    auto pattern = [&](const mpz_class& v) {
        mpz_class m = v;
        if (m < 0) m += mpz_class(1) << bits;
        return (static_cast<uint64_t>(mpz_class(m >> 32).get_ui()) << 32) |
               mpz_class(m & 0xffffffffu).get_ui();
    };
    if (f.is_nan(a)) return {pattern(max), kFlagNV};
    if (f.is_inf(a)) return {pattern(f.negative(a) ? min : max), kFlagNV};
    mpq_class v = decode(f, a);
    bool sign = v < 0;
    mpq_class mag = abs(v);
    mpz_class n;
    mpz_fdiv_q(n.get_mpz_t(), mag.get_num_mpz_t(), mag.get_den_mpz_t());
    mpq_class frac = mag - mpq_class(n);
    bool exact = frac == 0;
    int half = cmp(frac, mpq_class(1, 2));
    bool up = false;
    switch (rm) {
        case Rounding::rne:
            up = half > 0 || (half == 0 && mpz_odd_p(n.get_mpz_t()));
            break;
        case Rounding::rmm:
            up = half >= 0;
            break;
        case Rounding::rtz:
            break;
        case Rounding::rdn:
            up = sign && !exact;
            break;
        case Rounding::rup:
            up = !sign && !exact;
            break;
    }
    if (up) n += 1;
    if (sign) n = -n;
    if (n > max) return {pattern(max), kFlagNV};
    if (n < min) return {pattern(min), kFlagNV};
    return {pattern(n), exact ? 0u : kFlagNX};
}

Result from_int(const Fmt& f, const mpz_class& v, Rounding rm) {
    if (v == 0) return {0, 0};
    return round_rational(f, mpq_class(v), rm);
}

}  // namespace vessel::riscv::fp::reference
