/* RV64I control transfer: every conditional branch taken and not taken (signed vs unsigned
 * comparisons, forward and backward), JAL and JALR link values, JALR clearing bit 0 of the
 * target, JALR with rd == rs1, ECALL-free fall-through. */
#include "test.h"

/* a3 = 2 if `op a1, a2` branches, 1 if it falls through. */
.macro TBR op, a, b, taken
  li a1, \a
  li a2, \b
  li a3, 0
  \op a1, a2, 1f
  li a3, 1
  j 2f
1:
  li a3, 2
2:
  CHECK a3, (1 + \taken)
.endm

  .text
  .globl test_main
test_main:
  TBR beq, 5, 5, 1
  TBR beq, 5, 6, 0
  TBR beq, 0x100000000, 0, 0      /* all 64 bits compared */
  TBR bne, 5, 6, 1
  TBR bne, -1, -1, 0
  TBR blt, -1, 1, 1
  TBR blt, 1, -1, 0
  TBR blt, 3, 3, 0
  TBR blt, 0x8000000000000000, 0x7fffffffffffffff, 1
  TBR bltu, -1, 1, 0
  TBR bltu, 1, -1, 1
  TBR bltu, 3, 3, 0
  TBR bge, 3, 3, 1
  TBR bge, -1, 1, 0
  TBR bge, 1, -1, 1
  TBR bgeu, 3, 3, 1
  TBR bgeu, 0, -1, 0
  TBR bgeu, -1, 0, 1

  /* backward taken branch: a loop of 10 iterations */
  li a0, 10
  li a1, 0
1:
  addi a1, a1, 3
  addi a0, a0, -1
  bnez a0, 1b
  CHECK a1, 30

  /* JAL: rd = pc + 4, jumps forward and backward */
  jal a0, 1f
2:
  j test_fail
1:
  CHECK_ADDR a0, 2b
  j 4f
3:
  li a2, 0x33
  jr ra
4:
  li a2, 0
  jal ra, 3b
5:
  CHECK a2, 0x33
  CHECK_ADDR ra, 5b
  jal x0, 1f                      /* jal with rd = x0 links nothing */
  j test_fail
1:
  CHECK x0, 0

  /* JALR: target = (rs1 + imm) & ~1, rd = pc + 4 */
  la a1, 1f
  addi a1, a1, 1
  jalr a0, 0(a1)
2:
  j test_fail
  .balign 4
1:
  CHECK_ADDR a0, 2b
  la a1, 1f
  addi a1, a1, 8
  jalr a0, -8(a1)
  j test_fail
1:
  la a1, 1f
  addi a1, a1, -3
  jalr a0, 3(a1)                  /* odd sum, bit 0 cleared */
  j test_fail
  .balign 4
1:
  /* rd == rs1: the target uses the old value */
  la a1, 1f
  jalr a1, 0(a1)
2:
  j test_fail
1:
  CHECK_ADDR a1, 2b
  PASS
