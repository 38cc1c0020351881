/* Interrupts: machine software (CLINT msip) and machine timer (CLINT mtimecmp vs mtime) with
 * their mip bits; taken only when mie and mstatus.MIE allow (in M), always when below M;
 * priority when several are pending (the S ones raised by M writing mip, undelegated): the
 * spec's MSI > MTI > SEI > SSI > STI, or QEMU 7.2's lowest-number-first (see below); vectored
 * mtvec sending interrupts to base + 4 * cause; wfi waking on a pending-and-enabled interrupt
 * even with MIE = 0; supervisor software interrupts delegated with mideleg and taken by stvec in
 * S (sstatus.SIE in S, always in U, never in M); a supervisor timer interrupt raised by M
 * through mip.STIP (as an SBI does) and vectored stvec. */
#include "test.h"

#define MSIP_ADDR (CLINT_BASE + CLINT_MSIP)
#define MTIMECMP_ADDR (CLINT_BASE + CLINT_MTIMECMP)
#define MTIME_ADDR (CLINT_BASE + CLINT_MTIME)

/* Spins until irq_log holds `count` entries (or fails after a bound). */
.macro WAIT_IRQS count
  li t5, 2000000
8920:
  la t6, irq_log
  ld t6, 0(t6)
  li t4, \count
  beq t6, t4, 8921f
  addi t5, t5, -1
  bnez t5, 8920b
  j test_fail
8921:
.endm

.macro CHECK_LOG index, cause
  la t5, irq_log
  ld t5, (8 + 8 * (\index))(t5)
  CHECK t5, \cause
.endm

.macro CLEAR_LOG
  la t5, irq_log
  sd zero, 0(t5)
.endm

  .text
  .globl test_main
test_main:
  la a0, irq_handler
  csrw mtvec, a0
  li s0, MSIP_ADDR
  li s1, MTIMECMP_ADDR
  li s2, MTIME_ADDR
  li a0, -1
  sd a0, 0(s1)

  /* software interrupt pending but disabled: not taken */
  li a0, 1
  sw a0, 0(s0)
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MSI
  CHECK a1, 1 << IRQ_MSI
  li a1, 1 << IRQ_MSI
  csrw mie, a1                     /* enabled in mie, MIE = 0 */
  li a2, 1000
1:
  addi a2, a2, -1
  bnez a2, 1b
  csrw mie, zero
  csrsi mstatus, MSTATUS_MIE       /* MIE = 1, mie = 0 */
  li a2, 1000
1:
  addi a2, a2, -1
  bnez a2, 1b
  la a3, irq_log
  ld a3, 0(a3)
  CHECK a3, 0
  /* enabling it is enough: taken right after the csrw, handler clears msip */
  csrw mie, a1
2:
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MSI
  la a3, irq_epc
  ld a3, 0(a3)
  CHECK_ADDR a3, 2b
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MSI
  CHECK a1, 0
  CLEAR_LOG

  /* timer: mip.MTIP follows mtime >= mtimecmp */
  csrci mstatus, MSTATUS_MIE
  sd zero, 0(s1)
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MTI
  CHECK a1, 1 << IRQ_MTI
  li a0, -1
  sd a0, 0(s1)
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MTI
  CHECK a1, 0
  /* wfi wakes on a pending enabled timer even with MIE = 0 (and nothing is taken) */
  li a1, 1 << IRQ_MTI
  csrw mie, a1
  ld a0, 0(s2)
  addi a0, a0, 200                 /* 20 us */
  sd a0, 0(s1)
  li a3, 10000000                 /* bound, for a wfi that returns at once */
3:
  wfi
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MTI
  bnez a1, 4f
  addi a3, a3, -1
  bnez a3, 3b
  j test_fail
4:
  ld a2, 0(s2)
  NEXT_CASE
  bltu a2, a0, test_fail           /* woke no earlier than the deadline */
  la a3, irq_log
  ld a3, 0(a3)
  CHECK a3, 0
  /* the timer interrupt taken once MIE is set */
  csrsi mstatus, MSTATUS_MIE
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MTI
  CLEAR_LOG
  /* a future deadline: wfi (with MIE = 0, so the interrupt cannot slip in before it and leave
   * the wfi waiting forever) wakes for it, and it is taken once MIE is set */
  csrci mstatus, MSTATUS_MIE
  ld a0, 0(s2)
  addi a0, a0, 500
  sd a0, 0(s1)
  li a3, 10000000                 /* bound, for a wfi that returns at once */
1:
  wfi
  csrr a1, mip
  andi a1, a1, 1 << IRQ_MTI
  bnez a1, 2f
  addi a3, a3, -1
  bnez a3, 1b
  j test_fail
2:
  csrsi mstatus, MSTATUS_MIE
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MTI
  CLEAR_LOG

  /* priority: everything pending at once, taken one by one in priority order */
  csrci mstatus, MSTATUS_MIE
  li a0, 1
  sw a0, 0(s0)
  sd zero, 0(s1)
  li a0, (1 << IRQ_SSI) | (1 << IRQ_STI) | (1 << IRQ_SEI)
  csrs mip, a0
  csrr a1, mip
  li a2, (1 << IRQ_SSI) | (1 << IRQ_STI) | (1 << IRQ_SEI) | (1 << IRQ_MSI) | (1 << IRQ_MTI)
  and a1, a1, a2
  CHECK_REG a1, a2
  csrw mie, a2
  csrsi mstatus, MSTATUS_MIE
  WAIT_IRQS 5
  /* The privileged spec's order is MSI, MTI, SEI, SSI, STI. QEMU 7.2 without AIA takes the
   * lowest-numbered pending interrupt first (SSI, MSI, STI, MTI, SEI). Exactly these two orders
   * are accepted; the first entry tells which one is being followed. */
  la t5, irq_log
  ld t5, 8(t5)
  li t6, CAUSE_INT | IRQ_SSI
  beq t5, t6, 5f
  CHECK_LOG 0, CAUSE_INT | IRQ_MSI
  CHECK_LOG 1, CAUSE_INT | IRQ_MTI
  CHECK_LOG 2, CAUSE_INT | IRQ_SEI
  CHECK_LOG 3, CAUSE_INT | IRQ_SSI
  CHECK_LOG 4, CAUSE_INT | IRQ_STI
  j 6f
5:
  CHECK_LOG 1, CAUSE_INT | IRQ_MSI
  CHECK_LOG 2, CAUSE_INT | IRQ_STI
  CHECK_LOG 3, CAUSE_INT | IRQ_MTI
  CHECK_LOG 4, CAUSE_INT | IRQ_SEI
6:
  CLEAR_LOG
  csrci mstatus, MSTATUS_MIE

  /* vectored mtvec: interrupt N enters at base + 4 * N */
  la a0, vector_table
  ori a0, a0, 1
  csrw mtvec, a0
  li a0, 1 << IRQ_MSI | 1 << IRQ_MTI
  csrw mie, a0
  li a0, 1
  sw a0, 0(s0)
  csrsi mstatus, MSTATUS_MIE
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MSI
  la a1, vector_seen
  ld a1, 0(a1)
  CHECK a1, IRQ_MSI
  CLEAR_LOG
  sd zero, 0(s1)
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MTI
  la a1, vector_seen
  ld a1, 0(a1)
  CHECK a1, IRQ_MTI
  CLEAR_LOG
  csrci mstatus, MSTATUS_MIE
  la a0, irq_handler
  csrw mtvec, a0

  /* M interrupts are taken in S even with MIE = 0 */
  li a0, 1 << IRQ_MSI
  csrw mie, a0
  MRET_TO 1, s_1
s_1:
  li a0, 1
  sw a0, 0(s0)
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_MSI
  CLEAR_LOG
  BACK_TO_M m_1
m_1:
  csrw mie, zero

  /* delegated supervisor software interrupt, handled in S */
  la a0, s_irq_handler
  csrw stvec, a0
  li a0, 1 << IRQ_SSI
  csrw mideleg, a0
  csrw mie, a0
  csrs mip, a0                     /* pending, but M never takes delegated interrupts */
  li a2, 1000
1:
  addi a2, a2, -1
  bnez a2, 1b
  la a3, irq_log
  ld a3, 0(a3)
  CHECK a3, 0
  csrsi mstatus, MSTATUS_MIE       /* not even with MIE = 1 */
  nop
  csrci mstatus, MSTATUS_MIE
  la a3, irq_log
  ld a3, 0(a3)
  CHECK a3, 0
  csrc mip, a0
  li a0, MSTATUS_SIE
  csrc mstatus, a0
  MRET_TO 1, s_2
s_2:
  li a0, 1 << IRQ_SSI
  csrs sip, a0                     /* SIE = 0: stays pending */
  csrr a1, sip
  andi a1, a1, 1 << IRQ_SSI
  CHECK a1, 1 << IRQ_SSI
  la a3, irq_log
  ld a3, 0(a3)
  CHECK a3, 0
  csrsi sstatus, MSTATUS_SIE
3:
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_SSI
  la a3, s_irq_epc
  ld a3, 0(a3)
  CHECK_ADDR a3, 3b
  la a3, s_irq_status               /* taken in S: SPP = S, SPIE = 1 */
  ld a3, 0(a3)
  andi a3, a3, MSTATUS_SPP | MSTATUS_SPIE
  CHECK a3, MSTATUS_SPP | MSTATUS_SPIE
  CLEAR_LOG
  /* in U, S interrupts are enabled whatever SIE says */
  csrci sstatus, MSTATUS_SIE
  li a0, MSTATUS_SPP
  csrc sstatus, a0
  la a0, u_1
  csrw sepc, a0
  sret
u_1:
  BACK_TO_M m_2                    /* M raises SSIP, then returns to U */
m_2:
  li a0, 1 << IRQ_SSI
  csrs mip, a0
  MRET_TO 0, u_2
u_2:
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_SSI
  la a3, s_irq_status               /* taken from U: SPP = U */
  ld a3, 0(a3)
  andi a3, a3, MSTATUS_SPP
  CHECK a3, 0
  BACK_TO_M m_3
m_3:
  CLEAR_LOG
  /* the SBI-style timer: M raises mip.STIP, delegated, taken by a vectored stvec at
   * base + 4 * 5 in S; the handler entry sees SIE = 0 and SPIE = the SIE before the trap */
  la a0, s_vector_table
  ori a0, a0, 1
  csrw stvec, a0
  li a0, (1 << IRQ_SSI) | (1 << IRQ_STI)
  csrw mideleg, a0
  csrw mie, a0
  li a0, 1 << IRQ_STI
  csrs mip, a0
  li a0, MSTATUS_SIE
  csrs mstatus, a0
  MRET_TO 1, s_4
s_4:
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_STI
  la a1, s_vector_seen
  ld a1, 0(a1)
  CHECK a1, IRQ_STI
  la a3, s_irq_status
  ld a3, 0(a3)
  andi a3, a3, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
  CHECK a3, MSTATUS_SPIE | MSTATUS_SPP
  CLEAR_LOG
  li a0, 1 << IRQ_SSI               /* and the software interrupt at base + 4 * 1 */
  csrs sip, a0
  WAIT_IRQS 1
  CHECK_LOG 0, CAUSE_INT | IRQ_SSI
  la a1, s_vector_seen
  ld a1, 0(a1)
  CHECK a1, IRQ_SSI
  csrci sstatus, MSTATUS_SIE
  BACK_TO_M m_4
m_4:
  li a0, 1 << IRQ_STI
  csrc mip, a0
  csrw mideleg, zero
  csrw mie, zero
  la a0, strap_entry
  csrw stvec, a0
  PASS

  /* M-mode interrupt handler: logs mcause and mepc, silences the source; exceptions go to the
   * shared recording handler. */
  .balign 256
irq_handler:
  csrrw t0, mscratch, t0
  sd t1, 0(t0)
  sd t2, 8(t0)
  csrr t1, mscratch
  sd t1, 16(t0)
  csrw mscratch, t0
irq_saved:
  csrr t1, mcause
  bgez t1, irq_exception
  la t0, irq_epc
  csrr t2, mepc
  sd t2, 0(t0)
  la t0, irq_log
  ld t2, 0(t0)
  addi t2, t2, 1
  sd t2, 0(t0)
  li t1, 8
  bgeu t2, t1, irq_overflow
  slli t2, t2, 3
  add t0, t0, t2
  csrr t1, mcause
  sd t1, 0(t0)
  andi t1, t1, 0x3f
  li t2, IRQ_MSI
  bne t1, t2, 1f
  li t0, MSIP_ADDR
  sw zero, 0(t0)
  j 3f
1:
  li t2, IRQ_MTI
  bne t1, t2, 2f
  li t0, MTIMECMP_ADDR
  li t2, -1
  sd t2, 0(t0)
  j 3f
2:
  li t2, 1
  sll t2, t2, t1
  csrc mip, t2
3:
  csrr t0, mscratch
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  mret
irq_exception:
  csrr t0, mscratch
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  j trap_entry
irq_overflow:
  li gp, 127
  j test_fail

  /* Vectored table: entry 0 takes exceptions, 3 and 7 note which entry ran, others fail. */
  .balign 256
vector_table:
  .option push
  .option norvc
  j trap_entry
  .rept 2
  j vector_bad
  .endr
  j vector_3
  .rept 3
  j vector_bad
  .endr
  j vector_7
  .rept 8
  j vector_bad
  .endr
  .option pop
vector_3:
  csrrw t0, mscratch, t0
  sd t1, 0(t0)
  li t1, IRQ_MSI
  j vector_common
vector_7:
  csrrw t0, mscratch, t0
  sd t1, 0(t0)
  li t1, IRQ_MTI
vector_common:
  sd t2, 8(t0)
  csrr t2, mscratch
  sd t2, 16(t0)
  csrw mscratch, t0
  la t2, vector_seen
  sd t1, 0(t2)
  j irq_saved
vector_bad:
  li gp, 126
  j test_fail

  /* S-mode interrupt handler: logs scause/sepc/sstatus into the same log, clears sip.SSIP. */
  .balign 256
s_irq_handler:
  csrrw t0, sscratch, t0
  sd t1, 0(t0)
  sd t2, 8(t0)
  csrr t1, sscratch
  sd t1, 16(t0)
  csrw sscratch, t0
  csrr t1, scause
  bgez t1, s_irq_bad
  la t0, s_irq_epc
  csrr t2, sepc
  sd t2, 0(t0)
  la t0, s_irq_status
  csrr t2, sstatus
  sd t2, 0(t0)
  la t0, irq_log
  ld t2, 0(t0)
  addi t2, t2, 1
  sd t2, 0(t0)
  li t1, 8
  bgeu t2, t1, irq_overflow
  slli t2, t2, 3
  add t0, t0, t2
  csrr t1, scause
  sd t1, 0(t0)
  andi t1, t1, 0x3f
  li t2, IRQ_STI
  beq t1, t2, 1f
  li t1, 1 << IRQ_SSI
  csrc sip, t1
  j 2f
1:
  li t1, 1 << IRQ_STI               /* sip.STIP is read-only in S: mask it instead */
  csrc sie, t1
2:
  csrr t0, sscratch
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  sret
s_irq_bad:
  li gp, 125
  j test_fail

  /* Vectored stvec: exceptions to the recording S handler, SSI and STI note their entry. */
  .balign 256
s_vector_table:
  .option push
  .option norvc
  j strap_entry
  j s_vector_1
  .rept 3
  j s_vector_bad
  .endr
  j s_vector_5
  .rept 10
  j s_vector_bad
  .endr
  .option pop
s_vector_1:
  csrrw t0, sscratch, t0
  sd t1, 24(t0)
  li t1, IRQ_SSI
  j s_vector_common
s_vector_5:
  csrrw t0, sscratch, t0
  sd t1, 24(t0)
  li t1, IRQ_STI
s_vector_common:
  sd t2, 32(t0)
  la t2, s_vector_seen
  sd t1, 0(t2)
  ld t1, 24(t0)
  ld t2, 32(t0)
  csrrw t0, sscratch, t0
  j s_irq_handler
s_vector_bad:
  li gp, 124
  j test_fail

  .data
  .balign 8
irq_log:
  .dword 0, 0, 0, 0, 0, 0, 0, 0, 0
irq_epc:
  .dword 0
vector_seen:
  .dword 0
s_irq_epc:
  .dword 0
s_irq_status:
  .dword 0
s_vector_seen:
  .dword 0
