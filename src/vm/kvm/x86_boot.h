// Direct Linux boot on x86-64 without firmware (the 64-bit boot protocol, Documentation/arch/x86/
// boot.rst): the VMM loads the kernel, fills the zero page (boot_params) with the setup header, the
// e820 map, the command line and the initrd, and enters the kernel in long mode.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::x86 {

enum class KernelFormat { bzimage, elf64, riscv, unknown };

// What the first bytes of a kernel file say it is.
KernelFormat detect_kernel_format(std::span<const uint8_t> image);

// The parts of a bzImage setup header the loader uses, validated.
struct BzImageHeader {
    uint16_t protocol_version = 0;
    uint32_t setup_bytes = 0;  // real-mode setup code + header, (setup_sects + 1) * 512
    uint32_t initrd_addr_max = 0;
    uint32_t kernel_alignment = 0;
    bool relocatable = false;
    uint16_t xloadflags = 0;
    uint32_t cmdline_size = 0;  // longest command line, NUL excluded
    uint64_t pref_address = 0;
    uint32_t init_size = 0;   // memory the kernel needs from its load address while booting
    uint32_t header_end = 0;  // offset of the end of the setup header in the file
};

// Rejects anything that is not a 64-bit-bootable bzImage (boot protocol >= 2.12 with XLF_KERNEL_64)
// or whose fields point outside the file.
Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> image);

struct E820Entry {
    uint64_t address;
    uint64_t size;
    uint32_t type;  // 1 RAM, 2 reserved
};
inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

// The map Linux sees: conventional memory below the EBDA, the reserved legacy area (EBDA, ACPI
// tables, BIOS ROM), then every RAM region from 1 MiB up.
std::vector<E820Entry> build_e820_map(const GuestMemory& memory);

// Guest RAM layout for `bytes` of memory: below the 3 GiB MMIO hole, the rest from 4 GiB.
std::vector<RamLayout> ram_layout_for(uint64_t bytes);

struct LinuxBootInputs {
    std::span<const uint8_t> kernel;
    std::span<const uint8_t> initrd;  // empty: none
    std::string cmdline;
    uint64_t acpi_rsdp_address = 0;  // 0: none
};

struct LoadedKernel {
    uint64_t entry = 0;       // 64-bit entry point (guest-physical, identity-mapped)
    uint64_t kernel_end = 0;  // end of the memory the kernel claims while booting
    uint64_t initrd_address = 0;
    uint64_t initrd_size = 0;
};

// Loads a bzImage or an ELF64 vmlinux, the initrd and the command line, and writes the zero page at
// kZeroPageAddress. Every size is checked against guest RAM and the header's own limits.
Result<LoadedKernel> load_linux(const GuestMemory& memory, const LinuxBootInputs& inputs);

// Loads the PT_LOAD segments of an ELF64 x86-64 file at their physical addresses; returns the entry
// point and the end of the highest segment. Used for vmlinux and for bare-metal test kernels.
struct ElfImage {
    uint64_t entry = 0;
    uint64_t end = 0;
};
Result<ElfImage> load_elf64(const GuestMemory& memory, std::span<const uint8_t> file);

// Writes identity-mapping page tables for the first 4 GiB (2 MiB pages) at kPml4Address and the
// boot GDT at kGdtAddress (null, null, code 0x10, data 0x18, TSS 0x20, as the boot protocol asks).
Result<> write_long_mode_tables(const GuestMemory& memory);

inline constexpr uint16_t kBootCodeSelector = 0x10;
inline constexpr uint16_t kBootDataSelector = 0x18;
inline constexpr uint16_t kBootTssSelector = 0x20;
inline constexpr uint64_t kGdtCode64 = 0x00af9b000000ffff;  // 64-bit, present, execute/read
inline constexpr uint64_t kGdtData = 0x00cf93000000ffff;    // flat 4 GiB, read/write
inline constexpr uint64_t kGdtTss = 0x00808b000000ffff;     // busy 32/64-bit TSS
inline constexpr unsigned kGdtEntries = 5;

}  // namespace vessel::vm::x86
