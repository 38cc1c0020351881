// The SBI as a hostile S-mode kernel calls it: a sequence of ECALLs from any hart with fuzz-chosen
// extension and function ids (mostly ones the SBI implements) and arguments (raw, or guest
// addresses near RAM for the console calls). Every call returns an SBI error or success in a0 and
// touches nothing outside guest RAM; a system reset only records the exit.
#include <cstdlib>

#include "fuzz_input.h"
#include "riscv_board.h"
#include "vm/machine/stop_latch.h"
#include "vm/riscv_virt/sbi.h"

using namespace vessel;

namespace {

constexpr uint64_t kExtensions[] = {
    0x10, 0x54494d45, 0x735049, 0x52464e43, 0x48534d, 0x53525354, 0x4442434e, 0x0,
    0x1,  0x2,        0x3,      0x4,        0x5,      0x6,        0x7,        0x8};

uint64_t argument(fuzz::FuzzInput& input) {
    uint8_t kind = input.take<uint8_t>();
    switch (kind % 4) {
        case 0:  // small: hart ids, masks, function ids, lengths
            return kind >> 2;
        case 1:  // inside or just around guest RAM
            return fuzz::kBoardRam - 0x100 + input.take<uint32_t>() % (fuzz::kBoardRamSize + 0x200);
        default:
            return input.take<uint64_t>();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    fuzz::RiscvBoard board(1 + input.below(4));
    vm::StopLatch exit;
    size_t written = 0;
    riscv_virt::Sbi sbi(board.memory(), board.harts(), exit,
                        {.write = [&](uint8_t) { ++written; }, .read = [] { return 'x'; }});
    while (!input.empty()) {
        riscv::Hart& hart = board.hart(input.take<uint8_t>());
        uint8_t pick = input.take<uint8_t>();
        uint64_t eid =
            pick < 0xf0 ? kExtensions[pick % std::size(kExtensions)] : input.take<uint64_t>();
        hart.set_reg(17, eid);
        hart.set_reg(16, argument(input));
        for (unsigned reg = 10; reg <= 15; ++reg)
            hart.set_reg(reg, argument(input));
        (void)sbi.handle_ecall(hart);
    }
    sbi.shut_down();
    return 0;
}
