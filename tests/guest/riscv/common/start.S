/* Start-up, finisher and the recording M-mode trap handler shared by every ISA test. */
#include "test.h"

  .section .text.init, "ax"
  .globl _start
_start:
  li gp, 0            /* case 0: failures before the first check */
  la sp, stack_top
  la t0, trap_entry
  csrw mtvec, t0
  la t0, trap_save
  csrw mscratch, t0
  la t0, strap_save
  csrw sscratch, t0
  /* Grant S and U every address (NAPOT over all memory, RWX): QEMU enforces PMP below M-mode. */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  j test_main

  .text
  .globl test_pass
test_pass:
  li t0, FINISHER_BASE
  li t1, FINISHER_PASS
  sw t1, 0(t0)
1:
  j 1b

  /* Fails with the case number in gp. */
  .globl test_fail
test_fail:
  slli t1, gp, 16
  li t0, FINISHER_FAIL
  or t1, t1, t0
  li t0, FINISHER_BASE
  sw t1, 0(t0)
1:
  j 1b

  /* Records every trap in trap_record. An expected trap (trap_record.expect != 0) resumes either
   * at trap_record.resume in M-mode or, when that is 0, after the trapping instruction (the same
   * instruction for an interrupt) in the mode that trapped. Anything else ends the test. */
  .balign 256
  .globl trap_entry
trap_entry:
  csrrw t0, mscratch, t0
  sd t1, 0(t0)
  sd t2, 8(t0)
  csrr t1, mscratch
  sd t1, 16(t0)
  csrw mscratch, t0
  la t0, trap_record
  ld t1, TR_COUNT(t0)
  addi t1, t1, 1
  sd t1, TR_COUNT(t0)
  csrr t1, mcause
  sd t1, TR_CAUSE(t0)
  csrr t1, mtval
  sd t1, TR_TVAL(t0)
  csrr t1, mepc
  sd t1, TR_EPC(t0)
  csrr t1, mstatus
  sd t1, TR_STATUS(t0)
  ld t1, TR_EXPECT(t0)
  beqz t1, unexpected_trap
  sd zero, TR_EXPECT(t0)
  ld t1, TR_RESUME(t0)
  beqz t1, 1f
  sd zero, TR_RESUME(t0)
  csrw mepc, t1
  li t2, MSTATUS_MPP
  csrs mstatus, t2
  j 3f
1:
  csrr t1, mcause
  bltz t1, 3f
  csrr t1, mepc
  lhu t2, 0(t1)
  andi t2, t2, 3
  addi t2, t2, -3
  addi t1, t1, 2
  bnez t2, 2f
  addi t1, t1, 2
2:
  csrw mepc, t1
3:
  csrr t0, mscratch
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  mret

unexpected_trap:
  csrr t1, mcause
  andi t2, t1, 0x3f
  ori t2, t2, 0x80
  bgez t1, 1f
  ori t2, t2, 0x40
1:
  andi t1, gp, 0xff
  slli t1, t1, 8
  or t1, t1, t2
  slli t1, t1, 16
  li t2, FINISHER_FAIL
  or t1, t1, t2
  li t2, FINISHER_BASE
  sw t1, 0(t2)
1:
  j 1b

  /* The S-mode twin of trap_entry for tests that delegate traps: records into strap_record and
   * resumes at strap_record.resume in S-mode or after the trapping instruction (read through
   * the current translation, so code must be mapped readable at its own address). */
  .balign 256
  .globl strap_entry
strap_entry:
  csrrw t0, sscratch, t0
  sd t1, 0(t0)
  sd t2, 8(t0)
  csrr t1, sscratch
  sd t1, 16(t0)
  csrw sscratch, t0
  la t0, strap_record
  ld t1, TR_COUNT(t0)
  addi t1, t1, 1
  sd t1, TR_COUNT(t0)
  csrr t1, scause
  sd t1, TR_CAUSE(t0)
  csrr t1, stval
  sd t1, TR_TVAL(t0)
  csrr t1, sepc
  sd t1, TR_EPC(t0)
  csrr t1, sstatus
  sd t1, TR_STATUS(t0)
  ld t1, TR_EXPECT(t0)
  beqz t1, unexpected_strap
  sd zero, TR_EXPECT(t0)
  ld t1, TR_RESUME(t0)
  beqz t1, 1f
  sd zero, TR_RESUME(t0)
  csrw sepc, t1
  li t2, MSTATUS_SPP
  csrs sstatus, t2
  j 3f
1:
  csrr t1, scause
  bltz t1, 3f
  csrr t1, sepc
  lhu t2, 0(t1)
  andi t2, t2, 3
  addi t2, t2, -3
  addi t1, t1, 2
  bnez t2, 2f
  addi t1, t1, 2
2:
  csrw sepc, t1
3:
  csrr t0, sscratch
  ld t1, 0(t0)
  ld t2, 8(t0)
  ld t0, 16(t0)
  sret

  /* Like unexpected_trap, with 0x20 added to the reported cause to mark S-mode. */
unexpected_strap:
  csrr t1, scause
  andi t2, t1, 0x1f
  ori t2, t2, 0xa0
  bgez t1, 1f
  ori t2, t2, 0x40
1:
  andi t1, gp, 0xff
  slli t1, t1, 8
  or t1, t1, t2
  slli t1, t1, 16
  li t2, FINISHER_FAIL
  or t1, t1, t2
  li t2, FINISHER_BASE
  sw t1, 0(t2)
1:
  j 1b

  .data
  .balign 8
  .globl strap_record
strap_record:
  .dword 0, 0, 0, 0, 0, 0, 0
strap_save:                       /* t1, t2, t0 of the handler; the rest free for tests' stubs */
  .dword 0, 0, 0, 0, 0, 0
  .globl trap_record
trap_record:
  .dword 0, 0, 0, 0, 0, 0, 0
trap_save:
  .dword 0, 0, 0, 0, 0, 0
