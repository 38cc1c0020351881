/* Shared definitions for the bare-metal RISC-V ISA tests (assembly, preprocessed by cpp).
 *
 * Reporting: every program ends through the `sifive,test` finisher at 0x100000. Pass writes
 * 0x5555 (exit 0). A failed check writes (case << 16) | 0x3333, so the exit status is the case
 * number. Case numbers are assigned automatically, one per CHECK*, in source order (1..127); the
 * current case lives in gp (x3), so `li gp, N` in the disassembly finds the failing check.
 * An unexpected trap exits with 0x80 | (interrupt ? 0x40 : 0) | (mcause & 0x3f) in the low byte of
 * the code (exit status >= 128) and the current case number in the high byte; an unexpected trap
 * into the S-mode handler (strap_entry) reports 0x80 | (interrupt ? 0x40 : 0) | 0x20 | scause.
 *
 * Register conventions: gp is the case number, t5/t6 are scratch for the macros; tests use the
 * other registers freely. The M-mode trap handler (start.S) preserves every register.
 */
#ifndef VESSEL_RISCV_TEST_H
#define VESSEL_RISCV_TEST_H

#define FINISHER_BASE 0x100000
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333

#define CLINT_BASE 0x2000000
#define CLINT_MSIP 0x0
#define CLINT_MTIMECMP 0x4000
#define CLINT_MTIME 0xbff8

#define MSTATUS_SIE (1 << 1)
#define MSTATUS_MIE (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP (1 << 8)
#define MSTATUS_MPP (3 << 11)
#define MSTATUS_MPP_S (1 << 11)
#define MSTATUS_FS (3 << 13)
#define MSTATUS_FS_INITIAL (1 << 13)
#define MSTATUS_FS_CLEAN (2 << 13)
#define MSTATUS_FS_DIRTY (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM (1 << 18)
#define MSTATUS_MXR (1 << 19)
#define MSTATUS_TVM (1 << 20)
#define MSTATUS_TW (1 << 21)
#define MSTATUS_TSR (1 << 22)
#define MSTATUS_SD (1 << 63)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS 1
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15
#define CAUSE_INT (1 << 63)

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11

/* Offsets into trap_record (start.S). */
#define TR_COUNT 0
#define TR_CAUSE 8
#define TR_TVAL 16
#define TR_EPC 24
#define TR_STATUS 32
#define TR_EXPECT 40
#define TR_RESUME 48

#ifdef __ASSEMBLER__

.set case_no, 0

/* Starts the next case: gp = its number. */
.macro NEXT_CASE
  .set case_no, case_no + 1
  .if case_no > 127
  .error "more than 127 checks in one program: split it"
  .endif
  li gp, case_no
.endm

/* Fails the current case unless reg == value (a 64-bit constant). */
.macro CHECK reg, value
  NEXT_CASE
  li t6, \value
  beq \reg, t6, 8901f
  j test_fail
8901:
.endm

/* Fails the current case unless reg_a == reg_b. */
.macro CHECK_REG reg_a, reg_b
  NEXT_CASE
  beq \reg_a, \reg_b, 8902f
  j test_fail
8902:
.endm

/* Fails the current case unless the address of `label` equals reg. */
.macro CHECK_ADDR reg, label
  NEXT_CASE
  la t6, \label
  beq \reg, t6, 8903f
  j test_fail
8903:
.endm

/* reg = value of a trap_record field. */
.macro LOAD_TRAP reg, field
  la \reg, trap_record
  ld \reg, \field(\reg)
.endm

/* The next trap is expected; the handler records it and resumes after the trapping instruction
 * (length read from memory at mepc, physical) in the same privilege mode. */
.macro EXPECT_TRAP
  la t6, trap_record
  sd zero, TR_CAUSE(t6)
  sd zero, TR_TVAL(t6)
  sd zero, TR_EPC(t6)
  li t5, 1
  sd t5, TR_EXPECT(t6)
  sd zero, TR_RESUME(t6)
.endm

/* The next trap is expected; the handler records it and resumes at `label` in M-mode. */
.macro EXPECT_TRAP_RESUME label
  EXPECT_TRAP
  la t5, \label
  sd t5, TR_RESUME(t6)
.endm

/* Checks that exactly the expected trap happened: cause (and it was consumed). */
.macro CHECK_TRAP cause
  LOAD_TRAP t5, TR_CAUSE
  CHECK t5, \cause
  LOAD_TRAP t5, TR_EXPECT
  CHECK t5, 0
.endm

.macro CHECK_TVAL value
  LOAD_TRAP t5, TR_TVAL
  CHECK t5, \value
.endm

.macro CHECK_TVAL_ADDR label
  LOAD_TRAP t5, TR_TVAL
  CHECK_ADDR t5, \label
.endm

.macro CHECK_EPC_ADDR label
  LOAD_TRAP t5, TR_EPC
  CHECK_ADDR t5, \label
.endm

/* Checks that no trap is pending expectation (i.e. an expected trap did NOT happen is a failure
 * caught by CHECK_TRAP; this one asserts nothing trapped since EXPECT_TRAP). */
.macro CHECK_NO_TRAP
  LOAD_TRAP t5, TR_EXPECT
  CHECK t5, 1
  la t6, trap_record
  sd zero, TR_EXPECT(t6)
.endm

/* The same for the S-mode handler (strap_entry, strap_record); resumes in S-mode. */
.macro EXPECT_STRAP
  la t6, strap_record
  sd zero, TR_CAUSE(t6)
  sd zero, TR_TVAL(t6)
  sd zero, TR_EPC(t6)
  li t5, 1
  sd t5, TR_EXPECT(t6)
  sd zero, TR_RESUME(t6)
.endm

.macro EXPECT_STRAP_RESUME label
  EXPECT_STRAP
  la t5, \label
  sd t5, TR_RESUME(t6)
.endm

.macro LOAD_STRAP reg, field
  la \reg, strap_record
  ld \reg, \field(\reg)
.endm

.macro CHECK_STRAP cause
  LOAD_STRAP t5, TR_CAUSE
  CHECK t5, \cause
  LOAD_STRAP t5, TR_EXPECT
  CHECK t5, 0
.endm

.macro CHECK_STVAL value
  LOAD_STRAP t5, TR_TVAL
  CHECK t5, \value
.endm

.macro CHECK_SEPC_ADDR label
  LOAD_STRAP t5, TR_EPC
  CHECK_ADDR t5, \label
.endm

/* Leaves M-mode for `mode` (0 = U, 1 = S) at `label` through mret, with MPIE clear. */
.macro MRET_TO mode, label
  li t6, MSTATUS_MPP | MSTATUS_MPIE
  csrc mstatus, t6
  li t6, (\mode) << 11
  csrs mstatus, t6
  la t6, \label
  csrw mepc, t6
  mret
.endm

/* From any mode: ecall to the M-mode handler, which resumes at `label` in M-mode. */
.macro BACK_TO_M label
  EXPECT_TRAP_RESUME \label
  ecall
  j test_fail
.endm

.macro PASS
  j test_pass
.endm

#endif /* __ASSEMBLER__ */
#endif
