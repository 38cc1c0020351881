/* The bare-metal guest tests/vmm/gdb_test.sh debugs: a counted loop that stores its counter (a
 * watchpoint), a read of a string (a read watchpoint), then a power-off through the finisher.
 * Built with -g, so that gdb has its labels and lines. */
  .globl _start
_start:
  li s0, 0
loop:
  addi s0, s0, 1
  la t0, counter
  sd s0, 0(t0)
after_store:
  li t1, 3
  blt s0, t1, loop
  la t0, message
  lbu t1, 0(t0)
after_read:
  nop
finish:
  li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
1:
  j 1b

  .data
  .balign 8
counter:
  .dword 0
message:
  .asciz "vessel"
