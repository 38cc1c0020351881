#include "vm/riscv_virt/test_finisher.h"

#include "vm/boot/vm_config.h"

namespace vessel::riscv_virt {

uint64_t TestFinisher::read(uint64_t, unsigned) {
    return 0;
}

void TestFinisher::write(uint64_t offset, unsigned size, uint64_t value) {
    if (offset != 0 || size < 2) return;  // OpenSBI writes 16 bits, Linux syscon 32
    auto command = static_cast<uint32_t>(value);
    switch (command & 0xffff) {
        case kPass:
            exit_.request(vm::exit_code::powered_off);
            break;
        case kFail:
            exit_.request(static_cast<int>(command >> 16));
            break;
        case kReset:
            exit_.request(vm::exit_code::reboot);
            break;
        default:
            break;  // unknown commands are ignored, as on QEMU
    }
}

}  // namespace vessel::riscv_virt
