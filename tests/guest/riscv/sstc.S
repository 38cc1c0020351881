/* Sstc (stimecmp). Detected through menvcfg.STCE, which is writable only when the extension is
 * implemented; without it, stimecmp must not exist (illegal instruction) and the rest is skipped.
 * With it: mip.STIP follows time >= stimecmp and is not writable through mip; S-mode reaches
 * stimecmp only with mcounteren.TM and menvcfg.STCE; a delegated supervisor timer interrupt set
 * up by S-mode alone is taken by stvec in S (wfi wakes for it). */
#include "test.h"

#define MENVCFG_STCE (1 << 63)

  .text
  .globl test_main
test_main:
  li s0, MENVCFG_STCE
  csrs menvcfg, s0
  csrr a0, menvcfg
  and a0, a0, s0
  bnez a0, have_sstc
  EXPECT_TRAP
  csrr a0, stimecmp
  CHECK_TRAP CAUSE_ILLEGAL
  PASS

have_sstc:
  li a0, -1
  csrw stimecmp, a0
  csrr a1, stimecmp
  CHECK a1, -1
  csrr a1, mip
  andi a1, a1, 1 << IRQ_STI
  CHECK a1, 0
  csrw stimecmp, zero
  csrr a1, mip
  andi a1, a1, 1 << IRQ_STI
  CHECK a1, 1 << IRQ_STI
  li a2, 1 << IRQ_STI
  csrc mip, a2                     /* STIP is driven by stimecmp, not by software */
  csrr a1, mip
  andi a1, a1, 1 << IRQ_STI
  CHECK a1, 1 << IRQ_STI
  li a0, -1
  csrw stimecmp, a0

  /* S-mode access needs mcounteren.TM and menvcfg.STCE */
  csrw mcounteren, zero
  MRET_TO 1, s_1
s_1:
  EXPECT_TRAP
  csrr a0, stimecmp
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_1
m_1:
  li a0, 2
  csrw mcounteren, a0
  csrc menvcfg, s0
  MRET_TO 1, s_2
s_2:
  EXPECT_TRAP
  csrr a0, stimecmp
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_2
m_2:
  csrs menvcfg, s0

  /* a supervisor timer interrupt, programmed and handled entirely in S */
  la a0, s_timer_handler
  csrw stvec, a0
  li a0, 1 << IRQ_STI
  csrw mideleg, a0
  csrw mie, a0
  MRET_TO 1, s_3
s_3:
  /* SIE stays 0 across wfi so that the interrupt cannot be taken before the wfi (which would then
   * wait forever); wfi wakes on the pending, enabled STIP and setting SIE takes it. */
  rdtime a0
  addi a0, a0, 300
  csrw stimecmp, a0
  li a3, 10000000                 /* bound, for a wfi that returns at once */
1:
  wfi
  csrr a1, sip
  andi a1, a1, 1 << IRQ_STI
  bnez a1, 2f
  addi a3, a3, -1
  bnez a3, 1b
  j test_fail
2:
  csrsi sstatus, MSTATUS_SIE
  la a1, s_timer_count
  ld a1, 0(a1)
  CHECK a1, 1
  la a1, s_timer_cause
  ld a1, 0(a1)
  CHECK a1, CAUSE_INT | IRQ_STI
  rdtime a1
  NEXT_CASE
  bltu a1, a0, test_fail
  csrci sstatus, MSTATUS_SIE
  BACK_TO_M m_3
m_3:
  csrw mie, zero
  csrw mideleg, zero
  PASS

  .balign 4
s_timer_handler:
  csrrw t0, sscratch, t0
  sd t1, 0(t0)
  sd t2, 8(t0)
  csrr t1, sscratch
  sd t1, 16(t0)
  csrw sscratch, t0
  csrr t1, scause
  bgez t1, 1f
  li t2, -1
  csrw stimecmp, t2
  la t2, s_timer_cause
  sd t1, 0(t2)
  la t2, s_timer_count
  ld t1, 0(t2)
  addi t1, t1, 1
  sd t1, 0(t2)
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  sret
1:
  li gp, 127
  j test_fail

  .data
  .balign 8
s_timer_count:
  .dword 0
s_timer_cause:
  .dword 0
