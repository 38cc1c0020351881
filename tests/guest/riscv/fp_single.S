/* F extension arithmetic: add/sub/mul/div/sqrt and the four fused multiply-adds in all five
 * static rounding modes and dynamic via frm, the exact fflags of each (NX, UF incl. exact tiny
 * results raising none, OF with mode-dependent results, DZ, NV), canonical NaN results (payloads
 * and signaling NaNs are not propagated), the sign of exact zero sums, fmin/fmax with signed
 * zeros and NaNs, feq/flt/fle flag rules, fclass of every class, sign injection. */
#include "test.h"
#include "fp.h"

#define ONE 0x3f800000
#define NEG_ONE 0xbf800000
#define TWO 0x40000000
#define THREE 0x40400000
#define FOUR 0x40800000
#define HALF_ULP 0x33800000          /* 2^-24: half an ulp of 1.0 */
#define ULP_UP 0x3f800001
#define NEG_ULP_UP 0xbf800001
#define QNAN 0x7fc00000
#define QNAN_PAYLOAD 0x7fc12345
#define SNAN 0x7f800001
#define INF 0x7f800000
#define NEG_INF 0xff800000
#define NEG_ZERO 0x80000000
#define MAX 0x7f7fffff
#define P2_100 0x71800000
#define N2_100 0xf1800000
#define P2_M100 0x0d800000
#define MIN_NORMAL 0x00800000
#define HALF 0x3f000000

.macro TS_DYN op, a, b, frm, exp, flags
  csrwi frm, \frm
  TS2 \op, \a, \b, dyn, \exp, \flags
.endm

  .text
  .globl test_main
test_main:
  FP_ON
  /* a tie: 1 + 2^-24, and its negative, in every static mode */
  TS2 fadd.s, ONE, HALF_ULP, rne, ONE, NX
  TS2 fadd.s, ONE, HALF_ULP, rtz, ONE, NX
  TS2 fadd.s, ONE, HALF_ULP, rdn, ONE, NX
  TS2 fadd.s, ONE, HALF_ULP, rup, ULP_UP, NX
  TS2 fadd.s, ONE, HALF_ULP, rmm, ULP_UP, NX
  TS2 fsub.s, NEG_ONE, HALF_ULP, rne, NEG_ONE, NX
  TS2 fsub.s, NEG_ONE, HALF_ULP, rtz, NEG_ONE, NX
  TS2 fsub.s, NEG_ONE, HALF_ULP, rdn, NEG_ULP_UP, NX
  TS2 fsub.s, NEG_ONE, HALF_ULP, rup, NEG_ONE, NX
  TS2 fsub.s, NEG_ONE, HALF_ULP, rmm, NEG_ULP_UP, NX
  /* the same through frm */
  TS_DYN fadd.s, ONE, HALF_ULP, 0, ONE, NX
  TS_DYN fadd.s, ONE, HALF_ULP, 1, ONE, NX
  TS_DYN fsub.s, NEG_ONE, HALF_ULP, 2, NEG_ULP_UP, NX
  TS_DYN fadd.s, ONE, HALF_ULP, 3, ULP_UP, NX
  TS_DYN fadd.s, ONE, HALF_ULP, 4, ULP_UP, NX
  csrwi frm, 0
  /* division, not a tie */
  TS2 fdiv.s, ONE, THREE, rne, 0x3eaaaaab, NX
  TS2 fdiv.s, ONE, THREE, rtz, 0x3eaaaaaa, NX
  TS2 fdiv.s, ONE, THREE, rdn, 0x3eaaaaaa, NX
  TS2 fdiv.s, ONE, THREE, rup, 0x3eaaaaab, NX
  TS2 fdiv.s, ONE, THREE, rmm, 0x3eaaaaab, NX
  TS2 fdiv.s, FOUR, TWO, rne, TWO, 0
  TS2 fdiv.s, ONE, 0, rne, INF, DZ
  TS2 fdiv.s, NEG_ONE, 0, rne, NEG_INF, DZ
  TS2 fdiv.s, 0, 0, rne, QNAN, NV
  TS2 fdiv.s, INF, INF, rne, QNAN, NV
  TS2 fdiv.s, ONE, INF, rne, 0, 0
  /* overflow: the result depends on the mode */
  TS2 fmul.s, P2_100, P2_100, rne, INF, OF | NX
  TS2 fmul.s, P2_100, P2_100, rtz, MAX, OF | NX
  TS2 fmul.s, P2_100, P2_100, rdn, MAX, OF | NX
  TS2 fmul.s, P2_100, P2_100, rup, INF, OF | NX
  TS2 fmul.s, N2_100, P2_100, rdn, NEG_INF, OF | NX
  TS2 fmul.s, N2_100, P2_100, rup, 0xff7fffff, OF | NX
  /* underflow: tiny and inexact; an exact tiny result raises nothing */
  TS2 fmul.s, P2_M100, P2_M100, rne, 0, UF | NX
  TS2 fmul.s, P2_M100, P2_M100, rup, 0x00000001, UF | NX
  TS2 fmul.s, MIN_NORMAL, HALF, rne, 0x00400000, 0
  TS2 fmul.s, 0, INF, rne, QNAN, NV
  /* NaN inputs give the canonical NaN; only signaling NaNs raise NV */
  TS2 fadd.s, SNAN, ONE, rne, QNAN, NV
  TS2 fadd.s, QNAN_PAYLOAD, ONE, rne, QNAN, 0
  TS2 fmul.s, ONE, QNAN_PAYLOAD, rne, QNAN, 0
  TS2 fadd.s, INF, NEG_INF, rne, QNAN, NV
  TS2 fsub.s, INF, INF, rne, QNAN, NV
  TS2 fadd.s, INF, ONE, rne, INF, 0
  /* exact zero sums: +0 except in RDN */
  TS2 fadd.s, ONE, NEG_ONE, rne, 0, 0
  TS2 fadd.s, ONE, NEG_ONE, rdn, NEG_ZERO, 0
  TS2 fsub.s, NEG_ZERO, 0, rne, NEG_ZERO, 0
  /* square root */
  TS1 fsqrt.s, FOUR, rne, TWO, 0
  TS1 fsqrt.s, TWO, rne, 0x3fb504f3, NX
  TS1 fsqrt.s, TWO, rtz, 0x3fb504f3, NX
  TS1 fsqrt.s, TWO, rup, 0x3fb504f4, NX
  TS1 fsqrt.s, NEG_ONE, rne, QNAN, NV
  TS1 fsqrt.s, NEG_ZERO, rne, NEG_ZERO, 0
  TS1 fsqrt.s, INF, rne, INF, 0
  /* fused multiply-add: signs, single rounding, inf*0 + qNaN is invalid */
  TS3 fmadd.s, TWO, THREE, ONE, rne, 0x40e00000, 0
  TS3 fmsub.s, TWO, THREE, ONE, rne, 0x40a00000, 0
  TS3 fnmsub.s, TWO, THREE, ONE, rne, 0xc0a00000, 0
  TS3 fnmadd.s, TWO, THREE, ONE, rne, 0xc0e00000, 0
  TS3 fmadd.s, 0x3f800800, 0x3f800800, 0xbf801000, rne, 0x33800000, 0
  TS3 fmadd.s, INF, 0, QNAN, rne, QNAN, NV
  TS3 fmadd.s, P2_100, P2_100, NEG_INF, rne, NEG_INF, 0
  TS3 fmadd.s, ONE, HALF_ULP, ONE, rup, ULP_UP, NX
  TS3 fmadd.s, ONE, HALF_ULP, ONE, rtz, ONE, NX
  /* fmin/fmax: -0 < +0, a quiet NaN operand is ignored, a signaling one also raises NV */
  TS2N fmin.s, NEG_ZERO, 0, NEG_ZERO, 0
  TS2N fmin.s, 0, NEG_ZERO, NEG_ZERO, 0
  TS2N fmax.s, NEG_ZERO, 0, 0, 0
  TS2N fmax.s, 0, NEG_ZERO, 0, 0
  TS2N fmin.s, QNAN_PAYLOAD, ONE, ONE, 0
  TS2N fmax.s, ONE, SNAN, ONE, NV
  TS2N fmin.s, QNAN_PAYLOAD, QNAN_PAYLOAD, QNAN, 0
  TS2N fmax.s, SNAN, SNAN, QNAN, NV
  TS2N fmin.s, NEG_INF, ONE, NEG_INF, 0
  TS2N fmax.s, NEG_ONE, TWO, TWO, 0
  /* comparisons: feq raises NV only for signaling NaNs, flt/fle for any NaN */
  TSCMP feq.s, ONE, ONE, 1, 0
  TSCMP feq.s, QNAN, ONE, 0, 0
  TSCMP feq.s, SNAN, ONE, 0, NV
  TSCMP flt.s, QNAN, ONE, 0, NV
  TSCMP fle.s, ONE, QNAN, 0, NV
  TSCMP feq.s, NEG_ZERO, 0, 1, 0
  TSCMP flt.s, NEG_ZERO, 0, 0, 0
  TSCMP fle.s, NEG_ZERO, 0, 1, 0
  TSCMP flt.s, ONE, TWO, 1, 0
  TSCMP fle.s, TWO, ONE, 0, 0
  /* fclass: one bit per class */
  TS1X fclass.s, NEG_INF, 1 << 0, 0
  TS1X fclass.s, NEG_ONE, 1 << 1, 0
  TS1X fclass.s, 0x807fffff, 1 << 2, 0
  TS1X fclass.s, NEG_ZERO, 1 << 3, 0
  TS1X fclass.s, 0, 1 << 4, 0
  TS1X fclass.s, 0x00000001, 1 << 5, 0
  TS1X fclass.s, MAX, 1 << 6, 0
  TS1X fclass.s, INF, 1 << 7, 0
  TS1X fclass.s, SNAN, 1 << 8, 0
  TS1X fclass.s, QNAN_PAYLOAD, 1 << 9, 0
  /* sign injection: bit patterns only, NaNs untouched, no flags */
  TS2N fsgnj.s, ONE, 0xc0000000, NEG_ONE, 0
  TS2N fsgnjn.s, ONE, 0xc0000000, ONE, 0
  TS2N fsgnjn.s, ONE, TWO, NEG_ONE, 0
  TS2N fsgnjx.s, NEG_ONE, 0xc0000000, ONE, 0
  TS2N fsgnjx.s, NEG_ONE, TWO, NEG_ONE, 0
  TS2N fsgnj.s, SNAN, NEG_ONE, 0xff800001, 0
  /* flags accrue until cleared; fcsr = frm << 5 | fflags */
  fsflags zero
  csrwi frm, 3
  LOAD_S ONE, THREE, 0
  fdiv.s fa0, fa1, fa2
  fmv.w.x ft0, zero
  fdiv.s fa0, fa1, ft0
  csrr a0, fcsr
  CHECK a0, (3 << 5) | DZ | NX
  csrwi frm, 0
  PASS
