// The CLINT's registers (msip, mtimecmp, mtime) from the harts' side: a sequence of accesses at
// any offset and size in its window. msip reads back only its bit 0, and only for harts that
// exist.
#include <cstdlib>

#include "fuzz_input.h"
#include "riscv_board.h"
#include "vm/riscv_virt/clint.h"

using namespace vessel;
using vessel::riscv_virt::Clint;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    fuzz::RiscvBoard board(1 + input.below(4));
    Clint clint(board.clock(), board.harts());
    while (!input.empty()) {
        uint8_t op = input.take<uint8_t>();
        unsigned width = 1u << ((op >> 1) & 3);
        uint32_t raw = input.take<uint32_t>();
        // msip words, mtimecmp, mtime, or anywhere.
        uint64_t offset;
        switch ((op >> 3) & 3) {
            case 0:
                offset = (raw % 0x20) & ~3u;
                break;
            case 1:
                offset = 0x4000 + (raw % 0x40);
                break;
            case 2:
                offset = 0xbff8 + (raw % 8);
                break;
            default:
                offset = raw % Clint::kSize;
        }
        if (op & 1) {
            clint.write(offset, width, input.take<uint64_t>());
        } else {
            uint64_t value = clint.read(offset, width);
            if (offset < 0x4000 && width == 4 && value > 1) std::abort();
        }
    }
    return 0;
}
