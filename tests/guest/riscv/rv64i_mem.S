/* RV64I loads of every width with sign/zero extension, stores of every width (only the addressed
 * bytes change), negative offsets, loads into x0, FENCE, and FENCE.I after storing code.
 *
 * Misaligned ordinary loads and stores: QEMU 7.2 TCG performs them on RAM without trapping (the
 * spec lets an implementation either do that or raise address-misaligned); Vessel makes the same
 * choice, so this test requires the access to succeed with the little-endian value. */
#include "test.h"

  .text
  .globl test_main
test_main:
  la a0, neg
  lb a1, 0(a0)
  CHECK a1, 0xffffffffffffff80
  lbu a1, 0(a0)
  CHECK a1, 0x80
  lb a1, 7(a0)
  CHECK a1, 0xfffffffffffffff0
  lh a1, 0(a0)
  CHECK a1, 0xffffffffffff9080
  lhu a1, 0(a0)
  CHECK a1, 0x9080
  lh a1, 6(a0)
  CHECK a1, 0xfffffffffffff0e0
  lw a1, 0(a0)
  CHECK a1, 0xffffffffb0a09080
  lwu a1, 0(a0)
  CHECK a1, 0xb0a09080
  lw a1, 4(a0)
  CHECK a1, 0xfffffffff0e0d0c0
  lwu a1, 4(a0)
  CHECK a1, 0xf0e0d0c0
  ld a1, 0(a0)
  CHECK a1, 0xf0e0d0c0b0a09080
  la a0, pos
  lb a1, 0(a0)
  CHECK a1, 0x08
  lh a1, 0(a0)
  CHECK a1, 0x0708
  lw a1, 0(a0)
  CHECK a1, 0x05060708
  lwu a1, 4(a0)
  CHECK a1, 0x01020304
  /* negative offsets */
  addi a0, a0, 8
  ld a1, -8(a0)
  CHECK a1, 0x0102030405060708
  lbu a1, -16(a0)
  CHECK a1, 0x80
  /* a load into x0 is performed and discarded */
  lw x0, -8(a0)
  CHECK x0, 0

  /* stores change only the addressed bytes */
  la a0, scratch
  li a1, -1
  sd a1, 0(a0)
  li a2, 0x1122334455667788
  sb a2, 1(a0)
  ld a3, 0(a0)
  CHECK a3, 0xffffffffffff88ff
  sh a2, 4(a0)
  ld a3, 0(a0)
  CHECK a3, 0xffff7788ffff88ff
  sw a2, 0(a0)
  ld a3, 0(a0)
  CHECK a3, 0xffff778855667788
  sd a2, 8(a0)
  ld a3, 8(a0)
  CHECK a3, 0x1122334455667788
  ld a3, 0(a0)
  CHECK a3, 0xffff778855667788
  sw zero, 12(a0)
  ld a3, 8(a0)
  CHECK a3, 0x55667788
  addi a4, a0, 16
  sh a2, -2(a4)
  ld a3, 8(a0)
  CHECK a3, 0x7788000055667788

  /* misaligned ordinary accesses succeed (see the header) */
  la a0, neg
  ld a1, 1(a0)
  CHECK a1, 0x08f0e0d0c0b0a090
  lw a1, 3(a0)
  CHECK a1, 0xffffffffe0d0c0b0
  lhu a1, 7(a0)
  CHECK a1, 0x08f0
  la a0, scratch
  sd zero, 0(a0)
  sd zero, 8(a0)
  li a1, 0x1122334455667788
  sd a1, 3(a0)
  ld a2, 0(a0)
  CHECK a2, 0x4455667788000000
  ld a2, 8(a0)
  CHECK a2, 0x0000000000112233
  sw a1, 9(a0)
  ld a2, 8(a0)
  CHECK a2, 0x0000005566778833
  sh a1, 15(a0)
  ld a2, 8(a0)
  CHECK a2, 0x8800005566778833
  lh a2, 15(a0)
  CHECK a2, 0x7788
  fence
  fence rw, rw
  fence.tso

  /* FENCE.I makes a store to an instruction visible to later fetches */
  li a0, 0
  call patchable
  CHECK a0, 1
  la a1, patchable
  li a2, 0x00200513               /* addi a0, zero, 2 */
  sw a2, 0(a1)
  fence.i
  call patchable
  CHECK a0, 2
  PASS

  .balign 4
patchable:
  .option push
  .option norvc
  addi a0, zero, 1
  ret
  .option pop

  .data
  .balign 8
neg:
  .dword 0xf0e0d0c0b0a09080
pos:
  .dword 0x0102030405060708
scratch:
  .dword 0, 0, 0
