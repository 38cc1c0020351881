// The ELF loaders: the RISC-V board's (bare-metal programs, OpenSBI) and the KVM machine's
// (vmlinux, bare-metal x86 kernels), on the same bytes into a small guest RAM. A hostile ELF is an
// error naming the problem; what loads lies wholly inside guest RAM.
#include <cstdlib>

#include "fuzz_input.h"
#include "vm/boot/elf_loader.h"
#include "vm/kvm/x86_boot.h"

using namespace vessel;

namespace {

// Two regions with a hole between them, so that a segment may straddle the hole.
constexpr vm::RamLayout kRam[] = {{0x8000'0000, 1 << 20}, {0x8020'0000, 1 << 20}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> image(data, size);
    {
        auto memory = vm::GuestMemory::create(kRam);
        if (!memory) std::abort();
        auto loaded = vm::load_elf_image(image, vm::kElfMachineRiscv, *memory);
        if (loaded) {
            if (loaded->lowest > loaded->highest) std::abort();
            if (loaded->highest > loaded->lowest && !memory->find(loaded->lowest) &&
                !memory->find(loaded->highest - 1))
                std::abort();
        }
    }
    {
        auto memory = vm::GuestMemory::create(kRam);
        if (!memory) std::abort();
        (void)vm::x86::load_elf64(*memory, image);
    }
    return 0;
}
