/* RV64C: every RV64 compressed form with results checked (explicit c.* mnemonics, so each is
 * really encoded in 16 bits), jumps and branches to 2-byte aligned targets, a 32-bit instruction
 * at a 2-byte aligned address and one straddling a 4 KiB page boundary, c.ebreak (epc, skipped
 * as a 2-byte instruction), the all-zero 16-bit word and reserved encodings being illegal. */
#include "test.h"

.macro ILLEGAL16 bits
  EXPECT_TRAP
  .hword \bits
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_TVAL \bits
.endm

  .option rvc
  .text
  .globl test_main
test_main:
  li t0, MSTATUS_FS_INITIAL      /* enable the FPU for c.fld/c.fsd/c.fldsp/c.fsdsp */
  csrs mstatus, t0
  la sp, cbuf

  /* stack-pointer based forms */
  c.addi4spn a0, sp, 16
  la t0, cbuf + 16
  CHECK_REG a0, t0
  c.addi16sp sp, 32
  la t0, cbuf + 32
  CHECK_REG sp, t0
  c.addi16sp sp, -32
  la t0, cbuf
  CHECK_REG sp, t0
  c.lwsp a1, 4(sp)
  CHECK a1, 0xffffffff80000001
  c.ldsp a1, 8(sp)
  CHECK a1, 0x0123456789abcdef
  li a2, 0x1122334455667788
  c.swsp a2, 16(sp)
  c.sdsp a2, 24(sp)
  ld a3, 16(sp)
  CHECK a3, 0x0000000055667788
  ld a3, 24(sp)
  CHECK a3, 0x1122334455667788
  c.fldsp fa0, 8(sp)
  fmv.x.d a3, fa0
  CHECK a3, 0x0123456789abcdef
  c.fsdsp fa0, 32(sp)
  ld a3, 32(sp)
  CHECK a3, 0x0123456789abcdef

  /* register-based loads and stores (x8..x15, f8..f15) */
  mv s0, sp
  c.lw a4, 4(s0)
  CHECK a4, 0xffffffff80000001
  c.ld a5, 8(s0)
  CHECK a5, 0x0123456789abcdef
  li s1, -1
  c.sw s1, 40(s0)
  ld a3, 40(s0)
  CHECK a3, 0x00000000ffffffff
  c.sd s1, 48(s0)
  ld a3, 48(s0)
  CHECK a3, -1
  c.fld fa1, 8(s0)
  c.fsd fa1, 56(s0)
  ld a3, 56(s0)
  CHECK a3, 0x0123456789abcdef

  /* immediates */
  c.li a0, -32
  CHECK a0, -32
  c.li a0, 31
  CHECK a0, 31
  c.addi a0, -32
  CHECK a0, -1
  c.lui a0, 1
  CHECK a0, 0x1000
  c.lui a0, 0x1f
  CHECK a0, 0x1f000
  c.lui a0, 0xfffe0
  CHECK a0, 0xfffffffffffe0000
  li a0, 0x7fffffff
  c.addiw a0, 1
  CHECK a0, 0xffffffff80000000
  li a0, 0x180000000
  c.addiw a0, 0                   /* sext.w */
  CHECK a0, 0xffffffff80000000
  li a0, 0x8000000000000001
  c.slli a0, 63
  CHECK a0, 0x8000000000000000
  li a0, 0xff
  c.slli a0, 1
  CHECK a0, 0x1fe
  li s0, 0x8000000000000000
  c.srli s0, 32
  CHECK s0, 0x80000000
  li s0, 0x8000000000000000
  c.srai s0, 63
  CHECK s0, -1
  li s0, 0x8000000000000000
  c.srai s0, 1
  CHECK s0, 0xc000000000000000
  li a1, 0x123456789abcdef0
  c.andi a1, -32
  CHECK a1, 0x123456789abcdee0
  li a1, 0x123456789abcdeff
  c.andi a1, 31
  CHECK a1, 0x1f

  /* register-register */
  li a2, 10
  li a3, 3
  c.sub a2, a3
  CHECK a2, 7
  li a2, 0xff00
  li a3, 0x0ff0
  c.xor a2, a3
  CHECK a2, 0xf0f0
  li a2, 0xff00
  c.or a2, a3
  CHECK a2, 0xfff0
  li a2, 0xff00
  c.and a2, a3
  CHECK a2, 0x0f00
  li a2, 0
  li a3, 0x80000000
  c.subw a2, a3
  CHECK a2, 0xffffffff80000000
  li a2, 0x7fffffff
  li a3, 0x100000001
  c.addw a2, a3
  CHECK a2, 0xffffffff80000000
  li a1, 0x55
  c.mv t1, a1
  CHECK t1, 0x55
  li t1, 0x1000000000
  c.add t1, a1
  CHECK t1, 0x1000000055
  c.nop
  c.addi a1, 0                    /* hint: rd unchanged */
  CHECK a1, 0x55

  /* control transfer, with 2-byte aligned targets */
  .balign 4
  c.j 1f
  j test_fail
  c.nop
1:                                /* 2 mod 4 */
  li a0, 0
  c.beqz a0, 2f
  j test_fail
  c.nop
2:
  li a0, 1
  c.beqz a0, test_fail_near
  c.bnez a0, 3f
  j test_fail
3:
  li a0, 0
  c.bnez a0, test_fail_near
  /* backward c.bnez loop */
  li a0, 5
  li a1, 0
4:
  c.addi a1, 2
  c.addi a0, -1
  c.bnez a0, 4b
  CHECK a1, 10
  /* c.jr and c.jalr to a 2-byte aligned routine */
  la a5, odd_routine
  andi t0, a5, 3
  CHECK t0, 2
  li a0, 0
  c.jalr a5
5:
  CHECK a0, 0x77
  CHECK_ADDR ra, 5b
  la a5, 6f
  c.jr a5
  j test_fail
  .balign 4
  c.nop
6:
  /* a 32-bit instruction at a 2 mod 4 address */
  lui a0, 0x12345
  CHECK a0, 0x12345000
  /* a 32-bit jalr to a 2-byte aligned target */
  la a5, odd_routine
  jalr ra, 0(a5)
  CHECK a0, 0x77
  /* a 32-bit instruction straddling a page boundary */
  li a0, 0
  call straddle
  CHECK a0, 0x123

  /* c.ebreak: breakpoint at its own address, resumed 2 bytes later */
  EXPECT_TRAP
7:
  c.ebreak
  CHECK_TRAP CAUSE_BREAKPOINT
  CHECK_EPC_ADDR 7b
  /* the all-zero halfword is an illegal instruction (mtval = its bits, 0) */
  EXPECT_TRAP
8:
  .hword 0
  CHECK_TRAP CAUSE_ILLEGAL
  CHECK_EPC_ADDR 8b
  CHECK_TVAL 0
  /* reserved compressed encodings are illegal, mtval = the 16 bits */
  ILLEGAL16 0x8002                 /* c.jr x0 */
  ILLEGAL16 0x4002                 /* c.lwsp x0 */
  ILLEGAL16 0x6002                 /* c.ldsp x0 */
  ILLEGAL16 0x6101                 /* c.addi16sp 0 */
  ILLEGAL16 0x6501                 /* c.lui a0, 0 */
  PASS

test_fail_near:
  j test_fail

  .balign 4
  c.nop
odd_routine:
  li a0, 0x77
  c.jr ra

  /* Runs c.nop up to 2 bytes before a page end, then a 32-bit addi across the boundary. */
  .section .text.straddle, "ax"
  .balign 4096
straddle:
  .rept 2047
  c.nop
  .endr
  .option push
  .option norvc
  addi a0, a0, 0x123
  .option pop
  c.jr ra

  .data
  .balign 16
cbuf:
  .word 0, 0x80000001
  .dword 0x0123456789abcdef
  .dword 0, 0, 0, 0, 0, 0, 0, 0
