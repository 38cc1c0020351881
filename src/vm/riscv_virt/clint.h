// The CLINT (ACLINT MSWI + MTIMER) at 0x2000000 as on QEMU's virt: per-hart msip words at +0,
// mtimecmp at +0x4000 + 8 * hart, the shared mtime at +0xbff8. It keeps no state of its own: msip
// and mtimecmp live in the harts (which compare the clock themselves), so the harts need no lock.
#pragma once

#include <span>

#include "vm/devices/bus_device.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv_virt {

class Clint : public vm::BusDevice {
  public:
    static constexpr uint64_t kBase = 0x2000000;
    static constexpr uint64_t kSize = 0x10000;

    Clint(const riscv::Clock& clock, std::span<riscv::Hart* const> harts);

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    const riscv::Clock& clock_;
    std::span<riscv::Hart* const> harts_;
    std::unique_ptr<std::atomic<uint32_t>[]> msip_;
};

}  // namespace vessel::riscv_virt
