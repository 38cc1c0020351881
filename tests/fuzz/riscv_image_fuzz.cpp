// The RISC-V Linux Image header and the boot layout planned from it: any header, any RAM size,
// any initrd size. A plan that is returned fits RAM: kernel, initrd and device tree in order,
// none overlapping, none wrapping.
#include <cstdlib>

#include "fuzz_input.h"
#include "vm/boot/riscv_image.h"

using namespace vessel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    // RAM as the VMM sizes it: whole pages, well below 2^64.
    uint64_t ram_size = uint64_t{input.take<uint32_t>()} << 12;
    uint64_t initrd_size = input.take<uint64_t>();
    auto image = input.rest();
    auto header = vm::parse_riscv_image_header(image);
    if (!header) return 0;
    constexpr uint64_t kRamBase = 0x8000'0000;
    auto plan = vm::plan_riscv_boot_layout(kRamBase, ram_size, *header, image.size(), initrd_size);
    if (!plan) return 0;
    uint64_t ram_end = kRamBase + ram_size;
    if (ram_end < kRamBase) std::abort();
    if (plan->kernel < kRamBase || plan->kernel_end < plan->kernel ||
        plan->kernel_end - plan->kernel < image.size())
        std::abort();
    if (plan->dtb != ram_end - vm::kDtbMaxSize || plan->dtb < plan->kernel_end) std::abort();
    if (initrd_size) {
        if (plan->initrd < plan->kernel_end || plan->initrd_end < plan->initrd ||
            plan->initrd_end - plan->initrd != initrd_size || plan->initrd_end > plan->dtb)
            std::abort();
    }
    return 0;
}
