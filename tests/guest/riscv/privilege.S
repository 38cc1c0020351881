/* Privilege modes: mret to S and U (MPP, MIE = MPIE), sret to S and U (SPP,
 * SIE = SPIE, SPIE = 1, SPP = U), privilege checks on CSRs and xRET (U cannot touch S CSRs, S
 * cannot touch M CSRs, sret in U and mret in S/U are illegal), delegation with medeleg (the
 * stvec handler runs in S; M-mode traps are never delegated), TSR, TW, TVM, and wfi. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la a0, strap_entry
  csrw stvec, a0

  /* mret to S with MPIE = 1: MIE becomes 1, seen as MPIE when ecall brings us back */
  li a0, MSTATUS_MPIE
  csrs mstatus, a0
  li a0, MSTATUS_MPP
  csrc mstatus, a0
  li a0, MSTATUS_MPP_S
  csrs mstatus, a0
  la a0, s_1
  csrw mepc, a0
  mret
s_1:
  csrr a0, sstatus                 /* S CSRs work in S */
  EXPECT_TRAP
  csrr a0, mstatus                 /* M CSRs do not */
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
1:
  mret                             /* mret in S is illegal */
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_EPC_ADDR 1b
  EXPECT_TRAP_RESUME m_1
  ecall
  j test_fail
m_1:
  CHECK_TRAP CAUSE_ECALL_S
  LOAD_TRAP a0, TR_STATUS
  li a1, MSTATUS_MPIE
  and a0, a0, a1
  CHECK_REG a0, a1

  /* mret with MPIE = 0 leaves MIE = 0 */
  li a0, MSTATUS_MPIE
  csrc mstatus, a0
  li a0, MSTATUS_MPRV
  csrs mstatus, a0
  MRET_TO 1, s_2
s_2:
  BACK_TO_M m_2
m_2:
  LOAD_TRAP a0, TR_STATUS
  li a1, MSTATUS_MPIE
  and a0, a0, a1
  CHECK a0, 0
  /* Privileged spec 1.12 also clears MPRV on an mret to S or U; QEMU 7.2 leaves it set, so
   * that is not checked (and MPRV is cleared by hand). */
  li a0, MSTATUS_MPRV
  csrc mstatus, a0

  /* U-mode: no S or M CSRs, no sret/mret */
  MRET_TO 0, u_1
u_1:
  EXPECT_TRAP
  csrr a0, sstatus
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  csrw sscratch, a0
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  csrr a0, satp
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  sret
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  mret
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  sfence.vma
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  wfi                              /* wfi in U is illegal (S is implemented) */
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_3
m_3:

  /* sret from S to U: SPP = 0; from S to S with SPIE = 1: SIE = 1, SPIE = 1, SPP = U */
  MRET_TO 1, s_3
s_3:
  li a0, MSTATUS_SPP
  csrc sstatus, a0
  la a0, u_2
  csrw sepc, a0
  sret
u_2:
  EXPECT_TRAP
  csrr a0, sstatus                 /* proves U */
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_4
m_4:
  MRET_TO 1, s_4
s_4:
  li a0, MSTATUS_SIE
  csrc sstatus, a0
  li a0, MSTATUS_SPIE | MSTATUS_SPP
  csrs sstatus, a0
  la a0, s_5
  csrw sepc, a0
  sret
s_5:
  csrr a0, sstatus                 /* still S */
  li a1, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP
  and a0, a0, a1
  CHECK a0, MSTATUS_SIE | MSTATUS_SPIE
  li a0, MSTATUS_SIE
  csrc sstatus, a0
  BACK_TO_M m_5
m_5:

  /* delegation: ecall from U, illegal instruction and breakpoint handled by stvec in S */
  li a0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL) | (1 << CAUSE_BREAKPOINT)
  csrw medeleg, a0
  csrr a1, medeleg
  CHECK_REG a1, a0
  MRET_TO 0, u_3
u_3:
  EXPECT_STRAP
1:
  ecall
  CHECK_STRAP CAUSE_ECALL_U
  CHECK_SEPC_ADDR 1b
  CHECK_STVAL 0
  LOAD_STRAP a0, TR_STATUS
  andi a0, a0, MSTATUS_SPP
  CHECK a0, 0
  EXPECT_STRAP
2:
  .word 0x0000000b
  CHECK_STRAP CAUSE_ILLEGAL
  CHECK_STVAL 0x0000000b
  CHECK_SEPC_ADDR 2b
  LOAD_TRAP a0, TR_COUNT           /* M saw none of these */
  mv s2, a0
  EXPECT_STRAP_RESUME s_6          /* the S handler resumes in S at s_6 */
  ebreak
  j test_fail
s_6:
  CHECK_STRAP CAUSE_BREAKPOINT
  LOAD_STRAP a0, TR_STATUS
  andi a0, a0, MSTATUS_SPP
  CHECK a0, 0
  csrr a0, sstatus                 /* we are in S */
  EXPECT_STRAP
3:
  ebreak                           /* from S: delegated too, SPP = S */
  CHECK_STRAP CAUSE_BREAKPOINT
  CHECK_SEPC_ADDR 3b
  LOAD_STRAP a0, TR_STATUS
  andi a0, a0, MSTATUS_SPP
  CHECK a0, MSTATUS_SPP
  EXPECT_TRAP
  ecall                            /* ecall from S is not delegated */
  CHECK_TRAP CAUSE_ECALL_S
  LOAD_TRAP a0, TR_COUNT
  addi a0, a0, -1
  CHECK_REG a0, s2
  BACK_TO_M m_6
m_6:
  EXPECT_TRAP                      /* M-mode traps stay in M despite medeleg */
  .word 0x0000000b
  CHECK_TRAP CAUSE_ILLEGAL
  csrw medeleg, zero

  /* TSR: sret in S traps */
  li a0, MSTATUS_TSR
  csrs mstatus, a0
  MRET_TO 1, s_7
s_7:
  la a0, s_8
  csrw sepc, a0
  li a0, MSTATUS_SPP
  csrs sstatus, a0
  EXPECT_TRAP
  sret
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_7
m_7:
  li a0, MSTATUS_TSR
  csrc mstatus, a0
  MRET_TO 1, s_9
s_9:
  sret                             /* allowed again: goes to s_8 in S */
  j test_fail
s_8:
  csrr a0, sstatus
  BACK_TO_M m_8
m_8:

  /* TW: wfi in S traps. With TW = 0, wfi in S returns once an interrupt is pending and
   * enabled in sie even though sstatus.SIE = 0 (so it is not taken). */
  li a0, MSTATUS_TW
  csrs mstatus, a0
  MRET_TO 1, s_10
s_10:
  EXPECT_TRAP
  wfi
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_10
m_10:
  li a0, MSTATUS_TW | MSTATUS_SIE
  csrc mstatus, a0
  li a0, 1 << IRQ_SSI
  csrw mideleg, a0
  csrw mie, a0
  csrs mip, a0
  MRET_TO 1, s_11
s_11:
  wfi
  li a0, 1 << IRQ_SSI
  csrc sip, a0
  BACK_TO_M m_11
m_11:
  csrw mie, zero
  csrw mideleg, zero
  csrr a0, mip
  andi a0, a0, 1 << IRQ_SSI
  CHECK a0, 0

  /* TVM: satp and sfence.vma trap in S */
  li a0, MSTATUS_TVM
  csrs mstatus, a0
  MRET_TO 1, s_12
s_12:
  EXPECT_TRAP
  csrr a0, satp
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  csrw satp, zero
  CHECK_TRAP CAUSE_ILLEGAL
  EXPECT_TRAP
  sfence.vma
  CHECK_TRAP CAUSE_ILLEGAL
  BACK_TO_M m_12
m_12:
  li a0, MSTATUS_TVM
  csrc mstatus, a0
  MRET_TO 1, s_13
s_13:
  csrr a0, satp
  csrw satp, zero
  sfence.vma
  BACK_TO_M m_13
m_13:
  PASS
