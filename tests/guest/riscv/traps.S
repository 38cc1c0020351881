/* Synchronous exceptions taken in M-mode: illegal instruction (mtval = instruction bits, 16- and
 * 32-bit), breakpoint (mtval = 0 or pc), ecall from U/S/M (8/9/11, mtval = 0), access faults for
 * fetch/load/store at an address where the virt map has no device (0x0: cause 1/5/7,
 * mtval = address), mepc values, the mstatus MIE/MPIE/MPP stack on trap entry and mret, mepc
 * bit 1 writable with C, and mtvec direct vs vectored (exceptions always go
 * to base).
 * Instruction-address-misaligned (cause 0) cannot be provoked: with C every branch/jump target is
 * 2-byte aligned and JALR clears bit 0. */
#include "test.h"

.macro ILLEGAL32 bits
  EXPECT_TRAP
  .word \bits
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_TVAL \bits
.endm

  .text
  .globl test_main
test_main:
  /* illegal 32-bit instruction: a custom-0 opcode */
  EXPECT_TRAP
1:
  .word 0x0000000b
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_TVAL 0x0000000b
  CHECK_EPC_ADDR 1b
  EXPECT_TRAP
2:
  .word 0xfe000033 | (7 << 12)     /* OP with funct7 = 0x7f: unassigned */
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_TVAL 0xfe007033
  CHECK_EPC_ADDR 2b
  /* reserved encodings inside assigned major opcodes */
  ILLEGAL32 0x0205151b             /* slliw with shamt[5] set */
  ILLEGAL32 0x00057503             /* LOAD with funct3 = 7 */
  ILLEGAL32 0x00054523             /* STORE with funct3 = 4 */
  ILLEGAL32 0x00052563             /* BRANCH with funct3 = 2 */
  ILLEGAL32 0x02b5153b             /* OP-32 with the M funct7 and funct3 = 1 (no mulhw) */
  /* illegal 16-bit instruction: c.addi4spn with a zero immediate (not all-zero bits) */
  EXPECT_TRAP
3:
  .hword 0x0004
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_TVAL 0x0004
  CHECK_EPC_ADDR 3b

  /* breakpoint: mepc = the ebreak. mtval may be 0 or the pc (both allowed by the spec); QEMU 7.2
   * writes 0, so both are accepted. */
  EXPECT_TRAP
4:
  ebreak
  CHECK_TRAP CAUSE_BREAKPOINT
  CHECK_EPC_ADDR 4b
  LOAD_TRAP a1, TR_TVAL
  beqz a1, 1f
  CHECK_TVAL_ADDR 4b
1:

  /* ecall from M, and the status stack: MIE -> MPIE, MIE = 0, MPP = M */
  li a0, MSTATUS_MIE
  csrs mstatus, a0
  EXPECT_TRAP
5:
  ecall
  CHECK_TRAP CAUSE_ECALL_M
  CHECK_TVAL 0
  CHECK_EPC_ADDR 5b
  LOAD_TRAP a1, TR_STATUS
  li a2, MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP
  and a1, a1, a2
  CHECK a1, MSTATUS_MPIE | MSTATUS_MPP
  /* after mret: MIE = old MPIE (1), MPIE = 1, MPP = U (least privileged) */
  csrr a1, mstatus
  and a1, a1, a2
  CHECK a1, MSTATUS_MIE | MSTATUS_MPIE
  csrc mstatus, a0

  /* ecall from S and from U, resumed in the same mode */
  MRET_TO 1, in_s
in_s:
  EXPECT_TRAP
6:
  ecall
  CHECK_TRAP CAUSE_ECALL_S
  CHECK_EPC_ADDR 6b
  LOAD_TRAP a1, TR_STATUS
  li a2, MSTATUS_MPP
  and a1, a1, a2
  CHECK a1, MSTATUS_MPP_S
  BACK_TO_M m_1
m_1:
  MRET_TO 0, in_u
in_u:
  EXPECT_TRAP
7:
  ecall
  CHECK_TRAP CAUSE_ECALL_U
  CHECK_EPC_ADDR 7b
  CHECK_TVAL 0
  LOAD_TRAP a1, TR_STATUS
  li a2, MSTATUS_MPP
  and a1, a1, a2
  CHECK a1, 0
  BACK_TO_M m_2
m_2:

  /* access faults at 0x0 (no device there on virt) */
  li a0, 8
  EXPECT_TRAP
8:
  ld a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_ACCESS
  CHECK_TVAL 8
  CHECK_EPC_ADDR 8b
  li a0, 0x10
  EXPECT_TRAP
9:
  sw a1, 4(a0)
  CHECK_TRAP CAUSE_STORE_ACCESS
  CHECK_TVAL 0x14
  CHECK_EPC_ADDR 9b
  li s0, 0x8                       /* a compressed load faults the same way */
  EXPECT_TRAP
12:
  c.ld a1, 8(s0)
  CHECK_TRAP CAUSE_LOAD_ACCESS
  CHECK_TVAL 0x10
  CHECK_EPC_ADDR 12b
  li a0, 0
  EXPECT_TRAP_RESUME 10f
  jalr ra, 0(a0)
  j test_fail
10:
  CHECK_TRAP CAUSE_FETCH_ACCESS
  CHECK_TVAL 0
  LOAD_TRAP a1, TR_EPC
  CHECK a1, 0

  /* mepc: bit 1 is kept (IALIGN = 16). The spec makes bit 0 always zero; QEMU 7.2 stores and
   * returns it as written, so bit 0 is not checked. */
  li a0, 0x80000003
  csrw mepc, a0
  csrr a1, mepc
  ori a1, a1, 1
  CHECK a1, 0x80000003

  /* vectored mtvec: synchronous exceptions still go to the base */
  la a0, trap_entry
  ori a0, a0, 1
  csrw mtvec, a0
  csrr a1, mtvec
  CHECK_REG a1, a0
  EXPECT_TRAP
11:
  ecall
  CHECK_TRAP CAUSE_ECALL_M
  CHECK_EPC_ADDR 11b
  la a0, trap_entry
  csrw mtvec, a0
  /* a direct mtvec somewhere else */
  la a0, other_vector
  csrw mtvec, a0
  li a1, 0
  ecall
  CHECK a1, 0x5a
  la a0, trap_entry
  csrw mtvec, a0
  PASS

  .balign 4
other_vector:
  li a1, 0x5a
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret
