// A bare x86-64 ELF guest for `vessel-vmm --kernel`: the VMM enters it in long mode as it enters a
// vmlinux (RSI = boot_params). It checks the zero page, then does what its command line says:
//   poweroff  - ACPI S5 through the PM1a control port      -> vessel-vmm exits 0
//   reset     - i8042 reset command 0xfe                  -> exits 2
//   triple    - fault with an empty IDT (triple fault)    -> exits 3
//   spin      - loop forever                              -> exits 4 with --timeout
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

static void puts(const char* text) {
    while (*text) outb(0x3f8, (uint8_t)*text++);
}

static void put_hex(uint64_t value) {
    char digits[19] = "0x";
    for (int i = 0; i < 16; ++i) digits[2 + i] = "0123456789abcdef"[(value >> (60 - 4 * i)) & 15];
    digits[18] = 0;
    puts(digits);
}

static int starts_with(const char* text, const char* prefix) {
    while (*prefix)
        if (*text++ != *prefix++) return 0;
    return 1;
}

void start64(uint64_t unused, const uint8_t* boot_params) {
    (void)unused;
    const uint32_t* magic = (const uint32_t*)(boot_params + 0x202);
    uint32_t cmdline = *(const uint32_t*)(boot_params + 0x228);
    uint8_t e820_entries = boot_params[0x1e8];
    if (*magic != 0x53726448 || cmdline == 0 || e820_entries < 3) {
        puts("ELF-GUEST bad boot_params\n");
        outw(0x604, (5 << 10) | (1 << 13));
    }
    puts("ELF-GUEST long mode, boot_params ok, e820 entries ");
    put_hex(e820_entries);
    puts("\n");
    volatile uint32_t* hole = (volatile uint32_t*)0xd0000000;
    uint32_t value = *hole;
    puts(value == 0xffffffff ? "ELF-GUEST mmio ok\n" : "ELF-GUEST mmio WRONG\n");
    const char* command = (const char*)(uintptr_t)cmdline;
    if (starts_with(command, "poweroff")) {
        puts("ELF-GUEST powering off\n");
        outw(0x604, (5 << 10) | (1 << 13));
    } else if (starts_with(command, "reset")) {
        puts("ELF-GUEST resetting\n");
        outb(0x64, 0xfe);
    } else if (starts_with(command, "triple")) {
        puts("ELF-GUEST triple fault\n");
        struct __attribute__((packed)) {
            uint16_t limit;
            uint64_t base;
        } empty = {0, 0};
        __asm__ volatile("lidt %0; int3" : : "m"(empty));
    } else if (starts_with(command, "spin")) {
        puts("ELF-GUEST spinning\n");
    }
    for (;;) __asm__ volatile("pause");
}

__asm__(".globl _start\n_start:\n mov $0x8ff0, %rsp\n call start64\n1: hlt\n jmp 1b\n");
