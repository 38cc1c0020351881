/* RV64M: the four multiplies (low and high halves, every signedness), MULW sign extension, and
 * the eight divides including division by zero (quotient all ones, remainder = dividend) and
 * signed overflow (INT_MIN / -1 = INT_MIN, remainder 0), 64- and 32-bit forms. */
#include "test.h"

.macro TRR op, a, b, exp
  li a1, \a
  li a2, \b
  \op a3, a1, a2
  CHECK a3, \exp
.endm

  .text
  .globl test_main
test_main:
  TRR mul, 3, 7, 21
  TRR mul, -1, -1, 1
  TRR mul, 0x8000000000000000, -1, 0x8000000000000000
  TRR mul, 0x100000001, 0x100000001, 0x200000001
  TRR mulh, -1, -1, 0
  TRR mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000
  TRR mulh, -1, 1, -1
  TRR mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff
  TRR mulhu, -1, -1, 0xfffffffffffffffe
  TRR mulhu, -1, 2, 1
  TRR mulhu, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000
  TRR mulhsu, -1, -1, -1          /* rs1 signed, rs2 unsigned */
  TRR mulhsu, 1, -1, 0
  TRR mulhsu, 0x8000000000000000, 2, -1
  TRR mulhsu, 2, 0x8000000000000000, 1
  TRR mulw, 0x7fffffff, 2, -2
  TRR mulw, 0x100000003, 0x100000005, 15
  TRR mulw, 0x10000, 0x10000, 0
  TRR mulw, 0x8000, 0x10000, 0xffffffff80000000
  TRR div, 20, 6, 3
  TRR div, -20, 6, -3             /* rounds toward zero */
  TRR div, 20, -6, -3
  TRR div, -20, -6, 3
  TRR div, 20, 0, -1
  TRR div, 0x8000000000000000, -1, 0x8000000000000000
  TRR divu, -20, 6, 0x2aaaaaaaaaaaaaa7
  TRR divu, 20, 0, -1
  TRR divu, 0x8000000000000000, -1, 0
  TRR rem, 20, 6, 2
  TRR rem, -20, 6, -2             /* sign of the dividend */
  TRR rem, 20, -6, 2
  TRR rem, 20, 0, 20
  TRR rem, -7, 0, -7
  TRR rem, 0x8000000000000000, -1, 0
  TRR remu, -20, 6, 2
  TRR remu, 20, 0, 20
  TRR remu, -1, 0, -1
  TRR divw, -20, 6, -3
  TRR divw, 0x100000014, 6, 3     /* only the low 32 bits are used */
  TRR divw, 20, 0, -1
  TRR divw, 0x80000000, -1, 0xffffffff80000000
  TRR divw, 0x80000000, 0x100000000, -1   /* divisor's low 32 bits are 0 */
  TRR divuw, 0x80000000, 1, 0xffffffff80000000   /* the 32-bit result is sign-extended */
  TRR divuw, -20, 6, 0x2aaaaaa7
  TRR divuw, 20, 0, -1
  TRR remw, -20, 6, -2
  TRR remw, 0x123456789, 0, 0x23456789
  TRR remw, 0x80000000, -1, 0
  TRR remw, 0xfffffff5, 0, -11
  TRR remuw, 0xfffffffe, 0, -2
  TRR remuw, -20, 6, 2
  TRR remuw, 0x1ffffffff, 0x100000010, 0xf
  /* the destination may be a source */
  li a1, 6
  li a2, 7
  mul a1, a1, a2
  CHECK a1, 42
  div a2, a1, a2
  CHECK a2, 6
  PASS
