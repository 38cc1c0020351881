// What a device sees of the machine: accesses to its own window, nothing about the CPU engine that
// made them. The RISC-V board and the KVM machine attach the same device classes.
#pragma once

#include <cstdint>

namespace vessel::vm {

class BusDevice {
  public:
    virtual ~BusDevice() = default;
    // `offset` is relative to the device's window; `size` is 1, 2, 4 or 8 bytes. Accesses come from
    // several vCPU threads at once: a device synchronises its own state. Reads return the value
    // zero-extended; an access the device does not implement reads 0 and ignores writes.
    virtual uint64_t read(uint64_t offset, unsigned size) = 0;
    virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

// A level-triggered interrupt input of whatever interrupt controller the machine has (PLIC on
// RISC-V, the in-kernel IOAPIC on KVM). Devices raise and lower it; the machine routes it.
class InterruptLine {
  public:
    virtual ~InterruptLine() = default;
    virtual void set_level(bool asserted) = 0;
};

}  // namespace vessel::vm
