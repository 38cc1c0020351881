// The public rounded arithmetic. On x86-64 the four rounding modes SSE has (rne, rtz, rdn, rup)
// run on the host FPU: one asm block loads MXCSR with the mode and cleared flags, does the
// operation, reads the flags back and restores the caller's MXCSR, so the compiler can neither
// fold the operation nor move it out of the rounding mode. SSE already detects tininess after
// rounding, like RISC-V (the unit tests pin this), so only NaN results need fixing. rmm, which SSE
// lacks, and non-x86 hosts use the software implementation.
#include "vm/riscv/fpu.h"
#include "vm/riscv/fpu_format.h"

#include <bit>

namespace vessel::riscv::fp {
namespace {

#if defined(__x86_64__)

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

#define VESSEL_BINARY_OP(name, host, soft_call, F, to_host)                                       \
    typename F::Bits name(typename F::Bits a, typename F::Bits b, Rounding rm, uint32_t& flags) { \
        if (rm == Rounding::rmm) return soft_call;                                                \
        uint32_t status;                                                                          \
        auto r = host(to_host(a), to_host(b), kMxcsrFor[static_cast<int>(rm)], status);           \
        return finish<F>(bits_of(r), status, flags);                                              \
    }

}  // namespace

VESSEL_BINARY_OP(add_s, host_add_s, soft::add_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(sub_s, host_sub_s, soft::add_s(a, b ^ F32::kSign, rm, flags), F32, as_float)
VESSEL_BINARY_OP(mul_s, host_mul_s, soft::mul_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(div_s, host_div_s, soft::div_s(a, b, rm, flags), F32, as_float)
VESSEL_BINARY_OP(add_d, host_add_d, soft::add_d(a, b, rm, flags), F64, as_double)
VESSEL_BINARY_OP(sub_d, host_sub_d, soft::add_d(a, b ^ F64::kSign, rm, flags), F64, as_double)
VESSEL_BINARY_OP(mul_d, host_mul_d, soft::mul_d(a, b, rm, flags), F64, as_double)
VESSEL_BINARY_OP(div_d, host_div_d, soft::div_d(a, b, rm, flags), F64, as_double)
#undef VESSEL_BINARY_OP

uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& flags) {
    if (rm == Rounding::rmm) return soft::sqrt_s(a, rm, flags);
    uint32_t status;
    float r = host_sqrt_s(0.0f, as_float(a), kMxcsrFor[static_cast<int>(rm)], status);
    return finish<F32>(bits_of(r), status, flags);
}

uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& flags) {
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
    if (rm == Rounding::rmm || !host_has_fma()) return soft::fma_s(a, b, c, rm, flags);
    uint32_t status;
    float r =
        host_fma_s(as_float(a), as_float(b), as_float(c), kMxcsrFor[static_cast<int>(rm)], status);
    // SSE does not signal inf * 0 when the addend is a quiet NaN; RISC-V does.
    if (F32::is_nan(bits_of(r)) && is_inf_times_zero<F32>(a, b)) flags |= kFlagNV;
    return finish<F32>(bits_of(r), status, flags);
}

uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags) {
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
