/* Sv39 translation, run from S-mode with code and data identity-mapped by a 1 GiB page:
 * 4 KiB, 2 MiB and 1 GiB leaves, identity and non-identity; misaligned superpages; R/W/X
 * permission faults (12/13/15, mtval = the virtual address) including W-without-R, invalid and
 * non-leaf-at-level-0 PTEs; the U bit against S accesses with and without SUM and S fetches from
 * U pages; MXR making execute-only pages readable; the hart setting A on access and D on store
 * (QEMU and Vessel update A/D in hardware); non-canonical addresses; MPRV with MPP = S/U for
 * M-mode loads and stores; sfence.vma after changing a PTE; U-mode fetch from U and S pages;
 * a page fault delegated to S (stval = address); a fetch fault on the second half of an
 * instruction straddling into an unmapped page (mepc = instruction, mtval = that page); code
 * patched through another virtual alias and fence.i. */
#include "test.h"
#include "paging.h"

#define VA_4K(i) (0x100000000 + (i) * 0x1000)   /* l0 table, below VPN2 = 4 */
#define VA_2M 0x100200000                      /* l1[1]: 2 MiB page -> RAM base, R */
#define VA_2M_MISALIGNED 0x100400000           /* l1[2]: leaf with PPN[0] != 0 */
#define VA_1G_MISALIGNED 0x140000000           /* root[5]: leaf with PPN[1] != 0 */
#define VA_1G_ALIAS 0x180000000                /* root[6]: 1 GiB page -> RAM base, RW */
#define VA_U_ALIAS 0x280000000                 /* root[10]: 1 GiB page -> RAM base, U RWX */

  .text
  .globl test_main
test_main:
  ZERO_PAGES pt_root, 3
  /* root: devices and RAM identity (S only, global), the l1 table, superpages */
  li a0, 0
  SET_PTE pt_root, 0, a0, PTE_RWX_AD | PTE_G
  li a0, 0x80000000
  SET_PTE pt_root, 2, a0, PTE_RWX_AD | PTE_G
  SET_TABLE_PTE pt_root, 4, pt_l1
  li a0, 0x80200000
  SET_PTE pt_root, 5, a0, PTE_RWX_AD
  li a0, 0x80000000
  SET_PTE pt_root, 6, a0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SET_PTE pt_root, 10, a0, PTE_RWX_AD | PTE_U
  /* l1: the l0 table, a 2 MiB page, a misaligned 2 MiB page */
  SET_TABLE_PTE pt_l1, 0, pt_l0
  li a0, 0x80000000
  SET_PTE pt_l1, 1, a0, PTE_V | PTE_R | PTE_A
  li a0, 0x80001000
  SET_PTE pt_l1, 2, a0, PTE_V | PTE_R | PTE_A
  li a0, 0x80000000
  SET_PTE pt_l1, 3, a0, PTE_V | PTE_R | PTE_W                      /* 2 MiB, A = D = 0 */
  /* l0: 4 KiB pages with every permission shape */
  la a0, page_a
  SET_PTE pt_l0, 0, a0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SET_PTE pt_l0, 1, a0, PTE_V | PTE_R | PTE_A
  la a1, xpage
  SET_PTE pt_l0, 2, a1, PTE_V | PTE_X | PTE_A
  SET_PTE pt_l0, 3, a0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
  SET_PTE pt_l0, 4, a0, PTE_R | PTE_W | PTE_A | PTE_D              /* V = 0 */
  SET_PTE pt_l0, 5, a0, PTE_V | PTE_W | PTE_A | PTE_D              /* W without R: reserved */
  SET_PTE pt_l0, 6, a0, PTE_V | PTE_R | PTE_W                      /* A = D = 0 */
  SET_PTE pt_l0, 7, a0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D      /* remapped later */
  SET_PTE pt_l0, 263, a0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D    /* 256 pages past 7 */
  SET_PTE pt_l0, 8, a1, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A      /* U code */
  SET_PTE pt_l0, 9, a0, PTE_V                                      /* non-leaf at level 0 */
  SET_PTE pt_l0, 10, a0, PTE_V | PTE_R | PTE_W | PTE_A             /* D = 0 */
  la a1, xpage_end
  SET_PTE pt_l0, 11, a1, PTE_V | PTE_R | PTE_X | PTE_A             /* l0[12] stays invalid */
  /* page contents */
  la a0, page_a
  li a1, 0x1111111111111111
  sd a1, 0(a0)
  li a1, 0xaabbccddeeff0011
  li a2, 4088
  add a2, a2, a0
  sd a1, 0(a2)
  la a0, page_b
  li a1, 0x2222222222222222
  sd a1, 0(a0)

  la a0, pt_root
  srli a0, a0, 12
  li a1, SATP_SV39
  or a0, a0, a1
  csrw satp, a0
  csrr a1, satp
  CHECK_REG a1, a0
  sfence.vma
  MRET_TO 1, s_main

s_main:
  /* 4 KiB page: read, write, read back through the identity view */
  li s0, VA_4K(0)
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  li a1, 0x3333
  sd a1, 8(s0)
  la a2, page_a
  ld a3, 8(a2)
  CHECK a3, 0x3333
  /* 2 MiB page onto RAM base, 1 GiB non-identity alias */
  ALIAS a0, sample, VA_2M
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  ALIAS a0, sample, VA_1G_ALIAS
  ld a1, 0(a0)
  CHECK a1, 0x0123456789abcdef
  li a2, 0x5a5a
  sd a2, 8(a0)
  la a3, sample
  ld a4, 8(a3)
  CHECK a4, 0x5a5a
  /* the 2 MiB page is read-only */
  ALIAS a0, sample, VA_2M
  EXPECT_TRAP
  sd a2, 0(a0)
  CHECK_TRAP CAUSE_STORE_PAGE
  LOAD_TRAP a1, TR_TVAL
  CHECK_REG a1, a0
  /* misaligned superpages fault */
  li a0, VA_2M_MISALIGNED + 0x18
  EXPECT_TRAP
  ld a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_2M_MISALIGNED + 0x18
  li a0, VA_1G_MISALIGNED
  EXPECT_TRAP
  lw a1, 0(a0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_1G_MISALIGNED

  /* read-only page: load ok, store faults with mtval = address */
  li s0, VA_4K(1)
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  EXPECT_TRAP
  sw a0, 12(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  CHECK_TVAL VA_4K(1) + 12
  /* AMOs need write permission: store/AMO page fault */
  EXPECT_TRAP
  amoadd.d a1, a0, (s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  /* fetch from a non-executable page */
  EXPECT_TRAP_RESUME m_fetch_1
  li a0, VA_4K(1)
  jalr a0
  j test_fail
m_fetch_1:
  CHECK_TRAP CAUSE_FETCH_PAGE
  CHECK_TVAL VA_4K(1)
  LOAD_TRAP a0, TR_EPC
  CHECK a0, VA_4K(1)
  MRET_TO 1, s_2
s_2:
  /* execute-only page: runs; loads fault unless MXR */
  li a0, 0
  li s0, VA_4K(2)
  jalr s0
  CHECK a0, 0x42
  EXPECT_TRAP
  lw a1, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_4K(2)
  li a2, MSTATUS_MXR
  csrs sstatus, a2
  lw a1, 0(s0)
  la a3, xpage
  lw a3, 0(a3)
  CHECK_REG a1, a3
  EXPECT_TRAP                      /* MXR does not make it writable */
  sw a1, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  csrc sstatus, a2

  /* U page from S: faults without SUM, works with SUM; S never executes U pages */
  li s0, VA_4K(3)
  EXPECT_TRAP
  ld a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  li a2, MSTATUS_SUM
  csrs sstatus, a2
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  sd a0, 16(s0)
  EXPECT_TRAP_RESUME m_fetch_2
  li a0, VA_4K(8)
  jalr a0
  j test_fail
m_fetch_2:
  CHECK_TRAP CAUSE_FETCH_PAGE
  CHECK_TVAL VA_4K(8)
  MRET_TO 1, s_3
s_3:
  li a2, MSTATUS_SUM
  csrc sstatus, a2

  /* a 32-bit instruction whose second half lies on an unmapped page: fetch page fault with
   * mepc = its start and mtval = the start of the page that faulted */
  EXPECT_TRAP_RESUME m_fetch_3
  li a0, VA_4K(12) - 2
  jalr a0
  j test_fail
m_fetch_3:
  CHECK_TRAP CAUSE_FETCH_PAGE
  LOAD_TRAP a0, TR_EPC
  CHECK a0, VA_4K(12) - 2
  CHECK_TVAL VA_4K(12)
  MRET_TO 1, s_straddle
s_straddle:

  /* invalid PTE, W without R, pointer PTE at level 0: page faults for every access type */
  li s0, VA_4K(4)
  EXPECT_TRAP
  ld a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  CHECK_TVAL VA_4K(4)
  li s0, VA_4K(5)
  EXPECT_TRAP
  ld a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  li s0, VA_4K(9)
  EXPECT_TRAP
  ld a0, 8(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_4K(9) + 8

  /* non-canonical: bits 63..39 must equal bit 38 */
  li s0, 0x0000008000000000
  EXPECT_TRAP
  ld a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL 0x0000008000000000
  li s0, 0xffffff8000001000        /* canonical but unmapped (root[510] = 0) */
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  CHECK_TVAL 0xffffff8000001000
  li s0, 0x8000000080000000        /* high bit alone set: non-canonical, not RAM */
  EXPECT_TRAP
  lb a0, 0(s0)
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL 0x8000000080000000

  /* A and D: a load sets A, a store sets D */
  LOAD_PTE a0, pt_l0, 6
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, 0
  li s0, VA_4K(6)
  ld a1, 0(s0)
  CHECK a1, 0x1111111111111111
  LOAD_PTE a0, pt_l0, 6
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A
  sd a1, 24(s0)
  LOAD_PTE a0, pt_l0, 6
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A | PTE_D
  li s0, VA_4K(10)
  sd a1, 32(s0)
  LOAD_PTE a0, pt_l0, 10
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A | PTE_D

  /* A and D in a 2 MiB leaf */
  ALIAS s0, sample, 0x100600000
  ld a1, 0(s0)
  CHECK a1, 0x0123456789abcdef
  LOAD_PTE a0, pt_l1, 3
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A
  sd a1, 8(s0)
  LOAD_PTE a0, pt_l1, 3
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A | PTE_D

  /* a misaligned load across two pages (both through the TLB, the second page R-only) */
  li s0, VA_4K(0) + 4092
  ld a0, 0(s0)
  CHECK a0, 0x11111111aabbccdd
  /* a misaligned store whose second page is read-only faults; mtval is the access's address or
   * the start of the faulting page (the spec leaves it open; QEMU 7.2 reports the page start) */
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  LOAD_TRAP a1, TR_TVAL
  li a2, VA_4K(1)
  beq a1, a2, 1f
  CHECK a1, VA_4K(0) + 4092
1:

  /* sfence.vma after changing a PTE: the new mapping is seen */
  /* (LR and AMOs find their page in the TLBs that loads and stores fill: after a fence they
   * must not use what was there before) */
  sfence.vma  /* the TLBs then hold no piece of a superpage: the fence below drops one page */
  li s0, VA_4K(7)
  ld a0, 0(s0)
  CHECK a0, 0x1111111111111111
  sd a0, 0(s0)
  amoor.d a2, zero, (s0)
  CHECK a2, 0x1111111111111111
  lr.d a2, (s0)
  CHECK a2, 0x1111111111111111
  /* VA_4K(263) shares VA_4K(7)'s TLB set (a two-way TLB keeps both): used last, it leaves
   * VA_4K(7)'s entries in the second way, which the fence below must drop all the same */
  li t3, VA_4K(263)
  ld a2, 0(t3)
  CHECK a2, 0x1111111111111111
  sd a2, 0(t3)
  la a1, page_b
  SET_PTE pt_l0, 7, a1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  sfence.vma s0, zero
  amoor.d a2, zero, (s0)
  CHECK a2, 0x2222222222222222
  lr.d a2, (s0)
  CHECK a2, 0x2222222222222222
  ld a0, 0(s0)
  CHECK a0, 0x2222222222222222
  ld a2, 0(t3)
  CHECK a2, 0x1111111111111111
  ld a2, 0(s0)
  CHECK a2, 0x2222222222222222
  SET_PTE pt_l0, 7, a1, PTE_V | PTE_R | PTE_A
  sfence.vma
  EXPECT_TRAP
  amoor.d a2, zero, (s0)
  CHECK_TRAP CAUSE_STORE_PAGE
  EXPECT_TRAP
  sd a0, 0(s0)
  CHECK_TRAP CAUSE_STORE_PAGE

  /* code patched through a different virtual address (the RW alias) is seen after fence.i */
  call patch_me
  CHECK a0, 1
  ALIAS a1, patch_me, VA_1G_ALIAS
  li a2, 0x00200513                /* addi a0, zero, 2 */
  sw a2, 0(a1)
  fence.i
  call patch_me
  CHECK a0, 2

  /* a load page fault delegated to S: stval = the address, handled by stvec in S */
  BACK_TO_M m_deleg
m_deleg:
  la a0, strap_entry
  csrw stvec, a0
  li a0, 1 << CAUSE_LOAD_PAGE
  csrw medeleg, a0
  MRET_TO 1, s_4
s_4:
  li s0, VA_4K(4) + 0x30
  EXPECT_STRAP
1:
  ld a0, 0(s0)
  CHECK_STRAP CAUSE_LOAD_PAGE
  CHECK_STVAL VA_4K(4) + 0x30
  CHECK_SEPC_ADDR 1b
  BACK_TO_M m_mprv
m_mprv:
  csrw medeleg, zero

  /* MPRV: M-mode loads and stores translated with MPP's privilege */
  li s0, VA_4K(0)
  li a0, MSTATUS_MPRV | MSTATUS_MPP
  csrc mstatus, a0
  li a0, MSTATUS_MPRV | MSTATUS_MPP_S
  csrs mstatus, a0
  ld a1, 0(s0)
  sd a1, 40(s0)
  csrc mstatus, a0
  CHECK a1, 0x1111111111111111
  la a2, page_a
  ld a3, 40(a2)
  CHECK a3, 0x1111111111111111
  /* MPRV honours MXR (execute-only page readable) and SUM (U page readable with MPP = S) */
  li s0, VA_4K(2)
  li a0, MSTATUS_MPRV | MSTATUS_MPP_S | MSTATUS_MXR
  csrs mstatus, a0
  lw a1, 0(s0)
  csrc mstatus, a0
  la a2, xpage
  lw a2, 0(a2)
  CHECK_REG a1, a2
  li s0, VA_4K(3)
  li a0, MSTATUS_MPRV | MSTATUS_MPP_S | MSTATUS_SUM
  csrs mstatus, a0
  ld a1, 0(s0)
  csrc mstatus, a0
  CHECK a1, 0x1111111111111111
  li a0, MSTATUS_MPP
  csrc mstatus, a0

  /* MPP = U: the U page is accessible, the S page is not; fetches are not translated */
  li a0, MSTATUS_MPRV
  li s0, VA_4K(3)
  csrs mstatus, a0
  ld a1, 0(s0)
  csrc mstatus, a0
  CHECK a1, 0x1111111111111111
  li s0, VA_4K(0)
  EXPECT_TRAP_RESUME m_mprv_2
  csrs mstatus, a0
  ld a1, 0(s0)
  j test_fail
m_mprv_2:
  li a0, MSTATUS_MPRV
  csrc mstatus, a0
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_4K(0)

  /* U-mode: fetch from a U page works (its ecall traps from U at that address) ... */
  EXPECT_TRAP_RESUME m_u_1
  li a0, VA_4K(8) + 8              /* xpage + 8 is an ecall */
  csrw mepc, a0
  li a0, MSTATUS_MPP
  csrc mstatus, a0
  mret
m_u_1:
  CHECK_TRAP CAUSE_ECALL_U
  LOAD_TRAP a0, TR_EPC
  CHECK a0, VA_4K(8) + 8
  /* ... fetch from an S page faults */
  EXPECT_TRAP_RESUME m_u_2
  MRET_TO 0, s_main
m_u_2:
  CHECK_TRAP CAUSE_FETCH_PAGE
  LOAD_TRAP a0, TR_TVAL
  CHECK_ADDR a0, s_main
  /* U code through the U alias gigapage can load U data and not S data */
  ALIAS a0, u_probe, VA_U_ALIAS
  EXPECT_TRAP_RESUME m_u_3
  li s0, VA_4K(3)
  csrw mepc, a0
  li a0, MSTATUS_MPP
  csrc mstatus, a0
  mret
m_u_3:
  CHECK_TRAP CAUSE_LOAD_PAGE
  CHECK_TVAL VA_4K(0)
  CHECK s1, 0x1111111111111111
  csrw satp, zero
  sfence.vma
  PASS

  .balign 4
patch_me:
  .option push
  .option norvc
  addi a0, zero, 1
  .option pop
  ret

  /* U code: s1 = load from the U page at s0, then load from the S page VA_4K(0) (faults). */
u_probe:
  ld s1, 0(s0)
  li s0, VA_4K(0)
  ld s1, 0(s0)
  j u_probe

  /* Code reached through execute-only and U mappings: returns 0x42 in a0. */
  .section .text.xpage, "ax"
  .balign 4096
xpage:
  li a0, 0x42
  ret
  .balign 8
  ecall
  j .

  /* A page ending in the first half of `addi a0, a0, 1`. */
  .section .text.xpage_end, "ax"
  .balign 4096
xpage_end:
  .skip 4094
  .hword 0x0513

  .data
  .balign 8
sample:
  .dword 0x0123456789abcdef, 0

  .section .pages, "aw", @nobits
  .balign 4096
pt_root:
  .skip 4096
pt_l1:
  .skip 4096
pt_l0:
  .skip 4096
page_a:
  .skip 4096
page_b:
  .skip 4096
