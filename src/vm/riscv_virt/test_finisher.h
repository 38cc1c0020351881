// The `sifive,test` device of QEMU's virt machine (at 0x100000): bare-metal tests report their
// verdict through it and Linux uses it as its power-off/reboot syscon.
#pragma once

#include "vm/devices/bus_device.h"
#include "vm/machine/stop_latch.h"

namespace vessel::riscv_virt {

class TestFinisher : public vm::BusDevice {
  public:
    static constexpr uint64_t kBase = 0x100000;
    static constexpr uint64_t kSize = 0x1000;
    static constexpr uint32_t kPass = 0x5555;   // power off / test passed: exit 0
    static constexpr uint32_t kFail = 0x3333;   // (code << 16) | kFail: exit `code`
    static constexpr uint32_t kReset = 0x7777;  // reboot

    explicit TestFinisher(vm::StopLatch& exit) : exit_(exit) {}

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    vm::StopLatch& exit_;
};

}  // namespace vessel::riscv_virt
