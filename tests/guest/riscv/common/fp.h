/* Helpers shared by the floating-point tests. Flags: NX 1, UF 2, OF 4, DZ 8, NV 16. */
#ifndef VESSEL_RISCV_FP_H
#define VESSEL_RISCV_FP_H

#define NX 0x01
#define UF 0x02
#define OF 0x04
#define DZ 0x08
#define NV 0x10

#ifdef __ASSEMBLER__
.macro FP_ON
  li t6, MSTATUS_FS
  csrs mstatus, t6
.endm

/* fa1 = single with bits a, fa2 = single with bits b, fa3 = single c (NaN-boxed by fmv.w.x). */
.macro LOAD_S a, b, c
  li t6, \a
  fmv.w.x fa1, t6
  li t6, \b
  fmv.w.x fa2, t6
  li t6, \c
  fmv.w.x fa3, t6
.endm

/* Checks ((low 32 bits of fmv.x.w fa0) << 8) | fflags == (exp << 8) | flags, one case. */
.macro CHECK_S exp, flags
  fmv.x.w t5, fa0
  slli t5, t5, 32
  srli t5, t5, 24
  frflags t6
  or t5, t5, t6
  CHECK t5, (((\exp) << 8) | (\flags))
.endm

/* Checks (a0 << 8) | fflags for instructions with an integer result, one case. */
.macro CHECK_X exp, flags
  slli t5, a0, 8
  frflags t6
  or t5, t5, t6
  CHECK t5, (((\exp) << 8) | (\flags))
.endm

/* Single-precision tests: fa0 = op operands..., then CHECK_S. */
.macro TS2 op, a, b, rm, exp, flags
  LOAD_S \a, \b, 0
  fsflags zero
  \op fa0, fa1, fa2, \rm
  CHECK_S \exp, \flags
.endm
.macro TS2N op, a, b, exp, flags         /* no rounding mode operand */
  LOAD_S \a, \b, 0
  fsflags zero
  \op fa0, fa1, fa2
  CHECK_S \exp, \flags
.endm
.macro TS1 op, a, rm, exp, flags
  LOAD_S \a, 0, 0
  fsflags zero
  \op fa0, fa1, \rm
  CHECK_S \exp, \flags
.endm
.macro TS3 op, a, b, c, rm, exp, flags
  LOAD_S \a, \b, \c
  fsflags zero
  \op fa0, fa1, fa2, fa3, \rm
  CHECK_S \exp, \flags
.endm
.macro TSCMP op, a, b, exp, flags
  LOAD_S \a, \b, 0
  fsflags zero
  \op a0, fa1, fa2
  CHECK_X \exp, \flags
.endm
/* fclass and other one-operand instructions with an integer result. */
.macro TS1X op, a, exp, flags
  LOAD_S \a, 0, 0
  fsflags zero
  \op a0, fa1
  CHECK_X \exp, \flags
.endm

/* Double-precision: fa1, fa2, fa3 = bits; result value and flags are two cases. */
.macro LOAD_D a, b, c
  li t6, \a
  fmv.d.x fa1, t6
  li t6, \b
  fmv.d.x fa2, t6
  li t6, \c
  fmv.d.x fa3, t6
.endm
.macro CHECK_D exp, flags
  fmv.x.d t5, fa0
  CHECK t5, \exp
  frflags t5
  CHECK t5, \flags
.endm
.macro TD2 op, a, b, rm, exp, flags
  LOAD_D \a, \b, 0
  fsflags zero
  \op fa0, fa1, fa2, \rm
  CHECK_D \exp, \flags
.endm
.macro TD2N op, a, b, exp, flags
  LOAD_D \a, \b, 0
  fsflags zero
  \op fa0, fa1, fa2
  CHECK_D \exp, \flags
.endm
.macro TD1 op, a, rm, exp, flags
  LOAD_D \a, 0, 0
  fsflags zero
  \op fa0, fa1, \rm
  CHECK_D \exp, \flags
.endm
.macro TD3 op, a, b, c, rm, exp, flags
  LOAD_D \a, \b, \c
  fsflags zero
  \op fa0, fa1, fa2, fa3, \rm
  CHECK_D \exp, \flags
.endm
.macro TDCMP op, a, b, exp, flags
  LOAD_D \a, \b, 0
  fsflags zero
  \op a0, fa1, fa2
  CHECK_X \exp, \flags
.endm
.macro TD1X op, a, exp, flags
  LOAD_D \a, 0, 0
  fsflags zero
  \op a0, fa1
  CHECK_X \exp, \flags
.endm
#endif
#endif
