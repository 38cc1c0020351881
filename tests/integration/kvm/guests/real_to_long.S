// A bare x86 guest for `vessel-vmm --accel kvm --bios`: starts in 16-bit real mode at 1000:0000,
// prints over COM1, switches to protected mode and then to long mode with its own identity page
// tables, prints again, reads an address with no RAM or device behind it (a KVM MMIO exit; the VMM
// must answer all ones), and halts (KVM_EXIT_HLT: the VMM ends the VM with status 0).
#define BASE 0x10000
#define COM1 0x3f8
#define TABLES 0x30000

    .code16
    .globl _start
_start:
    cli
    mov %cs, %ax
    mov %ax, %ds
    lea msg_real, %si
1:  lodsb
    test %al, %al
    jz 2f
    mov $COM1, %dx
    out %al, %dx
    jmp 1b
2:  lgdtl gdt_descriptor
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $(BASE + protected_mode)

    .code32
protected_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x9f000, %esp
    // Six zeroed pages: PML4, PDPT, four page directories of 2 MiB pages (4 GiB identity map).
    mov $TABLES, %edi
    mov $(6 * 1024), %ecx
    xor %eax, %eax
    rep stosl
    movl $(TABLES + 0x1000 + 3), TABLES
    mov $0, %ebx
3:  mov %ebx, %eax
    shl $12, %eax
    add $(TABLES + 0x2000 + 3), %eax
    mov %eax, TABLES + 0x1000(, %ebx, 8)
    inc %ebx
    cmp $4, %ebx
    jne 3b
    mov $0, %ebx
4:  mov %ebx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, TABLES + 0x2000(, %ebx, 8)
    mov %ebx, %eax
    shr $11, %eax
    mov %eax, TABLES + 0x2000 + 4(, %ebx, 8)
    inc %ebx
    cmp $2048, %ebx
    jne 4b
    mov $TABLES, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $0xc0000080, %ecx
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax
    mov %eax, %cr0
    ljmp $0x18, $(BASE + long_mode)

    .code64
long_mode:
    lea msg_long(%rip), %rsi
    call puts
    mov $0xd0000000, %rax
    mov (%rax), %eax
    cmp $0xffffffff, %eax
    jne 5f
    lea msg_mmio(%rip), %rsi
    call puts
    hlt
5:  lea msg_fail(%rip), %rsi
    call puts
    hlt

puts:
    mov $COM1, %dx
6:  lodsb
    test %al, %al
    jz 7f
    out %al, %dx
    jmp 6b
7:  ret

    .align 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff  // 0x08: 32-bit code
    .quad 0x00cf92000000ffff  // 0x10: data
    .quad 0x00af9a000000ffff  // 0x18: 64-bit code
gdt_descriptor:
    .word gdt_descriptor - gdt - 1
    .long BASE + gdt

msg_real: .asciz "REAL-MODE-OK\n"
msg_long: .asciz "LONG-MODE-OK\n"
msg_mmio: .asciz "MMIO-EXIT-OK\n"
msg_fail: .asciz "MMIO-EXIT-WRONG\n"
