// The public rounded arithmetic, fastest path first:
//  1. round to nearest (rne, and rmm where ties can be told): one plain host operation in the
//     process's default MXCSR, with NX from an exact error term (TwoSum, FMA residual);
//  2. with AVX-512F, directed modes and fma: EVEX embedded rounding, NX from round-down !=
//     round-up, no MXCSR write;
//  3. otherwise rne/rtz/rdn/rup on SSE: one asm block loads MXCSR with the mode and cleared flags,
//     does the operation, reads the flags back and restores the caller's MXCSR, so the compiler
//     can neither fold the operation nor move it out of the rounding mode. SSE detects tininess
//     after rounding, like RISC-V (the unit tests pin this), so only NaN results need fixing;
//  4. the software implementation for rmm and for hosts other than x86-64.
// Paths 1 and 2 accept only operands whose results are normal and finite, so flags other than
// NX never arise there; everything else falls through to a path that computes all flags.
#include "vm/riscv/fpu.h"
#include "vm/riscv/fpu_format.h"

#include <bit>
#include <cmath>
#include <type_traits>

#if defined(__x86_64__) && !defined(VESSEL_FPU_PORTABLE)
#include <immintrin.h>
#endif

namespace vessel::riscv::fp {
namespace {

#if defined(__x86_64__) && !defined(VESSEL_FPU_PORTABLE)

// MXCSR: all exceptions masked (bits 7-12), no flush-to-zero or denormals-are-zero, rounding
// control in bits 13-14, indexed by Rounding.
constexpr uint32_t kMxcsrFor[4] = {
    0x1f80u | (0u << 13),  // rne: round to nearest
    0x1f80u | (3u << 13),  // rtz: toward zero
    0x1f80u | (1u << 13),  // rdn: toward -inf
    0x1f80u | (2u << 13),  // rup: toward +inf
};

// MXCSR status (IE=0x01, DE=0x02, ZE=0x04, OE=0x08, UE=0x10, PE=0x20) to fflags. DE (a
// denormal operand) has no RISC-V counterpart.
uint32_t fflags_from_mxcsr(uint32_t status) {
    return ((status & 0x01u) << 4) | ((status & 0x04u) << 1) | ((status & 0x08u) >> 1) |
           ((status & 0x10u) >> 3) | ((status & 0x20u) >> 5);
}

#define VESSEL_HOST_BINARY(name, insn, T)                               \
    T name(T a, T b, uint32_t control, uint32_t& status) {              \
        uint32_t saved;                                                 \
        asm volatile(                                                   \
            "stmxcsr %[saved]\n\t"                                      \
            "ldmxcsr %[control]\n\t" insn                               \
            " %[b], %[a]\n\t"                                           \
            "stmxcsr %[status]\n\t"                                     \
            "ldmxcsr %[saved]"                                          \
            : [a] "+x"(a), [saved] "=&m"(saved), [status] "=&m"(status) \
            : [b] "x"(b), [control] "m"(control));                      \
        return a;                                                       \
    }

VESSEL_HOST_BINARY(host_add_s, "addss", float)
VESSEL_HOST_BINARY(host_sub_s, "subss", float)
VESSEL_HOST_BINARY(host_mul_s, "mulss", float)
VESSEL_HOST_BINARY(host_div_s, "divss", float)
VESSEL_HOST_BINARY(host_sqrt_s, "sqrtss", float)  // a = sqrt(b)
VESSEL_HOST_BINARY(host_add_d, "addsd", double)
VESSEL_HOST_BINARY(host_sub_d, "subsd", double)
VESSEL_HOST_BINARY(host_mul_d, "mulsd", double)
VESSEL_HOST_BINARY(host_div_d, "divsd", double)
VESSEL_HOST_BINARY(host_sqrt_d, "sqrtsd", double)
#undef VESSEL_HOST_BINARY

#define VESSEL_HOST_FMA(name, insn, T)                                  \
    T name(T a, T b, T c, uint32_t control, uint32_t& status) {         \
        uint32_t saved;                                                 \
        asm volatile(                                                   \
            "stmxcsr %[saved]\n\t"                                      \
            "ldmxcsr %[control]\n\t" insn                               \
            " %[c], %[b], %[a]\n\t"                                     \
            "stmxcsr %[status]\n\t"                                     \
            "ldmxcsr %[saved]"                                          \
            : [a] "+x"(a), [saved] "=&m"(saved), [status] "=&m"(status) \
            : [b] "x"(b), [c] "x"(c), [control] "m"(control));          \
        return a;                                                       \
    }

// vfmadd213: a = b * a + c, rounded once.
VESSEL_HOST_FMA(host_fma_s, "vfmadd213ss", float)
VESSEL_HOST_FMA(host_fma_d, "vfmadd213sd", double)
#undef VESSEL_HOST_FMA

bool host_has_fma() {
    return __builtin_cpu_supports("fma");
}

template <class F>
typename F::Bits finish(typename F::Bits result, uint32_t status, uint32_t& flags) {
    flags |= fflags_from_mxcsr(status);
    return F::is_nan(result) ? F::kCanonicalNan : result;
}

float as_float(uint32_t v) {
    return std::bit_cast<float>(v);
}
double as_double(uint64_t v) {
    return std::bit_cast<double>(v);
}
uint32_t bits_of(float v) {
    return std::bit_cast<uint32_t>(v);
}
uint64_t bits_of(double v) {
    return std::bit_cast<uint64_t>(v);
}

// Round-to-nearest fast paths (rne, and rmm where ties can be recognised). The process runs with
// the default MXCSR (round to nearest even, no FTZ/DAZ), so these compute the result with one
// plain host operation and derive NX from an exact error term instead of switching MXCSR (which
// costs ~10 ns). They only accept operands for which the error term is provably exact and
// neither overflow nor underflow can occur; anything else (NaN, infinity, zero, huge or tiny
// magnitudes) returns false and takes a slower path.

// a * b - c with one rounding.
double fused_mul_sub(double a, double b, double c) {
    asm("vfmsub213sd %[c], %[b], %[a]" : [a] "+x"(a) : [b] "x"(b), [c] "x"(c));
    return a;
}

template <class T>
bool in_range(T v, T low, T high) {
    T m = v < 0 ? -v : v;
    return m >= low && m <= high;  // false for NaN
}

// Knuth's TwoSum: err is exactly (x + y) - fl(x + y) barring overflow, subnormals included.
template <class T>
T two_sum_error(T x, T y, T r) {
    T y_part = r - x;
    return (x - (r - y_part)) + (y - y_part);
}

// Given r = rne(exact) and err = exact - r (both exact in W, r a value of format F), returns the
// rmm result: rne already picked the larger magnitude unless the exact value is a tie above |r|.
template <class F, class W>
typename F::Bits ties_away(typename F::Bits r_bits, W r, W err) {
    if (err == 0 || (err < 0) != F::is_negative(r_bits)) return r_bits;
    typename F::Bits next = r_bits + 1;  // one unit up in magnitude
    W gap =
        static_cast<W>(
            std::bit_cast<std::conditional_t<sizeof(typename F::Bits) == 4, float, double>>(next)) -
        r;
    return err + err == gap ? next : r_bits;
}

template <class F, class T, class W>
typename F::Bits nearest_result(T r, W err, bool away, uint32_t& flags) {
    if (err != 0) flags |= kFlagNX;
    typename F::Bits bits = bits_of(r);
    return away ? ties_away<F, W>(bits, static_cast<W>(r), err) : bits;
}

bool nearest_add_s(uint32_t a, uint32_t b, bool away, uint32_t& out, uint32_t& flags) {
    float x = as_float(a), y = as_float(b);
    if (!in_range(x, 0.0f, 0x1p125f) || !in_range(y, 0.0f, 0x1p125f)) return false;
    float r = x + y;
    out = nearest_result<F32>(r, two_sum_error(x, y, r), away, flags);
    return true;
}

bool nearest_add_d(uint64_t a, uint64_t b, bool away, uint64_t& out, uint32_t& flags) {
    double x = as_double(a), y = as_double(b);
    if (!in_range(x, 0.0, 0x1p1021) || !in_range(y, 0.0, 0x1p1021)) return false;
    double r = x + y;
    out = nearest_result<F64>(r, two_sum_error(x, y, r), away, flags);
    return true;
}

bool nearest_sub_s(uint32_t a, uint32_t b, bool away, uint32_t& out, uint32_t& flags) {
    return nearest_add_s(a, b ^ F32::kSign, away, out, flags);
}

bool nearest_sub_d(uint64_t a, uint64_t b, bool away, uint64_t& out, uint32_t& flags) {
    return nearest_add_d(a, b ^ F64::kSign, away, out, flags);
}

// Single products and quotient checks are exact in double precision.
bool nearest_mul_s(uint32_t a, uint32_t b, bool away, uint32_t& out, uint32_t& flags) {
    double exact = static_cast<double>(as_float(a)) * static_cast<double>(as_float(b));
    float r = static_cast<float>(exact);
    // Above 2^-125 the result is normal and cannot be tiny; below max it did not overflow.
    if (!in_range(r, 0x1p-125f, 0x1.fffffep127f)) return false;
    out = nearest_result<F32>(r, exact - static_cast<double>(r), away, flags);
    return true;
}

// A quotient or square root of p-bit numbers never lies exactly halfway between two normal
// p-bit numbers (the midpoint needs p+1 significant bits), so for them rmm equals rne.
bool nearest_div_s(uint32_t a, uint32_t b, bool, uint32_t& out, uint32_t& flags) {
    float x = as_float(a), y = as_float(b);
    float q = x / y;
    if (!in_range(q, 0x1p-125f, 0x1.fffffep127f) || !in_range(y, 0x1p-149f, 0x1.fffffep127f))
        return false;
    // q * y is exact in double and within a factor of two of x, so the difference is exact.
    double remainder = static_cast<double>(x) - static_cast<double>(q) * static_cast<double>(y);
    out = nearest_result<F32>(q, remainder, false, flags);
    return true;
}

bool nearest_sqrt_s(uint32_t a, uint32_t& out, uint32_t& flags) {
    float x = as_float(a);
    if (!(x > 0.0f && x <= 0x1.fffffep127f)) return false;
    float s = std::sqrt(x);
    double err = static_cast<double>(x) - static_cast<double>(s) * static_cast<double>(s);
    out = nearest_result<F32>(s, err, false, flags);
    return true;
}

// The double checks need a fused multiply-add: the error of a product, the remainder of a
// division and of a square root are exact once the exponents stay above 2^-969 or so.
bool nearest_mul_d(uint64_t a, uint64_t b, bool away, uint64_t& out, uint32_t& flags) {
    if (!host_has_fma()) return false;
    double x = as_double(a), y = as_double(b);
    double r = x * y;
    if (!in_range(r, 0x1p-968, 0x1.fffffffffffffp1023)) return false;
    out = nearest_result<F64>(r, fused_mul_sub(x, y, r), away, flags);
    return true;
}

bool nearest_div_d(uint64_t a, uint64_t b, bool, uint64_t& out, uint32_t& flags) {
    if (!host_has_fma()) return false;
    double x = as_double(a), y = as_double(b);
    double q = x / y;
    if (!in_range(q, 0x1p-1021, 0x1.fffffffffffffp1023) || !in_range(x, 0x1p-968, 0x1p1020))
        return false;
    out = nearest_result<F64>(q, fused_mul_sub(q, y, x), false, flags);
    return true;
}

bool nearest_sqrt_d(uint64_t a, uint64_t& out, uint32_t& flags) {
    if (!host_has_fma()) return false;
    double x = as_double(a);
    if (!(x >= 0x1p-968 && x <= 0x1.fffffffffffffp1023)) return false;
    double s = std::sqrt(x);
    out = nearest_result<F64>(s, fused_mul_sub(s, s, x), false, flags);
    return true;
}

// Directed-rounding fast path for hosts with AVX-512F: EVEX encodings carry their own rounding
// mode (with exceptions suppressed), so no MXCSR write is needed. The result rounded down equals
// the result rounded up exactly when the operation is exact, which gives NX. Results that are
// zero, tiny, non-finite or near overflow return false and take the MXCSR path. rmm is served
// here only for division and square root, whose exact results can never be a tie between two
// normal numbers (a midpoint has p+1 significant bits, a quotient or root of p-bit numbers
// cannot), so rmm equals rne for them.
enum class Evex { add, sub, mul, div, sqrt, fma };

constexpr int kEvexDown = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;
constexpr int kEvexUp = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;
constexpr int kEvexNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

bool host_has_avx512() {
    return __builtin_cpu_supports("avx512f");
}

template <Evex op, int mode>
__attribute__((target("avx512f"))) double evex_d(__m128d a, __m128d b, __m128d c) {
    __m128d r;
    if constexpr (op == Evex::add) r = _mm_add_round_sd(a, b, mode);
    if constexpr (op == Evex::sub) r = _mm_sub_round_sd(a, b, mode);
    if constexpr (op == Evex::mul) r = _mm_mul_round_sd(a, b, mode);
    if constexpr (op == Evex::div) r = _mm_div_round_sd(a, b, mode);
    if constexpr (op == Evex::sqrt) r = _mm_sqrt_round_sd(a, a, mode);
    if constexpr (op == Evex::fma) r = _mm_fmadd_round_sd(a, b, c, mode);
    return _mm_cvtsd_f64(r);
}

template <Evex op, int mode>
__attribute__((target("avx512f"))) float evex_s(__m128 a, __m128 b, __m128 c) {
    __m128 r;
    if constexpr (op == Evex::add) r = _mm_add_round_ss(a, b, mode);
    if constexpr (op == Evex::sub) r = _mm_sub_round_ss(a, b, mode);
    if constexpr (op == Evex::mul) r = _mm_mul_round_ss(a, b, mode);
    if constexpr (op == Evex::div) r = _mm_div_round_ss(a, b, mode);
    if constexpr (op == Evex::sqrt) r = _mm_sqrt_round_ss(a, a, mode);
    if constexpr (op == Evex::fma) r = _mm_fmadd_round_ss(a, b, c, mode);
    return _mm_cvtss_f32(r);
}

template <class F, class Bits>
bool evex_select(Bits down, Bits up, Bits nearest_or_zero, Rounding rm, Bits& out,
                 uint32_t& flags) {
    if (down == up) {
        out = down;
        return true;
    }
    flags |= kFlagNX;
    switch (rm) {
        case Rounding::rdn:
            out = down;
            break;
        case Rounding::rup:
            out = up;
            break;
        case Rounding::rtz:
            out = (down & F::kSign) ? up : down;
            break;
        case Rounding::rne:
        case Rounding::rmm:
            out = nearest_or_zero;
            break;
    }
    return true;
}

template <Evex op>
__attribute__((target("avx512f"))) bool evex_op_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm,
                                                  uint64_t& out, uint32_t& flags) {
    __m128d va = _mm_set_sd(as_double(a));
    __m128d vb = _mm_set_sd(as_double(b));
    __m128d vc = _mm_set_sd(as_double(c));
    double down = evex_d<op, kEvexDown>(va, vb, vc);
    double up = evex_d<op, kEvexUp>(va, vb, vc);
    constexpr double kMax = 0x1.fffffffffffffp1023;
    if (!in_range(down, 0x1p-1021, kMax) || !in_range(up, 0x1p-1021, kMax)) return false;
    bool nearest = rm == Rounding::rne || rm == Rounding::rmm;
    double n = nearest && bits_of(down) != bits_of(up) ? evex_d<op, kEvexNearest>(va, vb, vc) : 0.0;
    return evex_select<F64>(bits_of(down), bits_of(up), bits_of(n), rm, out, flags);
}

template <Evex op>
__attribute__((target("avx512f"))) bool evex_op_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm,
                                                  uint32_t& out, uint32_t& flags) {
    __m128 va = _mm_set_ss(as_float(a));
    __m128 vb = _mm_set_ss(as_float(b));
    __m128 vc = _mm_set_ss(as_float(c));
    float down = evex_s<op, kEvexDown>(va, vb, vc);
    float up = evex_s<op, kEvexUp>(va, vb, vc);
    constexpr float kMax = 0x1.fffffep127f;
    if (!in_range(down, 0x1p-125f, kMax) || !in_range(up, 0x1p-125f, kMax)) return false;
    bool nearest = rm == Rounding::rne || rm == Rounding::rmm;
    float n = nearest && bits_of(down) != bits_of(up) ? evex_s<op, kEvexNearest>(va, vb, vc) : 0.0f;
    return evex_select<F32>(bits_of(down), bits_of(up), bits_of(n), rm, out, flags);
}

// Whether the EVEX path may serve `rm` for this operation (see above for rmm).
constexpr bool evex_serves(Evex op, Rounding rm) {
    return rm != Rounding::rmm || op == Evex::div || op == Evex::sqrt;
}

template <Evex op>
bool try_evex_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint64_t& out, uint32_t& flags) {
    return evex_serves(op, rm) && host_has_avx512() && evex_op_d<op>(a, b, c, rm, out, flags);
}

template <Evex op>
bool try_evex_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& out, uint32_t& flags) {
    return evex_serves(op, rm) && host_has_avx512() && evex_op_s<op>(a, b, c, rm, out, flags);
}

#define VESSEL_BINARY_OP(name, nearest_fast, evex_op, try_evex, host, soft_call, F, to_host)      \
    typename F::Bits name(typename F::Bits a, typename F::Bits b, Rounding rm, uint32_t& flags) { \
        typename F::Bits fast;                                                                    \
        bool nearest = rm == Rounding::rne || rm == Rounding::rmm;                                \
        if (nearest && nearest_fast(a, b, rm == Rounding::rmm, fast, flags)) return fast;         \
        if (try_evex<evex_op>(a, b, 0, rm, fast, flags)) return fast;                             \
        if (rm == Rounding::rmm) return soft_call;                                                \
        uint32_t status;                                                                          \
        auto r = host(to_host(a), to_host(b), kMxcsrFor[static_cast<int>(rm)], status);           \
        return finish<F>(bits_of(r), status, flags);                                              \
    }

}  // namespace

VESSEL_BINARY_OP(add_s, nearest_add_s, Evex::add, try_evex_s, host_add_s,
                 soft::add_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(sub_s, nearest_sub_s, Evex::sub, try_evex_s, host_sub_s,
                 soft::add_s(a, b ^ F32::kSign, rm, flags), F32, as_float)
VESSEL_BINARY_OP(mul_s, nearest_mul_s, Evex::mul, try_evex_s, host_mul_s,
                 soft::mul_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(div_s, nearest_div_s, Evex::div, try_evex_s, host_div_s,
                 soft::div_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(add_d, nearest_add_d, Evex::add, try_evex_d, host_add_d,
                 soft::add_d(a, b, rm, flags), F64, as_double)
VESSEL_BINARY_OP(sub_d, nearest_sub_d, Evex::sub, try_evex_d, host_sub_d,
                 soft::add_d(a, b ^ F64::kSign, rm, flags), F64, as_double)
VESSEL_BINARY_OP(mul_d, nearest_mul_d, Evex::mul, try_evex_d, host_mul_d,
                 soft::mul_d(a, b, rm, flags), F64, as_double)
VESSEL_BINARY_OP(div_d, nearest_div_d, Evex::div, try_evex_d, host_div_d,
                 soft::div_d(a, b, rm, flags), F64, as_double)
#undef VESSEL_BINARY_OP

uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& flags) {
    uint32_t fast;
    if ((rm == Rounding::rne || rm == Rounding::rmm) && nearest_sqrt_s(a, fast, flags)) return fast;
    if (try_evex_s<Evex::sqrt>(a, 0, 0, rm, fast, flags)) return fast;
    if (rm == Rounding::rmm) return soft::sqrt_s(a, rm, flags);
    uint32_t status;
    float r = host_sqrt_s(0.0f, as_float(a), kMxcsrFor[static_cast<int>(rm)], status);
    return finish<F32>(bits_of(r), status, flags);
}

uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& flags) {
    uint64_t fast;
    if ((rm == Rounding::rne || rm == Rounding::rmm) && nearest_sqrt_d(a, fast, flags)) return fast;
    if (try_evex_d<Evex::sqrt>(a, 0, 0, rm, fast, flags)) return fast;
    if (rm == Rounding::rmm) return soft::sqrt_d(a, rm, flags);
    uint32_t status;
    double r = host_sqrt_d(0.0, as_double(a), kMxcsrFor[static_cast<int>(rm)], status);
    return finish<F64>(bits_of(r), status, flags);
}

namespace {

template <class F>
bool is_inf_times_zero(typename F::Bits a, typename F::Bits b) {
    return (F::is_inf(a) && F::is_zero(b)) || (F::is_zero(a) && F::is_inf(b));
}

uint32_t fma_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    uint32_t fast;
    if (try_evex_s<Evex::fma>(a, b, c, rm, fast, flags)) return fast;
    if (rm == Rounding::rmm || !host_has_fma()) return soft::fma_s(a, b, c, rm, flags);
    uint32_t status;
    float r =
        host_fma_s(as_float(a), as_float(b), as_float(c), kMxcsrFor[static_cast<int>(rm)], status);
    // SSE does not signal inf * 0 when the addend is a quiet NaN; RISC-V does.
    if (F32::is_nan(bits_of(r)) && is_inf_times_zero<F32>(a, b)) flags |= kFlagNV;
    return finish<F32>(bits_of(r), status, flags);
}

uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    uint64_t fast;
    if (try_evex_d<Evex::fma>(a, b, c, rm, fast, flags)) return fast;
    if (rm == Rounding::rmm || !host_has_fma()) return soft::fma_d(a, b, c, rm, flags);
    uint32_t status;
    double r = host_fma_d(as_double(a), as_double(b), as_double(c), kMxcsrFor[static_cast<int>(rm)],
                          status);
    if (F64::is_nan(bits_of(r)) && is_inf_times_zero<F64>(a, b)) flags |= kFlagNV;
    return finish<F64>(bits_of(r), status, flags);
}

#else  // Not x86-64: the software implementation throughout.

}  // namespace

uint32_t add_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& f) {
    return soft::add_s(a, b, rm, f);
}
uint32_t sub_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& f) {
    return soft::add_s(a, b ^ F32::kSign, rm, f);
}
uint32_t mul_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& f) {
    return soft::mul_s(a, b, rm, f);
}
uint32_t div_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& f) {
    return soft::div_s(a, b, rm, f);
}
uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& f) {
    return soft::sqrt_s(a, rm, f);
}
uint64_t add_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& f) {
    return soft::add_d(a, b, rm, f);
}
uint64_t sub_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& f) {
    return soft::add_d(a, b ^ F64::kSign, rm, f);
}
uint64_t mul_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& f) {
    return soft::mul_d(a, b, rm, f);
}
uint64_t div_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& f) {
    return soft::div_d(a, b, rm, f);
}
uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& f) {
    return soft::sqrt_d(a, rm, f);
}

namespace {

uint32_t fma_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& f) {
    return soft::fma_s(a, b, c, rm, f);
}
uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& f) {
    return soft::fma_d(a, b, c, rm, f);
}

#endif

}  // namespace

// The four fused forms negate operands, not the result: FNMADD is (-a)*b - c, so its exact-zero
// results take their sign from the negated terms, as the spec defines them.
uint32_t fmadd_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    return fma_s(a, b, c, rm, flags);
}
uint32_t fmsub_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    return fma_s(a, b, c ^ F32::kSign, rm, flags);
}
uint32_t fnmsub_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    return fma_s(a ^ F32::kSign, b, c, rm, flags);
}
uint32_t fnmadd_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags) {
    return fma_s(a ^ F32::kSign, b, c ^ F32::kSign, rm, flags);
}
uint64_t fmadd_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    return fma_d(a, b, c, rm, flags);
}
uint64_t fmsub_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    return fma_d(a, b, c ^ F64::kSign, rm, flags);
}
uint64_t fnmsub_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    return fma_d(a ^ F64::kSign, b, c, rm, flags);
}
uint64_t fnmadd_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
    return fma_d(a ^ F64::kSign, b, c ^ F64::kSign, rm, flags);
}

}  // namespace vessel::riscv::fp
