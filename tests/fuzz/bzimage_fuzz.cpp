// The x86-64 direct Linux boot: kernel format detection, the bzImage setup header and the whole
// load (kernel, initrd, command line, zero page) into guest RAM. A kernel the loader accepts has
// its entry point and initrd inside RAM.
#include <cstdlib>
#include <string>

#include "fuzz_input.h"
#include "vm/kvm/x86_boot.h"

using namespace vessel;
using namespace vessel::vm::x86;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    // 16 to 80 MiB: RAM sizes decide where the initrd may go. Untouched RAM costs nothing.
    uint64_t ram_bytes = (16 + input.below(65)) << 20;
    auto initrd = input.take_bytes(input.take<uint16_t>() % 4096);
    std::string cmdline(fuzz::as_text(input.take_bytes(input.take<uint8_t>())));
    auto kernel = input.rest();

    (void)detect_kernel_format(kernel);
    if (auto header = parse_bzimage_header(kernel)) {
        if (header->setup_bytes > kernel.size()) std::abort();
    }
    auto layout = ram_layout_for(ram_bytes);
    auto memory = vm::GuestMemory::create(layout);
    if (!memory) std::abort();
    auto loaded = load_linux(*memory, {.kernel = kernel, .initrd = initrd, .cmdline = cmdline});
    if (!loaded) return 0;
    if (!memory->find(loaded->entry)) std::abort();
    if (loaded->initrd_size && !memory->find(loaded->initrd_address, loaded->initrd_size))
        std::abort();
    return 0;
}
