// RISC-V F and D extension arithmetic (unprivileged spec v20191213, chapters 11 and 12) as pure
// functions on raw IEEE-754 bit patterns. Results follow RISC-V rather than x86: every NaN result
// is the canonical NaN, tininess is detected after rounding, fcvt to integers saturates, and rmm
// (ties away from zero) is exact.
//
// How a hart uses it:
//  - rounding: resolve_rounding(rm field, frm) before calling; nullopt = illegal instruction.
//  - flags: every function ORs the exceptions it raises into `flags` (fflags layout), so pass
//    the accrued fflags field directly; when it changes (or an f register is written), set
//    mstatus.FS to Dirty.
//  - singles: read every single-precision operand through unbox_s() (an improperly boxed register
//    reads as the canonical NaN) and write every single-precision result, FLW and FMV.W.X through
//    box_s(). FSW and FMV.X.W move the low 32 bits unchanged (FMV.X.W sign-extends them); FSGNJ*.S
//    unboxes its operands like any other single instruction.
//  - integer results: FCVT.W[U].[SD] return 32 bits that RV64 sign-extends into rd (also WU);
//    FEQ/FLT/FLE/FCLASS write 0/1 or the class mask zero-extended.
//  - host state: the x86-64 fast paths assume the calling thread's MXCSR is the process default
//    (round to nearest, no flush-to-zero); the library itself always restores it.
#pragma once

#include <cstdint>
#include <optional>

namespace vessel::riscv::fp {

enum class Rounding : uint8_t { rne = 0, rtz = 1, rdn = 2, rup = 3, rmm = 4 };

// The rm field (instruction bits 14:12) or frm; 5 and 6 are reserved, 7 means "use frm".
inline constexpr uint8_t kRoundingDynamic = 7;
inline constexpr bool is_valid_rounding(uint8_t rm) {
    return rm <= 4;
}

// The rounding mode an instruction uses: its rm field, or frm when the field is 7 (dyn). nullopt
// means the instruction is illegal (rm 5 or 6, or dyn with frm 5, 6 or 7) and the hart raises an
// illegal-instruction exception. FCVT.D.S and FCVT.D.W[U] cannot round but their rm field
// decodes like any other (an invalid value is illegal); FMIN/FMAX, FSGNJ*, FEQ/FLT/FLE, FCLASS and
// FMV have no rm field (funct3 selects the operation).
inline constexpr std::optional<Rounding> resolve_rounding(uint8_t rm_field, uint8_t frm) {
    uint8_t rm = rm_field == kRoundingDynamic ? frm : rm_field;
    if (!is_valid_rounding(rm)) return std::nullopt;
    return static_cast<Rounding>(rm);
}

inline constexpr uint32_t kFlagNX = 0x01;  // inexact
inline constexpr uint32_t kFlagUF = 0x02;  // underflow (tiny after rounding and inexact)
inline constexpr uint32_t kFlagOF = 0x04;  // overflow
inline constexpr uint32_t kFlagDZ = 0x08;  // divide by zero
inline constexpr uint32_t kFlagNV = 0x10;  // invalid operation

inline constexpr uint32_t kCanonicalNanS = 0x7fc00000u;
inline constexpr uint64_t kCanonicalNanD = 0x7ff8000000000000ull;

// NaN-boxing (spec 12.2): a single in a 64-bit f register has its upper 32 bits all ones. FLW,
// FMV.W.X and every single-precision result write box_s(result); every single-precision operand
// is read through unbox_s, which turns an improperly boxed value into the canonical NaN.
inline constexpr uint64_t box_s(uint32_t v) {
    return 0xffffffff00000000ull | v;
}
inline constexpr uint32_t unbox_s(uint64_t v) {
    return (v >> 32) == 0xffffffffu ? static_cast<uint32_t>(v) : kCanonicalNanS;
}

// fclass result bits.
inline constexpr uint32_t kClassNegInf = 1u << 0;
inline constexpr uint32_t kClassNegNormal = 1u << 1;
inline constexpr uint32_t kClassNegSubnormal = 1u << 2;
inline constexpr uint32_t kClassNegZero = 1u << 3;
inline constexpr uint32_t kClassPosZero = 1u << 4;
inline constexpr uint32_t kClassPosSubnormal = 1u << 5;
inline constexpr uint32_t kClassPosNormal = 1u << 6;
inline constexpr uint32_t kClassPosInf = 1u << 7;
inline constexpr uint32_t kClassSignalingNan = 1u << 8;
inline constexpr uint32_t kClassQuietNan = 1u << 9;

// Single precision (F).
uint32_t add_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t sub_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t mul_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t div_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& flags);
uint32_t fmadd_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags);   //  a*b + c
uint32_t fmsub_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags);   //  a*b - c
uint32_t fnmsub_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags);  // -a*b + c
uint32_t fnmadd_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags);  // -a*b - c
uint32_t min_s(uint32_t a, uint32_t b, uint32_t& flags);
uint32_t max_s(uint32_t a, uint32_t b, uint32_t& flags);
bool eq_s(uint32_t a, uint32_t b, uint32_t& flags);
bool lt_s(uint32_t a, uint32_t b, uint32_t& flags);
bool le_s(uint32_t a, uint32_t b, uint32_t& flags);
uint32_t classify_s(uint32_t a);
inline constexpr uint32_t sgnj_s(uint32_t a, uint32_t b) {
    return (a & 0x7fffffffu) | (b & 0x80000000u);
}
inline constexpr uint32_t sgnjn_s(uint32_t a, uint32_t b) {
    return (a & 0x7fffffffu) | (~b & 0x80000000u);
}
inline constexpr uint32_t sgnjx_s(uint32_t a, uint32_t b) {
    return a ^ (b & 0x80000000u);
}
// FCVT.W[U].S: on RV64 the hart sign-extends the 32-bit result, also for the unsigned form.
int32_t cvt_w_s(uint32_t a, Rounding rm, uint32_t& flags);
uint32_t cvt_wu_s(uint32_t a, Rounding rm, uint32_t& flags);
int64_t cvt_l_s(uint32_t a, Rounding rm, uint32_t& flags);
uint64_t cvt_lu_s(uint32_t a, Rounding rm, uint32_t& flags);
uint32_t cvt_s_w(int32_t v, Rounding rm, uint32_t& flags);
uint32_t cvt_s_wu(uint32_t v, Rounding rm, uint32_t& flags);
uint32_t cvt_s_l(int64_t v, Rounding rm, uint32_t& flags);
uint32_t cvt_s_lu(uint64_t v, Rounding rm, uint32_t& flags);

// Double precision (D).
uint64_t add_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t sub_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t mul_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t div_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& flags);
uint64_t fmadd_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags);
uint64_t fmsub_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags);
uint64_t fnmsub_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags);
uint64_t fnmadd_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags);
uint64_t min_d(uint64_t a, uint64_t b, uint32_t& flags);
uint64_t max_d(uint64_t a, uint64_t b, uint32_t& flags);
bool eq_d(uint64_t a, uint64_t b, uint32_t& flags);
bool lt_d(uint64_t a, uint64_t b, uint32_t& flags);
bool le_d(uint64_t a, uint64_t b, uint32_t& flags);
uint32_t classify_d(uint64_t a);
inline constexpr uint64_t kSignD = 0x8000000000000000ull;
inline constexpr uint64_t sgnj_d(uint64_t a, uint64_t b) {
    return (a & ~kSignD) | (b & kSignD);
}
inline constexpr uint64_t sgnjn_d(uint64_t a, uint64_t b) {
    return (a & ~kSignD) | (~b & kSignD);
}
inline constexpr uint64_t sgnjx_d(uint64_t a, uint64_t b) {
    return a ^ (b & kSignD);
}
int32_t cvt_w_d(uint64_t a, Rounding rm, uint32_t& flags);
uint32_t cvt_wu_d(uint64_t a, Rounding rm, uint32_t& flags);
int64_t cvt_l_d(uint64_t a, Rounding rm, uint32_t& flags);
uint64_t cvt_lu_d(uint64_t a, Rounding rm, uint32_t& flags);
uint64_t cvt_d_w(int32_t v, Rounding rm, uint32_t& flags);  // exact; rm accepted for uniformity
uint64_t cvt_d_wu(uint32_t v, Rounding rm, uint32_t& flags);
uint64_t cvt_d_l(int64_t v, Rounding rm, uint32_t& flags);
uint64_t cvt_d_lu(uint64_t v, Rounding rm, uint32_t& flags);

uint32_t cvt_s_d(uint64_t a, Rounding rm, uint32_t& flags);
uint64_t cvt_d_s(uint32_t a, uint32_t& flags);  // exact; NV only for a signaling NaN

// The portable software implementation of the rounded arithmetic. The functions above use the
// host FPU for rne/rtz/rdn/rup where it is exact and these for rmm (and on non-x86 hosts); they
// are public so tests and benchmarks can check both paths.
namespace soft {
uint32_t add_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t mul_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t div_s(uint32_t a, uint32_t b, Rounding rm, uint32_t& flags);
uint32_t sqrt_s(uint32_t a, Rounding rm, uint32_t& flags);
uint32_t fma_s(uint32_t a, uint32_t b, uint32_t c, Rounding rm, uint32_t& flags);
uint64_t add_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t mul_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t div_d(uint64_t a, uint64_t b, Rounding rm, uint32_t& flags);
uint64_t sqrt_d(uint64_t a, Rounding rm, uint32_t& flags);
uint64_t fma_d(uint64_t a, uint64_t b, uint64_t c, Rounding rm, uint32_t& flags);
}  // namespace soft

}  // namespace vessel::riscv::fp
