// One CPU engine behind the machine: the RISC-V emulator or KVM. The machine (machine.h) owns
// the devices, the console, the stop latch and the run loop; an engine runs vCPUs over guest RAM
// and the bus, and gives devices its interrupt lines. A device written against this works on both.
#pragma once

#include <cstdint>

#include "vm/devices/bus_device.h"

namespace vessel::vm {

class Engine {
  public:
    virtual ~Engine() = default;

    virtual unsigned vcpu_count() const = 0;
    // Runs vCPU `index` on the calling thread until stop_vcpus(); returns at once for a vCPU the
    // guest never starts.
    virtual void run_vcpu(unsigned index) = 0;
    // Makes every run_vcpu() return promptly; the stop latch already holds the reason.
    virtual void stop_vcpus() = 0;

    // Input `number` of the platform's interrupt controller (a PLIC source on RISC-V, an IOAPIC pin
    // on x86), for a device that signals with a level and clears it when the guest acknowledges.
    virtual InterruptLine& interrupt_line(unsigned number) = 0;

    // Lets a guest's 32-bit write of `value` to `address` signal `fd` without the vCPU leaving the
    // guest (KVM's ioeventfd). False when the engine has no such path: the write then reaches the
    // device on the bus like any other.
    virtual bool signal_on_write(uint64_t /*address*/, uint32_t /*value*/, int /*fd*/) {
        return false;
    }
};

}  // namespace vessel::vm
