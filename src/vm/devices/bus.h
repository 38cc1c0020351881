// Address decoding for device windows: one Bus for MMIO, another for x86 port I/O. The layout is
// fixed when the machine is built and read-only afterwards, so vCPU threads dispatch without locks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "vm/devices/bus_device.h"

namespace vessel::vm {

class Bus {
  public:
    // Attaches `device` (not owned; the machine owns devices and outlives the bus) at
    // [base, base + size). Overlapping windows are an error naming both.
    Result<> attach(uint64_t base, uint64_t size, BusDevice& device, std::string name);

    // Dispatch. False when no single window holds the whole access: the caller raises its engine's
    // access fault (RISC-V) or ignores it (x86 port I/O reads as all ones).
    bool read(uint64_t address, unsigned size, uint64_t& value) const;
    bool write(uint64_t address, unsigned size, uint64_t value) const;

  private:
    struct Window {
        uint64_t base;
        uint64_t size;
        BusDevice* device;
        std::string name;
    };
    const Window* find(uint64_t address, unsigned size) const;

    std::vector<Window> windows_;  // sorted by base, non-overlapping
};

}  // namespace vessel::vm
