#include "vm/boot/riscv_image.h"

#include <algorithm>
#include <cstring>

namespace vessel::vm {

namespace {
uint64_t read_le64(std::span<const uint8_t> bytes, size_t offset) {
    uint64_t value = 0;
    for (unsigned i = 0; i < 8; ++i)
        value |= uint64_t{bytes[offset + i]} << (8 * i);
    return value;
}
constexpr uint64_t kDefaultTextOffset = 0x200000;
constexpr uint64_t kKernelAlign = 0x200000;
constexpr uint64_t kPage = 4096;
}  // namespace

Result<RiscvImageHeader> parse_riscv_image_header(std::span<const uint8_t> image) {
    if (image.size() < 0x40 || std::memcmp(image.data() + 0x38, "RSC\x05", 4) != 0)
        return fail("not a RISC-V Linux Image (no \"RSC\\x05\" magic at offset 0x38)");
    RiscvImageHeader header{read_le64(image, 8), read_le64(image, 16)};
    // Images before the header carried text_offset used 0; the kernel runs at +2 MiB on RV64.
    if (header.text_offset == 0) header.text_offset = kDefaultTextOffset;
    if (header.text_offset % kKernelAlign != 0 || header.text_offset > (uint64_t{1} << 32))
        return fail("RISC-V Image: text_offset {:#x} is not a 2 MiB multiple below 4 GiB",
                    header.text_offset);
    if (header.image_size > (uint64_t{1} << 32))
        return fail("RISC-V Image: image_size {:#x} is implausible", header.image_size);
    return header;
}

Result<RiscvBootLayout> plan_riscv_boot_layout(uint64_t ram_base, uint64_t ram_size,
                                               const RiscvImageHeader& header,
                                               uint64_t image_file_size, uint64_t initrd_size) {
    RiscvBootLayout layout{};
    layout.kernel = ram_base + header.text_offset;
    uint64_t footprint = std::max(header.image_size, image_file_size);
    layout.kernel_end = (layout.kernel + footprint + kPage - 1) & ~(kPage - 1);
    uint64_t ram_end = ram_base + ram_size;
    if (ram_size < kDtbMaxSize || layout.kernel_end > ram_end - kDtbMaxSize)
        return fail("memory {} MiB is too small for the kernel ({} KiB at +{:#x}) and device tree",
                    ram_size >> 20, footprint >> 10, header.text_offset);
    layout.dtb = ram_end - kDtbMaxSize;
    if (initrd_size) {
        layout.initrd_end = layout.dtb;
        if (initrd_size > layout.dtb - layout.kernel_end)
            return fail("memory {} MiB is too small for the kernel ({} KiB) and initrd ({} KiB)",
                        ram_size >> 20, footprint >> 10, initrd_size >> 10);
        layout.initrd = (layout.initrd_end - initrd_size) & ~(kPage - 1);
        layout.initrd_end = layout.initrd + initrd_size;
    }
    return layout;
}

}  // namespace vessel::vm
