/* Sv48 translation from S-mode: the four-level walk down to 4 KiB pages, 2 MiB, 1 GiB and
 * 512 GiB leaves (identity, non-identity and in the upper canonical half), a misaligned 512 GiB
 * leaf, Sv48 canonical-address checks (bit 47 sign-extended; addresses that Sv39 would reject
 * are valid here), permission and A/D updates through four levels, sfence.vma, satp ignoring a
 * write with a reserved MODE. */
#include "test.h"
#include "paging.h"

#define VA_4K(i) (0x100000000 + (i) * 0x1000)   /* root[0] -> l2[4] -> l1[0] -> l0 */
#define VA_2M 0x100200000                      /* l1[1]: 2 MiB page -> RAM base */
#define VA_512G 0x8000000000                   /* root[1]: 512 GiB page -> PA 0 */
#define VA_512G_MISALIGNED 0x10000000000       /* root[2]: leaf with PPN[2..0] != 0 */
#define VA_1G_ALIAS 0x18000000000              /* root[3] -> l2b[0]: 1 GiB page -> RAM base */
#define VA_HIGH 0xffff800000000000             /* root[256]: 512 GiB page -> PA 0 */

  .text
  .globl test_main
test_main:
  ZERO_PAGES pt_root, 5
  li a0, 0
  SET_TABLE_PTE pt_root, 0, pt_l2
  SET_PTE pt_root, 1, a0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  li a1, 0x80000000
  SET_PTE pt_root, 2, a1, PTE_V | PTE_R | PTE_A
  SET_TABLE_PTE pt_root, 3, pt_l2b
  SET_PTE pt_root, 256, a0, PTE_V | PTE_R | PTE_A
  SET_PTE pt_l2, 0, a0, PTE_RWX_AD | PTE_G
  SET_PTE pt_l2, 2, a1, PTE_RWX_AD | PTE_G
  SET_TABLE_PTE pt_l2, 4, pt_l1
  SET_PTE pt_l2b, 0, a1, PTE_V | PTE_R | PTE_A
  SET_TABLE_PTE pt_l1, 0, pt_l0
  SET_PTE pt_l1, 1, a1, PTE_V | PTE_R | PTE_A
  la a0, page_a
  SET_PTE pt_l0, 0, a0, PTE_V | PTE_R | PTE_W                /* A = D = 0 */
  SET_PTE pt_l0, 1, a0, PTE_V | PTE_R | PTE_A
  la a1, page_b
  SET_PTE pt_l0, 2, a1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  la a0, page_a
  li a1, 0x1111111111111111
  sd a1, 0(a0)
  la a0, page_b
  li a1, 0x2222222222222222
  sd a1, 0(a0)

  la a0, pt_root
  srli a0, a0, 12
  li a1, SATP_SV48
  or a0, a0, a1
  csrw satp, a0
  csrr a1, satp
  CHECK_REG a1, a0                 /* Sv48 is supported */
  sfence.vma
  MRET_TO 1, s_main

s_main:
  /* four-level walk to a 4 KiB page, with A then D set by the hart */
  li s0, VA_4K(0)
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  LOAD_PTE a1, pt_l0, 0
  andi a1, a1, PTE_A | PTE_D
  CHECK a1, PTE_A
  sd a0, 8(s0)
  LOAD_PTE a1, pt_l0, 0
  andi a1, a1, PTE_A | PTE_D
  CHECK a1, PTE_A | PTE_D
  li s0, VA_4K(1)
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  CHECK_TVAL VA_4K(1)
  li s0, VA_4K(2)
  ld a0, 0(s0)
  CHECK a0, 0x2222222222222222
  li s0, VA_4K(3)                  /* l0[3] invalid */
  EXPECT_TRAP
  ld a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_4K(3)
  /* 2 MiB, 1 GiB, 512 GiB and upper-half 512 GiB leaves */
  ALIAS a0, sample, VA_2M
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  ALIAS a0, sample, VA_1G_ALIAS
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  la a0, sample
  li a2, VA_512G
  add a0, a0, a2
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  li a3, 0x77
  sd a3, 8(a0)
  la a4, sample
  ld a4, 8(a4)
  CHECK a4, 0x77
  la a0, sample
  li a2, VA_HIGH
  add a0, a0, a2
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  EXPECT_TRAP                      /* read-only */
  sd a1, 0(a0)
  CHECK_TRAP CAUSE_STORE_PAGE
  li a0, VA_512G_MISALIGNED + 0x100
  EXPECT_TRAP
  ld a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_512G_MISALIGNED + 0x100
  /* canonical checks: bits 63..48 must equal bit 47 */
  li a0, 0x0000800000000000
  EXPECT_TRAP
  ld a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL 0x0000800000000000
  li a0, 0x0001000080000000
  EXPECT_TRAP
  sd a1, 0(a0)
  CHECK_TRAP CAUSE_STORE_PAGE
  CHECK_TVAL 0x0001000080000000
  li a0, 0xffff000000000000        /* canonical lower end of the top half, unmapped */
  EXPECT_TRAP
  ld a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL 0xffff000000000000
  /* executing through a non-executable 512 GiB page */
  EXPECT_TRAP_RESUME m_1
  la a0, s_main
  li a1, VA_512G
  add a0, a0, a1
  jalr a0
  j test_fail
m_1:
  CHECK_TRAP CAUSE_FETCH_PAGE
  MRET_TO 1, s_2
s_2:
  /* sfence.vma with an address after a PTE change */
  li s0, VA_4K(1)
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  la a1, page_b
  SET_PTE pt_l0, 1, a1, PTE_V | PTE_R | PTE_A
  sfence.vma s0
  ld a0, 0(s0)
  CHECK a0, 0x2222222222222222
  BACK_TO_M m_2
m_2:
  csrw satp, zero
  sfence.vma
  /* a write with a reserved MODE has no effect at all */
  la a0, pt_root
  srli a0, a0, 12
  li a1, 7 << 60
  or a0, a0, a1
  csrw satp, a0
  csrr a1, satp
  CHECK a1, 0
  PASS

  .data
  .balign 8
sample:
  .dword 0x0123456789abcdef, 0

  .section .pages, "aw", @nobits
  .balign 4096
pt_root:
  .skip 4096
pt_l2:
  .skip 4096
pt_l2b:
  .skip 4096
pt_l1:
  .skip 4096
pt_l0:
  .skip 4096
page_a:
  .skip 4096
page_b:
  .skip 4096
