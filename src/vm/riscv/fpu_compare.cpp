// Comparisons, minimum/maximum and classification: exact operations that never round, so they are
// done on the bit patterns directly.
#include "vm/riscv/fpu.h"
#include "vm/riscv/fpu_format.h"

namespace vessel::riscv::fp {
namespace {

// Orders non-NaN values as signed integers. With distinguish_zero_sign, -0 sorts below +0 (what
// fmin/fmax need); without it, -0 and +0 are equal (what the comparisons need).
template <class F>
int64_t order_key(typename F::Bits b, bool distinguish_zero_sign) {
    auto mag = static_cast<int64_t>(F::magnitude(b));
    if (!F::is_negative(b)) return mag;
    return distinguish_zero_sign ? -mag - 1 : -mag;
}

// fmin/fmax of the 2019 spec (IEEE 754-2019 minimumNumber/maximumNumber): a single NaN operand
// is ignored, two NaNs give the canonical NaN, and any signaling NaN raises NV.
template <class F>
typename F::Bits min_max(typename F::Bits a, typename F::Bits b, bool want_max, uint32_t& flags) {
    if (F::is_snan(a) || F::is_snan(b)) flags |= kFlagNV;
    bool a_nan = F::is_nan(a);
    bool b_nan = F::is_nan(b);
    if (a_nan && b_nan) return F::kCanonicalNan;
    if (a_nan) return b;
    if (b_nan) return a;
    bool a_less = order_key<F>(a, true) < order_key<F>(b, true);
    return a_less != want_max ? a : b;
}

enum class Compare { eq, lt, le };

template <class F>
bool compare(typename F::Bits a, typename F::Bits b, Compare op, uint32_t& flags) {
    if (F::is_nan(a) || F::is_nan(b)) {
        // FEQ is a quiet comparison; FLT and FLE signal on any NaN.
        if (op != Compare::eq || F::is_snan(a) || F::is_snan(b)) flags |= kFlagNV;
        return false;
    }
    int64_t ka = order_key<F>(a, false);
    int64_t kb = order_key<F>(b, false);
    switch (op) {
        case Compare::eq:
            return ka == kb;
        case Compare::lt:
            return ka < kb;
        case Compare::le:
            return ka <= kb;
    }
    return false;
}

template <class F>
uint32_t classify(typename F::Bits b) {
    bool negative = F::is_negative(b);
    typename F::Bits mag = F::magnitude(b);
    if (F::is_nan(b)) return F::is_snan(b) ? kClassSignalingNan : kClassQuietNan;
    if (mag == F::kInf) return negative ? kClassNegInf : kClassPosInf;
    if (mag == 0) return negative ? kClassNegZero : kClassPosZero;
    if (mag < F::kMinNormal) return negative ? kClassNegSubnormal : kClassPosSubnormal;
    return negative ? kClassNegNormal : kClassPosNormal;
}

}  // namespace

uint32_t min_s(uint32_t a, uint32_t b, uint32_t& flags) {
    return min_max<F32>(a, b, false, flags);
}
uint32_t max_s(uint32_t a, uint32_t b, uint32_t& flags) {
    return min_max<F32>(a, b, true, flags);
}
uint64_t min_d(uint64_t a, uint64_t b, uint32_t& flags) {
    return min_max<F64>(a, b, false, flags);
}
uint64_t max_d(uint64_t a, uint64_t b, uint32_t& flags) {
    return min_max<F64>(a, b, true, flags);
}

bool eq_s(uint32_t a, uint32_t b, uint32_t& flags) {
    return compare<F32>(a, b, Compare::eq, flags);
}
bool lt_s(uint32_t a, uint32_t b, uint32_t& flags) {
    return compare<F32>(a, b, Compare::lt, flags);
}
bool le_s(uint32_t a, uint32_t b, uint32_t& flags) {
    return compare<F32>(a, b, Compare::le, flags);
}
bool eq_d(uint64_t a, uint64_t b, uint32_t& flags) {
    return compare<F64>(a, b, Compare::eq, flags);
}
bool lt_d(uint64_t a, uint64_t b, uint32_t& flags) {
    return compare<F64>(a, b, Compare::lt, flags);
}
bool le_d(uint64_t a, uint64_t b, uint32_t& flags) {
    return compare<F64>(a, b, Compare::le, flags);
}

uint32_t classify_s(uint32_t a) {
    return classify<F32>(a);
}
uint32_t classify_d(uint64_t a) {
    return classify<F64>(a);
}

}  // namespace vessel::riscv::fp
