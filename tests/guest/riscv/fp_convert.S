/* F/D conversions: fcvt.{w,wu,l,lu}.{s,d} rounding, saturation (NaN and +inf to the largest
 * value, -inf to the smallest, out-of-range after rounding is invalid) and flags, the 32-bit
 * results sign-extended (also for the unsigned forms); fcvt.{s,d}.{w,wu,l,lu} rounding and the
 * W forms reading only 32 bits; fcvt.s.d / fcvt.d.s rounding, overflow, underflow and NaN
 * canonicalization. */
#include "test.h"
#include "fp.h"

/* a0 = op (source loaded as single: S, or double: D), result and flags as two cases. */
.macro TCX op, prec, a, rm, exp, flags
  LOAD_\prec \a, 0, 0
  fsflags zero
  \op a0, fa1, \rm
  CHECK a0, \exp
  frflags t5
  CHECK t5, \flags
.endm

/* fa0 = op of the integer a; single results are one case, doubles two. */
.macro TCFS op, a, rm, exp, flags
  li a1, \a
  fsflags zero
  \op fa0, a1, \rm
  CHECK_S \exp, \flags
.endm
.macro TCFD op, a, rm, exp, flags
  li a1, \a
  fsflags zero
  \op fa0, a1, \rm
  CHECK_D \exp, \flags
.endm
.macro TCFDN op, a, exp, flags                          /* exact: no rounding mode */
  li a1, \a
  fsflags zero
  \op fa0, a1
  CHECK_D \exp, \flags
.endm

  .text
  .globl test_main
test_main:
  FP_ON
  TCX fcvt.w.s, S, 0x3fc00000, rne, 2, NX               /* 1.5 */
  TCX fcvt.w.s, S, 0x40200000, rne, 2, NX               /* 2.5: ties to even */
  TCX fcvt.w.s, S, 0x40200000, rmm, 3, NX
  TCX fcvt.w.s, S, 0xbfc00000, rtz, -1, NX              /* -1.5 */
  TCX fcvt.w.s, S, 0xbfc00000, rdn, -2, NX
  TCX fcvt.w.s, S, 0x7fc00000, rne, 0x7fffffff, NV
  TCX fcvt.w.s, S, 0x7f800000, rne, 0x7fffffff, NV
  TCX fcvt.w.s, S, 0xff800000, rne, 0xffffffff80000000, NV
  TCX fcvt.w.s, S, 0x4f32d05e, rne, 0x7fffffff, NV      /* 3e9 */
  TCX fcvt.w.s, S, 0xcf000000, rne, 0xffffffff80000000, 0
  TCX fcvt.wu.s, S, 0xbf800000, rne, 0, NV              /* -1.0 */
  TCX fcvt.wu.s, S, 0xbf000000, rtz, 0, NX              /* -0.5 rounds to 0: valid */
  TCX fcvt.wu.s, S, 0x7fc00000, rne, -1, NV
  TCX fcvt.wu.s, S, 0x4f32d05e, rne, 0xffffffffb2d05e00, 0
  TCX fcvt.wu.s, S, 0x4f800000, rne, -1, NV             /* 2^32 */
  TCX fcvt.l.s, S, 0x7f800000, rne, 0x7fffffffffffffff, NV
  TCX fcvt.l.s, S, 0x7fc00000, rne, 0x7fffffffffffffff, NV
  TCX fcvt.l.s, S, 0xff800000, rne, 0x8000000000000000, NV
  TCX fcvt.l.s, S, 0x5e800000, rne, 0x4000000000000000, 0
  TCX fcvt.lu.s, S, 0xbf800000, rne, 0, NV
  TCX fcvt.lu.s, S, 0x7fc00000, rne, -1, NV
  TCX fcvt.lu.s, S, 0x5f000000, rne, 0x8000000000000000, 0
  TCX fcvt.lu.s, S, 0x5f800000, rne, -1, NV             /* 2^64 */
  TCX fcvt.w.d, D, 0x41dfffffffe00000, rtz, 0x7fffffff, NX   /* 2147483647.5 */
  TCX fcvt.w.d, D, 0x41dfffffffe00000, rne, 0x7fffffff, NV   /* rounds out of range */
  TCX fcvt.w.d, D, 0xc1e0000000100000, rtz, 0xffffffff80000000, NX
  TCX fcvt.wu.d, D, 0x41efffffffe00000, rne, -1, 0      /* 4294967295: sign-extended */
  TCX fcvt.l.d, D, 0x7ff8000000000000, rne, 0x7fffffffffffffff, NV
  TCX fcvt.l.d, D, 0xc3e0000000000000, rne, 0x8000000000000000, 0
  TCX fcvt.lu.d, D, 0x4415af1d78b58c40, rne, -1, NV     /* 1e20 */
  TCX fcvt.lu.d, D, 0x3feccccccccccccd, rup, 1, NX      /* 0.9 */
  TCX fcvt.lu.d, D, 0x3feccccccccccccd, rdn, 0, NX
  TCFS fcvt.s.w, -1, rne, 0xbf800000, 0
  TCFS fcvt.s.w, 0x100000005, rne, 0x40a00000, 0        /* only the low 32 bits */
  TCFS fcvt.s.wu, 0xffffffff, rne, 0x4f800000, NX
  TCFS fcvt.s.wu, 0xffffffff, rtz, 0x4f7fffff, NX
  TCFS fcvt.s.l, 0x7fffffffffffffff, rne, 0x5f000000, NX
  TCFS fcvt.s.lu, 0xffffffffffffffff, rne, 0x5f800000, NX
  TCFS fcvt.s.l, 16777217, rne, 0x4b800000, NX
  TCFS fcvt.s.l, 16777217, rup, 0x4b800001, NX
  TCFS fcvt.s.l, -16777217, rdn, 0xcb800001, NX
  TCFDN fcvt.d.w, -5, 0xc014000000000000, 0
  TCFDN fcvt.d.wu, 0xffffffff, 0x41efffffffe00000, 0
  TCFD fcvt.d.l, 0x20000000000001, rne, 0x4340000000000000, NX
  TCFD fcvt.d.l, 0x20000000000001, rup, 0x4340000000000001, NX
  TCFD fcvt.d.lu, -1, rne, 0x43f0000000000000, NX
  /* double to single and back */
  LOAD_D 0x3fd5555555555555, 0, 0
  fsflags zero
  fcvt.s.d fa0, fa1, rne
  CHECK_S 0x3eaaaaab, NX
  fsflags zero
  fcvt.s.d fa0, fa1, rtz
  CHECK_S 0x3eaaaaaa, NX
  LOAD_D 0x7e37e43c8800759c, 0, 0                      /* 1e300 */
  fsflags zero
  fcvt.s.d fa0, fa1, rne
  CHECK_S 0x7f800000, OF | NX
  fsflags zero
  fcvt.s.d fa0, fa1, rtz
  CHECK_S 0x7f7fffff, OF | NX
  LOAD_D 0x01a56e1fc2f8f359, 0, 0                      /* 1e-300 */
  fsflags zero
  fcvt.s.d fa0, fa1, rne
  CHECK_S 0, UF | NX
  LOAD_D 0x7ff8000000012345, 0, 0
  fsflags zero
  fcvt.s.d fa0, fa1, rne
  CHECK_S 0x7fc00000, 0
  LOAD_D 0x7ff0000000000001, 0, 0
  fsflags zero
  fcvt.s.d fa0, fa1, rne
  CHECK_S 0x7fc00000, NV
  LOAD_S 0x3eaaaaab, 0, 0
  fsflags zero
  fcvt.d.s fa0, fa1
  CHECK_D 0x3fd5555560000000, 0
  LOAD_S 0x7f800001, 0, 0
  fsflags zero
  fcvt.d.s fa0, fa1
  CHECK_D 0x7ff8000000000000, NV
  LOAD_S 0x80000000, 0, 0
  fsflags zero
  fcvt.d.s fa0, fa1
  CHECK_D 0x8000000000000000, 0
  PASS
