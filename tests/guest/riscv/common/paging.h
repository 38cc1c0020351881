/* Helpers shared by the paging tests (Sv39, Sv48). */
#ifndef VESSEL_RISCV_PAGING_H
#define VESSEL_RISCV_PAGING_H

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE_RWX_AD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define SATP_SV39 (8 << 60)
#define SATP_SV48 (9 << 60)

#ifdef __ASSEMBLER__
/* table[index] = PTE for the physical address in pa_reg with flags. Clobbers t4, t5, t6. */
.macro SET_PTE table, index, pa_reg, flags
  srli t5, \pa_reg, 12
  slli t5, t5, 10
  li t4, \flags
  or t5, t5, t4
  la t6, \table
  li t4, (\index) * 8
  add t6, t6, t4
  sd t5, 0(t6)
.endm

/* table[index] = pointer to next_table. */
.macro SET_TABLE_PTE table, index, next_table
  la t4, \next_table
  SET_PTE \table, \index, t4, PTE_V
.endm

/* reg = the PTE table[index]. */
.macro LOAD_PTE reg, table, index
  la \reg, \table
  ld \reg, ((\index) * 8)(\reg)
.endm

/* Zeroes `pages` 4 KiB pages from `start`. Clobbers t4, t5. */
.macro ZERO_PAGES start, pages
  la t4, \start
  li t5, (\pages) * 4096
  add t5, t5, t4
8910:
  sd zero, 0(t4)
  addi t4, t4, 8
  bltu t4, t5, 8910b
.endm

/* reg = physical address of `label` minus RAM base plus va_base: the alias of label at va_base. */
.macro ALIAS reg, label, va_base
  la \reg, \label
  li t6, 0x80000000
  sub \reg, \reg, t6
  li t6, \va_base
  add \reg, \reg, t6
.endm
#endif
#endif
