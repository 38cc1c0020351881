// Guest-physical layout of the x86-64 KVM machine. Low addresses follow the PC conventions Linux
// expects (real-mode area, EBDA, BIOS ROM area for the ACPI RSDP scan); the boot structures sit
// where Firecracker puts them so that the first 1 MiB holds nothing the kernel must avoid beyond
// what the e820 map reserves.
#pragma once

#include <cstdint>

namespace vessel::vm::x86 {

inline constexpr uint64_t kGdtAddress = 0x500;
inline constexpr uint64_t kIdtAddress = 0x520;
inline constexpr uint64_t kZeroPageAddress = 0x7000;  // boot_params
inline constexpr uint64_t kBootStackTop = 0x8ff0;
inline constexpr uint64_t kPml4Address = 0x9000;  // then PDPT at 0xa000, 4 PDs 0xb000-0xefff
inline constexpr uint64_t kIdentityMappedBytes = 4ull << 30;
inline constexpr uint64_t kCmdlineAddress = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;         // up to the EBDA-free area's end
inline constexpr uint64_t kEbdaStart = 0x9fc00;          // reserved from here to 1 MiB
inline constexpr uint64_t kAcpiTablesAddress = 0xe0000;  // inside the RSDP scan window
inline constexpr uint64_t kAcpiTablesMax = 0x10000;
inline constexpr uint64_t kHighMemoryStart = 0x100000;     // 1 MiB
inline constexpr uint64_t kRealModeLoadAddress = 0x10000;  // --bios flat images, CS=0x1000 IP=0

// The 32-bit MMIO hole: RAM stops at 3 GiB and resumes at 4 GiB.
inline constexpr uint64_t kMmioHoleStart = 0xc0000000;
inline constexpr uint64_t kMmioHoleEnd = 0x100000000;
inline constexpr uint64_t kIoApicAddress = 0xfec00000;
inline constexpr uint64_t kLocalApicAddress = 0xfee00000;
// KVM needs three pages for the real-mode TSS and one for the EPT identity map, in the hole.
inline constexpr uint64_t kIdentityMapAddress = 0xfeffc000;
inline constexpr uint64_t kTssAddress = 0xfeffd000;

// Port I/O.
inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr unsigned kCom1Irq = 4;
inline constexpr uint16_t kI8042Port = 0x60;  // data 0x60, command/status 0x64
inline constexpr uint16_t kCmosPort = 0x70;
inline constexpr uint16_t kAcpiPmPort = 0x600;  // PM1a_EVT 0x600, PM1a_CNT 0x604, PM_TMR 0x608
inline constexpr unsigned kAcpiSciIrq = 9;

}  // namespace vessel::vm::x86
