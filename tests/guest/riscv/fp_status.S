/* FP state and encoding rules: mstatus.FS = Off makes every FP instruction and FP CSR access
 * illegal (in M, S and U; mtval = instruction bits), FP work sets FS = Dirty and SD (also seen
 * through sstatus); fcsr/frm/fflags layout and masking; reserved rounding modes (static 5/6,
 * dynamic with frm = 5..7) are illegal; NaN-boxing: single results and flw/fmv.w.x write the
 * upper 32 bits as ones, an improperly boxed single operand reads as the canonical NaN, while
 * fmv.x.w/fsw move the low bits unchanged; loads, stores and moves keep signaling NaN bits. */
#include "test.h"
#include "fp.h"

.macro FS_SET value
  li t6, MSTATUS_FS
  csrc mstatus, t6
  li t6, \value
  csrs mstatus, t6
.endm

/* Checks that the instruction at `label` raised illegal instruction with mtval = its bits. */
.macro CHECK_ILLEGAL_AT label
  CHECK_TRAP CAUSE_ILLEGAL
  la t5, \label
  lwu t5, 0(t5)
  LOAD_TRAP t6, TR_TVAL
  NEXT_CASE
  bne t5, t6, test_fail
.endm

  .text
  .globl test_main
test_main:
  /* FS = Off */
  FS_SET 0
  la s0, fbuf
  EXPECT_TRAP
1:
  .option push
  .option norvc
  fld fa0, 0(s0)
  .option pop
  CHECK_ILLEGAL_AT 1b
  EXPECT_TRAP
2:
  fadd.s fa0, fa1, fa2
  CHECK_ILLEGAL_AT 2b
  EXPECT_TRAP
3:
  fmv.x.d a0, fa0
  CHECK_ILLEGAL_AT 3b
  EXPECT_TRAP
4:
  csrr a0, fflags
  CHECK_ILLEGAL_AT 4b
  EXPECT_TRAP
5:
  csrwi frm, 1
  CHECK_ILLEGAL_AT 5b
  EXPECT_TRAP
6:
  csrr a0, fcsr
  CHECK_ILLEGAL_AT 6b
  EXPECT_TRAP
  c.fld fa0, 0(s0)
  CHECK_TRAP CAUSE_ILLEGAL
  MRET_TO 1, s_off
s_off:
  EXPECT_TRAP
  fmv.w.x fa0, zero
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_1
m_1:
  MRET_TO 0, u_off
u_off:
  EXPECT_TRAP
  fsd fa0, 0(s0)
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_2
m_2:
  csrr a0, mstatus
  srli a0, a0, 63
  CHECK a0, 0                      /* SD = 0 while nothing is dirty */

  /* Initial -> Dirty on an FP instruction; SD follows; sstatus shows both */
  FS_SET MSTATUS_FS_INITIAL
  fadd.d fa0, fa1, fa2
  csrr a0, mstatus
  li a1, MSTATUS_FS
  and a2, a0, a1
  CHECK a2, MSTATUS_FS_DIRTY
  srli a2, a0, 63
  CHECK a2, 1
  csrr a0, sstatus
  and a2, a0, a1
  CHECK a2, MSTATUS_FS_DIRTY
  srli a2, a0, 63
  CHECK a2, 1
  /* Clean -> Dirty on an FP load and on an FP CSR write */
  FS_SET MSTATUS_FS_CLEAN
  fld fa0, 0(s0)
  csrr a0, mstatus
  and a2, a0, a1
  CHECK a2, MSTATUS_FS_DIRTY
  FS_SET MSTATUS_FS_CLEAN
  csrwi fflags, 0
  csrr a0, mstatus
  and a2, a0, a1
  CHECK a2, MSTATUS_FS_DIRTY
  /* FP works in S and U once enabled */
  MRET_TO 0, u_on
u_on:
  fmv.w.x fa0, zero
  BACK_TO_M m_3
m_3:

  /* fcsr layout */
  li a0, -1
  csrw fcsr, a0
  csrr a1, fcsr
  CHECK a1, 0xff
  csrr a1, frm
  CHECK a1, 7
  csrr a1, fflags
  CHECK a1, 0x1f
  csrwi frm, 3
  csrr a1, fcsr
  CHECK a1, 0x7f
  fsflags a2, zero                 /* swaps, returning the old flags */
  CHECK a2, 0x1f
  csrr a1, fcsr
  CHECK a1, 0x60
  csrsi fflags, NV | NX
  csrr a1, fcsr
  CHECK a1, 0x60 | NV | NX
  csrw fcsr, zero

  /* reserved rounding modes */
  EXPECT_TRAP
  .word 0x00c5d553                 /* fadd.s fa0, fa1, fa2 with rm = 5 */
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  .word 0x00c5e553                 /* rm = 6 */
  CHECK_TRAP CAUSE_ILLEGAL
  csrwi frm, 5
  EXPECT_TRAP
  fadd.s fa0, fa1, fa2, dyn
  CHECK_TRAP CAUSE_ILLEGAL
  csrwi frm, 7
  EXPECT_TRAP
  fmul.d fa0, fa1, fa2, dyn
  CHECK_TRAP CAUSE_ILLEGAL
  csrwi frm, 0
  fadd.s fa0, fa1, fa2, dyn        /* valid again */

  /* NaN-boxing */
  li a0, 0x3f800000
  fmv.w.x fa1, a0
  fmv.x.d a1, fa1
  CHECK a1, 0xffffffff3f800000
  flw fa1, 8(s0)
  fmv.x.d a1, fa1
  CHECK a1, 0xffffffff40000000
  fadd.s fa2, fa1, fa1
  fmv.x.d a1, fa2
  CHECK a1, 0xffffffff40800000
  li a0, 0x000000003f800000        /* a single without its box */
  fmv.d.x fa1, a0
  li a0, 0x3f800000
  fmv.w.x fa2, a0
  fsflags zero
  fadd.s fa0, fa1, fa2
  fmv.x.d a1, fa0
  CHECK a1, 0xffffffff7fc00000
  frflags a1
  CHECK a1, 0
  fclass.s a1, fa1
  CHECK a1, 1 << 9
  fsgnj.s fa0, fa1, fa2
  fmv.x.d a1, fa0
  CHECK a1, 0xffffffff7fc00000
  fcvt.d.s fa0, fa1
  fmv.x.d a1, fa0
  CHECK a1, 0x7ff8000000000000
  feq.s a1, fa2, fa1
  CHECK a1, 0
  fmv.x.w a1, fa1                  /* moves the low 32 bits as they are */
  CHECK a1, 0x3f800000
  fsw fa1, 16(s0)
  lwu a1, 16(s0)
  CHECK a1, 0x3f800000
  li a0, 0xffffffff80000001
  fmv.d.x fa1, a0
  fmv.x.w a1, fa1                  /* sign-extended */
  CHECK a1, 0xffffffff80000001
  /* signaling NaNs pass through loads, stores and moves */
  fld fa3, 24(s0)
  fsd fa3, 32(s0)
  ld a1, 32(s0)
  CHECK a1, 0x7ff0000000000001
  fmv.x.d a1, fa3
  CHECK a1, 0x7ff0000000000001
  flw fa3, 40(s0)
  fsw fa3, 44(s0)
  lwu a1, 44(s0)
  CHECK a1, 0x7f800001
  csrr a1, fflags
  CHECK a1, 0
  PASS

  .data
  .balign 8
fbuf:
  .dword 0x3ff0000000000000
  .word 0x40000000, 0
  .dword 0
  .dword 0x7ff0000000000001
  .dword 0
  .word 0x7f800001, 0
