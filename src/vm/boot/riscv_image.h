// The RISC-V Linux boot image (arch/riscv/boot/Image): its header, and where the kernel, initrd
// and device tree go in guest RAM.
#pragma once

#include <cstdint>
#include <span>

#include "base/error.h"

namespace vessel::vm {

struct RiscvImageHeader {
    uint64_t text_offset;  // load address = RAM base + text_offset
    uint64_t image_size;   // bytes the kernel occupies once loaded, .bss included
};

// Checks the header (magic2 "RSC\x05" at 0x38) and returns its fields; errors name the problem.
Result<RiscvImageHeader> parse_riscv_image_header(std::span<const uint8_t> image);

struct RiscvBootLayout {
    uint64_t kernel;  // load address (the entry point)
    uint64_t kernel_end;
    uint64_t initrd;  // 0 when there is none
    uint64_t initrd_end;
    uint64_t dtb;  // the device tree blob, at most `dtb_max` bytes
};
inline constexpr uint64_t kDtbMaxSize = 64 * 1024;

// Kernel at RAM base + text_offset (2 MiB aligned), the device tree in the last 64 KiB of RAM,
// the initrd right below it. Errors when RAM cannot hold them all.
Result<RiscvBootLayout> plan_riscv_boot_layout(uint64_t ram_base, uint64_t ram_size,
                                               const RiscvImageHeader& header,
                                               uint64_t image_file_size, uint64_t initrd_size);

}  // namespace vessel::vm
