/* D extension arithmetic: the same properties as fp_single for doubles (rounding modes static
 * and dynamic, every flag, canonical NaN, signed zeros, fused multiply-add rounding once,
 * fmin/fmax, comparisons, fclass, sign injection). Each operation checks the result and the
 * flags as two cases. */
#include "test.h"
#include "fp.h"

#define ONE 0x3ff0000000000000
#define NEG_ONE 0xbff0000000000000
#define TWO 0x4000000000000000
#define THREE 0x4008000000000000
#define FOUR 0x4010000000000000
#define HALF_ULP 0x3ca0000000000000     /* 2^-53 */
#define ULP_UP 0x3ff0000000000001
#define NEG_ULP_UP 0xbff0000000000001
#define QNAN 0x7ff8000000000000
#define QNAN_PAYLOAD 0x7ff8000000012345
#define SNAN 0x7ff0000000000001
#define INF 0x7ff0000000000000
#define NEG_INF 0xfff0000000000000
#define NEG_ZERO 0x8000000000000000
#define MAX 0x7fefffffffffffff
#define P2_600 0x6570000000000000
#define P2_M600 0x1a70000000000000

.macro TD_DYN op, a, b, frm, exp, flags
  csrwi frm, \frm
  TD2 \op, \a, \b, dyn, \exp, \flags
.endm

  .text
  .globl test_main
test_main:
  FP_ON
  TD2 fadd.d, ONE, HALF_ULP, rne, ONE, NX
  TD2 fadd.d, ONE, HALF_ULP, rtz, ONE, NX
  TD2 fadd.d, ONE, HALF_ULP, rdn, ONE, NX
  TD2 fadd.d, ONE, HALF_ULP, rup, ULP_UP, NX
  TD2 fadd.d, ONE, HALF_ULP, rmm, ULP_UP, NX
  TD2 fsub.d, NEG_ONE, HALF_ULP, rdn, NEG_ULP_UP, NX
  TD2 fsub.d, NEG_ONE, HALF_ULP, rup, NEG_ONE, NX
  TD_DYN fadd.d, ONE, HALF_ULP, 3, ULP_UP, NX
  TD_DYN fadd.d, ONE, HALF_ULP, 4, ULP_UP, NX
  TD_DYN fadd.d, ONE, HALF_ULP, 1, ONE, NX
  csrwi frm, 0
  TD2 fdiv.d, ONE, THREE, rne, 0x3fd5555555555555, NX
  TD2 fdiv.d, ONE, THREE, rup, 0x3fd5555555555556, NX
  TD2 fdiv.d, ONE, THREE, rmm, 0x3fd5555555555555, NX
  TD2 fdiv.d, ONE, 0, rne, INF, DZ
  TD2 fdiv.d, 0, 0, rne, QNAN, NV
  TD2 fmul.d, P2_600, P2_600, rne, INF, OF | NX
  TD2 fmul.d, P2_600, P2_600, rtz, MAX, OF | NX
  TD2 fmul.d, P2_M600, P2_M600, rne, 0, UF | NX
  TD2 fmul.d, P2_M600, P2_M600, rup, 1, UF | NX
  TD2 fmul.d, 0x0010000000000000, 0x3fe0000000000000, rne, 0x0008000000000000, 0
  TD2 fadd.d, SNAN, ONE, rne, QNAN, NV
  TD2 fadd.d, QNAN_PAYLOAD, ONE, rne, QNAN, 0
  TD2 fsub.d, INF, INF, rne, QNAN, NV
  TD2 fadd.d, ONE, NEG_ONE, rdn, NEG_ZERO, 0
  TD2 fadd.d, ONE, NEG_ONE, rup, 0, 0
  TD1 fsqrt.d, FOUR, rne, TWO, 0
  TD1 fsqrt.d, TWO, rne, 0x3ff6a09e667f3bcd, NX
  TD1 fsqrt.d, TWO, rtz, 0x3ff6a09e667f3bcc, NX
  TD1 fsqrt.d, NEG_ONE, rne, QNAN, NV
  TD1 fsqrt.d, NEG_ZERO, rne, NEG_ZERO, 0
  TD3 fmadd.d, TWO, THREE, ONE, rne, 0x401c000000000000, 0
  TD3 fmsub.d, TWO, THREE, ONE, rne, 0x4014000000000000, 0
  TD3 fnmsub.d, TWO, THREE, ONE, rne, 0xc014000000000000, 0
  TD3 fnmadd.d, TWO, THREE, ONE, rne, 0xc01c000000000000, 0
  TD3 fmadd.d, 0x3ff0000002000000, 0x3ff0000002000000, 0xbff0000004000000, rne, 0x3c90000000000000, 0
  TD3 fmadd.d, INF, 0, QNAN, rne, QNAN, NV
  TD2N fmin.d, NEG_ZERO, 0, NEG_ZERO, 0
  TD2N fmax.d, NEG_ZERO, 0, 0, 0
  TD2N fmin.d, QNAN, ONE, ONE, 0
  TD2N fmax.d, SNAN, ONE, ONE, NV
  TD2N fmin.d, SNAN, QNAN, QNAN, NV
  TD2N fsgnj.d, ONE, NEG_ZERO, NEG_ONE, 0
  TD2N fsgnjn.d, NEG_ONE, NEG_ONE, ONE, 0
  TD2N fsgnjx.d, NEG_ONE, NEG_ONE, ONE, 0
  TD2N fsgnjx.d, SNAN, NEG_ONE, 0xfff0000000000001, 0
  TDCMP feq.d, QNAN, QNAN, 0, 0
  TDCMP feq.d, SNAN, ONE, 0, NV
  TDCMP flt.d, ONE, QNAN, 0, NV
  TDCMP fle.d, NEG_ZERO, 0, 1, 0
  TDCMP flt.d, NEG_ONE, ONE, 1, 0
  TD1X fclass.d, NEG_INF, 1 << 0, 0
  TD1X fclass.d, NEG_ONE, 1 << 1, 0
  TD1X fclass.d, 0x800fffffffffffff, 1 << 2, 0
  TD1X fclass.d, NEG_ZERO, 1 << 3, 0
  TD1X fclass.d, 0, 1 << 4, 0
  TD1X fclass.d, 1, 1 << 5, 0
  TD1X fclass.d, MAX, 1 << 6, 0
  TD1X fclass.d, INF, 1 << 7, 0
  TD1X fclass.d, SNAN, 1 << 8, 0
  TD1X fclass.d, QNAN_PAYLOAD, 1 << 9, 0
  PASS
