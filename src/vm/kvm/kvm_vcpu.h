// One KVM vCPU: its fd, its shared kvm_run page, its boot-time state and its run loop. The run loop
// runs on the vCPU's own thread and handles every exit; a fatal exit (triple fault, failed entry,
// KVM internal error) stops the whole machine with a message, never a hang.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vm/devices/bus.h"
#include "vm/machine/stop_latch.h"

namespace vessel::vm::kvm {

class Vcpu {
  public:
    static Result<Vcpu> create(int vm_fd, unsigned index, size_t run_mmap_size);
    Vcpu(Vcpu&& other) noexcept;
    Vcpu& operator=(Vcpu&&) = delete;
    Vcpu(const Vcpu&) = delete;
    ~Vcpu();

    unsigned index() const { return index_; }

    // CPUID (the host's supported set, with this vCPU's APIC ID and the hypervisor bit), the boot
    // MSRs, the x87/SSE control words, and LINT0/LINT1 wired as on a PC (ExtINT, NMI).
    Result<> configure(const std::vector<kvm_cpuid_entry2>& supported, unsigned cpu_count,
                       bool in_kernel_irqchip);

    // Long mode with the VMM's identity page tables and boot GDT, at `rip` with RSI = `rsi`.
    Result<> enter_long_mode(uint64_t rip, uint64_t rsi, uint64_t rsp);
    // 16-bit real mode at segment:0 (CS = DS = ES = SS = `segment`).
    Result<> enter_real_mode(uint16_t segment);

    // Runs until `stop` is requested (by this vCPU's own exits or anyone else).
    void run(const Bus& port_io, const Bus& mmio, StopLatch& stop);

    // Makes a KVM_RUN in progress (or about to start) on this vCPU return; call after requesting a
    // stop, then signal the thread with kKickSignal.
    void request_immediate_exit();

  private:
    Vcpu(UniqueFd fd, unsigned index, kvm_run* run, size_t run_size)
        : fd_(std::move(fd)), index_(index), run_(run), run_size_(run_size) {}

    // Returns false when the exit ends the machine (after recording why in `stop`).
    bool handle_io(const Bus& port_io, StopLatch& stop);
    bool handle_mmio(const Bus& mmio, StopLatch& stop);
    std::string describe_state();

    UniqueFd fd_;
    unsigned index_;
    kvm_run* run_;
    size_t run_size_;
};

// The signal that interrupts a vCPU thread's KVM_RUN (a no-op handler, installed once).
int kick_signal();
Result<> install_kick_handler();

}  // namespace vessel::vm::kvm
