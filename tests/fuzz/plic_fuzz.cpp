// The PLIC's registers as the harts' kernels reach them, and the device lines as devices drive
// them: a sequence of register accesses (anywhere in its 6 MiB window, any size) and line changes
// from the input. A claim returns 0 or a source that was pending and is then in service.
#include <cstdlib>

#include "fuzz_input.h"
#include "riscv_board.h"
#include "vm/riscv_virt/plic.h"

using namespace vessel;
using vessel::riscv_virt::Plic;

namespace {

// Offsets where the registers are, so that most accesses hit one; the rest go anywhere.
uint64_t pick_offset(fuzz::FuzzInput& input) {
    uint32_t raw = input.take<uint32_t>();
    switch (raw & 3) {
        case 0:  // source priorities and pending bits
            return ((raw >> 2) % 0x1100) & ~3u;
        case 1:  // enables: 0x80 per context
            return 0x2000 + (((raw >> 2) % 0x400) & ~3u);
        case 2:  // threshold and claim/complete: 0x1000 per context
            return 0x200000 + ((raw >> 2) % 8) * 0x1000 + ((raw >> 5) & 1) * 4;
        default:
            return (raw >> 2) % Plic::kSize;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    fuzz::RiscvBoard board(1 + input.below(4));
    Plic plic(board.harts());
    while (!input.empty()) {
        uint8_t op = input.take<uint8_t>();
        unsigned width = 1u << ((op >> 2) & 3);
        switch (op & 3) {
            case 0:
                (void)plic.read(pick_offset(input), width);
                break;
            case 1: {
                uint64_t offset = pick_offset(input);
                plic.write(offset, width, input.take<uint32_t>());
                break;
            }
            case 2:
                // Out-of-range sources (0, kSources and above) must be ignored.
                plic.set_source_level(input.take<uint8_t>(), op & 0x80);
                break;
            case 3: {
                unsigned context = input.below(8);
                uint64_t claim = 0x200004 + context * 0x1000;
                uint64_t source = plic.read(claim, 4);
                if (source >= Plic::kSources) std::abort();
                if (op & 0x80) plic.write(claim, 4, source);  // complete it
                break;
            }
        }
    }
    return 0;
}
