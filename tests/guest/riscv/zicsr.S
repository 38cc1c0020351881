/* Zicsr and Zicntr: csrrw/csrrs/csrrc and their immediate forms (old value returned, rs1 = x0 /
 * uimm = 0 do not write), writes to read-only CSRs and accesses to unimplemented CSRs raise
 * illegal instruction with mtval = the instruction bits, identification CSRs, mstatus.SXL/UXL
 * = 64-bit, sstatus/sie as views of mstatus/mie, cycle/instret/time (time agrees with the
 * CLINT's mtime, readable in M-mode), mcounteren/scounteren gating for S and U, PMP CSRs (WARL,
 * written and read back), menvcfg/senvcfg, mconfigptr, mcountinhibit and the hpm counter/event
 * CSRs present. */
#include "test.h"

/* Expects the instruction at `label` to raise illegal instruction with mtval = its bits. */
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
  /* read-modify-write forms on sscratch */
  li a0, 0x1234
  csrw sscratch, a0
  li a1, 0xff00
  csrrw a2, sscratch, a1
  CHECK a2, 0x1234
  li a1, 0x00ff
  csrrs a2, sscratch, a1
  CHECK a2, 0xff00
  csrr a2, sscratch
  CHECK a2, 0xffff
  li a1, 0x0ff0
  csrrc a2, sscratch, a1
  CHECK a2, 0xffff
  csrr a2, sscratch
  CHECK a2, 0xf00f
  csrrwi a2, sscratch, 31
  CHECK a2, 0xf00f
  csrrsi a2, sscratch, 0x40 >> 2   /* uimm = 16 */
  CHECK a2, 31
  csrrci a2, sscratch, 1
  CHECK a2, 31
  csrr a2, sscratch
  CHECK a2, 30
  li a1, -1
  csrw sscratch, a1
  csrr a2, sscratch
  CHECK a2, -1                     /* full 64-bit scratch */
  csrrwi x0, sscratch, 5           /* rd = x0 still writes */
  csrr a2, sscratch
  CHECK a2, 5

  /* read-only CSRs: reads (csrrs/csrrc with x0, immediate 0) work, writes trap */
  csrr a0, mhartid
  CHECK a0, 0
  csrrsi a0, mhartid, 0
  CHECK a0, 0
  csrrc a0, mvendorid, x0
  csrr a0, marchid
  csrr a0, mimpid
  EXPECT_TRAP
1:
  csrw mhartid, a1
  CHECK_ILLEGAL_AT 1b
  li a1, 1
  EXPECT_TRAP
2:
  csrrs a0, mvendorid, a1          /* a set with a non-zero mask is a write */
  CHECK_ILLEGAL_AT 2b
  EXPECT_TRAP
3:
  csrrwi a0, cycle, 0
  CHECK_ILLEGAL_AT 3b
  EXPECT_TRAP
4:
  csrrci a0, time, 1
  CHECK_ILLEGAL_AT 4b
  /* an unimplemented (custom) CSR number */
  EXPECT_TRAP
5:
  csrr a0, 0x7c0
  CHECK_ILLEGAL_AT 5b
  /* PMP: pmpcfg1 does not exist on RV64 (only even pmpcfg) */
  EXPECT_TRAP
6:
  csrr a0, pmpcfg1
  CHECK_ILLEGAL_AT 6b

  /* misa: MXL = 64, and I M A F D C S U */
  csrr a0, misa
  srli a1, a0, 62
  CHECK a1, 2
  li a1, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20)
  and a2, a0, a1
  CHECK_REG a2, a1

  /* SXL and UXL report 64-bit S and U modes; sstatus shows UXL */
  csrr a0, mstatus
  srli a0, a0, 32
  andi a0, a0, 0xf
  CHECK a0, 0xa
  csrr a0, sstatus
  srli a0, a0, 32
  andi a0, a0, 0xf
  CHECK a0, 0x2

  /* sstatus is a view of mstatus */
  li a0, MSTATUS_SUM
  csrc mstatus, a0
  csrs sstatus, a0
  csrr a1, mstatus
  and a1, a1, a0
  CHECK_REG a1, a0
  csrc sstatus, a0
  csrr a1, mstatus
  and a1, a1, a0
  CHECK a1, 0
  li a0, MSTATUS_MIE | MSTATUS_MPP  /* M-only fields are invisible through sstatus */
  csrs mstatus, a0
  csrr a1, sstatus
  and a1, a1, a0
  CHECK a1, 0
  csrc mstatus, a0
  /* sie shows only delegated bits of mie */
  li a0, 1 << IRQ_SSI
  csrw mideleg, a0
  li a1, (1 << IRQ_SSI) | (1 << IRQ_MSI)
  csrw mie, a1
  csrr a2, sie
  CHECK a2, 1 << IRQ_SSI
  csrw mie, zero
  csrs sie, a0
  csrr a2, mie
  CHECK a2, 1 << IRQ_SSI
  csrw mie, zero
  csrw mideleg, zero

  /* counters advance; time follows the CLINT's mtime */
  rdinstret a0
  nop
  nop
  rdinstret a1
  NEXT_CASE
  bgeu a0, a1, test_fail
  rdcycle a0
  li a2, 100
1:
  addi a2, a2, -1
  bnez a2, 1b
  rdcycle a1
  NEXT_CASE
  bgeu a0, a1, test_fail
  li a3, CLINT_BASE + CLINT_MTIME
  ld a0, 0(a3)
  rdtime a1
  ld a2, 0(a3)
  NEXT_CASE
  bltu a1, a0, test_fail
  NEXT_CASE
  bltu a2, a1, test_fail
  csrr a0, mcycle
  csrr a0, minstret
  /* minstret is writable: it reads back as the written value plus what ran since (QEMU 7.2
   * counts host time-stamp ticks there, so allow a generous margin for a preempted host) */
  li a0, 1000000
  csrw minstret, a0
  csrr a1, minstret
  NEXT_CASE
  bltu a1, a0, test_fail
  sub a1, a1, a0
  srli a1, a1, 40
  CHECK a1, 0

  /* counter-enable gating: S needs mcounteren, U needs mcounteren and scounteren */
  csrw mcounteren, zero
  csrw scounteren, zero
  MRET_TO 1, s_no_counters
s_no_counters:
  EXPECT_TRAP
  rdcycle a0
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  rdtime a0
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  rdinstret a0
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_1
m_1:
  li a0, 7
  csrw mcounteren, a0
  MRET_TO 1, s_counters
s_counters:
  rdcycle a0
  rdtime a0
  rdinstret a0
  csrw scounteren, zero            /* S sets U's enables */
  BACK_TO_M m_2
m_2:
  MRET_TO 0, u_no_counters
u_no_counters:
  EXPECT_TRAP
  rdcycle a0
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  rdtime a0
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_3
m_3:
  li a0, 5                         /* CY and IR only */
  csrw scounteren, a0
  MRET_TO 0, u_counters
u_counters:
  rdcycle a0
  rdinstret a0
  EXPECT_TRAP
  rdtime a0
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_4
m_4:
  csrw mcounteren, zero
  MRET_TO 0, u_no_mcounteren       /* scounteren alone is not enough */
u_no_mcounteren:
  EXPECT_TRAP
  rdcycle a0
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_5
m_5:

  /* PMP CSRs hold what is written (within WARL limits) */
  li a0, 0x20000000
  csrw pmpaddr1, a0
  csrr a1, pmpaddr1
  CHECK_REG a1, a0
  csrr a1, pmpcfg0
  CHECK a1, 0x1f
  csrw pmpaddr1, zero
  csrr a1, pmpaddr1
  CHECK a1, 0

  /* the hardware performance monitor CSRs exist (they may be read-only zero counters). Only
   * number 3 is used: QEMU 7.2 has 16 counters and makes mhpmcounter19..31 illegal. */
  csrr a0, mhpmcounter3
  csrr a0, hpmcounter3
  csrw mhpmevent3, zero
  csrr a0, mhpmevent3
  CHECK a0, 0
  csrr a0, mcountinhibit
  csrr a0, mconfigptr

  /* menvcfg/senvcfg exist */
  csrr a0, menvcfg
  csrr a0, senvcfg
  csrw senvcfg, zero
  csrr a0, senvcfg
  CHECK a0, 0
  PASS
