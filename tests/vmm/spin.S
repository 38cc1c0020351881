/* A guest that never finishes: vessel-vmm must stop it at --timeout. */
  .globl _start
_start:
  j _start
