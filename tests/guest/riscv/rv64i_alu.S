/* RV64I register-register and register-immediate arithmetic, logic, shifts and the 32-bit (W)
 * forms with their sign extension; LUI/AUIPC; writes to x0 are ignored. */
#include "test.h"

/* a3 = a1 op a2, checked against exp. */
.macro TRR op, a, b, exp
  li a1, \a
  li a2, \b
  \op a3, a1, a2
  CHECK a3, \exp
.endm

/* a3 = a1 op imm, checked against exp. */
.macro TRI op, a, imm, exp
  li a1, \a
  \op a3, a1, \imm
  CHECK a3, \exp
.endm

  .text
  .globl test_main
test_main:
  TRR add, 1, 1, 2
  TRR add, 0x7fffffffffffffff, 1, 0x8000000000000000
  TRR add, -1, 1, 0
  TRR sub, 0, 1, -1
  TRR sub, 0x8000000000000000, 1, 0x7fffffffffffffff
  TRI addi, 0, -2048, -2048
  TRI addi, 0x7fffffffffffffff, 2047, 0x80000000000007fe
  TRR slt, -1, 1, 1
  TRR slt, 1, -1, 0
  TRR sltu, -1, 1, 0
  TRR sltu, 1, -1, 1
  TRR slt, 5, 5, 0
  TRI slti, -1, 0, 1
  TRI slti, 0, -1, 0
  TRI sltiu, 5, -1, 1          /* the immediate is sign-extended, then compared unsigned */
  TRI sltiu, 0, 1, 1
  TRI sltiu, 1, 1, 0
  TRR and, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f, 0x0f000f000f000f00
  TRR or, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f, 0xff0fff0fff0fff0f
  TRR xor, 0xff00ff00ff00ff00, 0x0f0f0f0f0f0f0f0f, 0xf00ff00ff00ff00f
  TRI andi, 0xff00ff00ff00ff00, -16, 0xff00ff00ff00ff00
  TRI andi, 0x123456789abcdef0, 0x7f0, 0x6f0
  TRI ori, 0x1000000000000000, -2048, 0xfffffffffffff800
  TRI xori, 0x123456789abcdef0, -1, 0xedcba9876543210f
  /* shifts by 0, 31, 32, 63, and amounts taken from the low 6 bits only */
  TRR sll, 0x8000000000000001, 0, 0x8000000000000001
  TRR sll, 1, 31, 0x80000000
  TRR sll, 1, 32, 0x100000000
  TRR sll, 1, 63, 0x8000000000000000
  TRR sll, 1, 65, 2
  TRR srl, 0x8000000000000000, 0, 0x8000000000000000
  TRR srl, 0x8000000000000000, 31, 0x100000000
  TRR srl, 0x8000000000000000, 32, 0x80000000
  TRR srl, 0x8000000000000000, 63, 1
  TRR srl, 0x8000000000000000, 0xffffffffffffffc1, 0x4000000000000000
  TRR sra, 0x8000000000000000, 0, 0x8000000000000000
  TRR sra, 0x8000000000000000, 31, 0xffffffff00000000
  TRR sra, 0x8000000000000000, 32, 0xffffffff80000000
  TRR sra, 0x8000000000000000, 63, -1
  TRR sra, 0x4000000000000000, 62, 1
  TRI slli, 0x8000000000000001, 0, 0x8000000000000001
  TRI slli, 1, 31, 0x80000000
  TRI slli, 1, 32, 0x100000000
  TRI slli, 3, 63, 0x8000000000000000
  TRI srli, 0x8000000000000000, 31, 0x100000000
  TRI srli, 0x8000000000000000, 32, 0x80000000
  TRI srli, 0x8000000000000000, 63, 1
  TRI srai, 0x8000000000000000, 0, 0x8000000000000000
  TRI srai, 0x8000000000000000, 31, 0xffffffff00000000
  TRI srai, 0x8000000000000000, 32, 0xffffffff80000000
  TRI srai, 0x8000000000000000, 63, -1
  TRI srai, 0x7fffffffffffffff, 63, 0
  /* W forms: operate on the low 32 bits, sign-extend the 32-bit result */
  TRR addw, 0x7fffffff, 1, 0xffffffff80000000
  TRR addw, 0x100000001, 0x200000000, 1
  TRR addw, 0xffffffff, 1, 0
  TRR subw, 0, 0x80000000, 0xffffffff80000000
  TRR subw, 0x100000000, 1, -1
  TRI addiw, 0x7fffffff, 1, 0xffffffff80000000
  TRI addiw, 0x80000000, 0, 0xffffffff80000000     /* sext.w */
  TRI addiw, 0xffffffff00000001, -2, -1
  TRR sllw, 1, 31, 0xffffffff80000000
  TRR sllw, 1, 32, 1                                /* amount is the low 5 bits */
  TRR sllw, 0xffffffff, 0, -1
  TRR srlw, 0xffffffff80000000, 31, 1
  TRR srlw, 0x80000000, 0, 0xffffffff80000000
  TRR srlw, 0x80000000, 1, 0x40000000
  TRR srlw, 0x80000000, 33, 0x40000000
  TRR sraw, 0x80000000, 31, -1
  TRR sraw, 0x80000000, 4, 0xfffffffff8000000
  TRR sraw, 0x7fffffff00000000, 1, 0
  TRI slliw, 1, 31, 0xffffffff80000000
  TRI slliw, 0x123456789, 0, 0x23456789
  TRI srliw, 0x80000000, 0, 0xffffffff80000000
  TRI srliw, -1, 31, 1
  TRI srliw, 0x123456789abcdef0, 4, 0x09abcdef
  TRI sraiw, 0x80000000, 4, 0xfffffffff8000000
  TRI sraiw, 0x80000000, 31, -1
  TRI sraiw, 0x7fffffff, 0, 0x7fffffff

  /* LUI sign-extends bit 31 */
  lui a0, 0x80000
  CHECK a0, 0xffffffff80000000
  lui a0, 0x7ffff
  CHECK a0, 0x7ffff000
  /* AUIPC adds the (sign-extended) upper immediate to its own address */
1:
  auipc a0, 0
  la a1, 1b
  CHECK_REG a0, a1
2:
  auipc a0, 1
  la a1, 2b
  li a2, 0x1000
  add a1, a1, a2
  CHECK_REG a0, a1
3:
  auipc a0, 0x80000
  la a1, 3b
  li a2, 0x80000000
  sub a1, a1, a2
  CHECK_REG a0, a1

  /* x0 is hard-wired to zero */
  addi x0, x0, 5
  CHECK x0, 0
  lui x0, 0x12345
  li a1, 7
  add a0, x0, a1
  CHECK a0, 7
  PASS
