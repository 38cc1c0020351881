// KVM as the machine's engine: one thread per vCPU in KVM_RUN, stopped by an immediate exit and a
// signal. Device interrupts are irqfds (an eventfd the kernel turns into an edge on an IOAPIC pin)
// and queue notifications ioeventfds, so neither round-trips through a vCPU thread.
#pragma once

#include <pthread.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/unique_fd.h"
#include "vm/devices/bus.h"
#include "vm/kvm/kvm_vcpu.h"
#include "vm/machine/engine.h"
#include "vm/machine/stop_latch.h"

namespace vessel::vm::kvm {

class KvmEngine final : public Engine {
  public:
    KvmEngine(int vm_fd, std::vector<Vcpu>& vcpus, const Bus& port_io, const Bus& mmio,
              StopLatch& stop);
    ~KvmEngine() override;

    unsigned vcpu_count() const override { return static_cast<unsigned>(vcpus_.size()); }
    void run_vcpu(unsigned index) override;
    void stop_vcpus() override;
    // An irqfd on IOAPIC pin `number`: each raise is an edge, as virtio-mmio's ISA interrupt wants
    // (the driver reads InterruptStatus on every interrupt, so a lowered line needs nothing).
    InterruptLine& interrupt_line(unsigned number) override;
    bool signal_on_write(uint64_t address, uint32_t value, int fd) override;

  private:
    class IrqfdLine;

    int vm_fd_;
    std::vector<Vcpu>& vcpus_;
    const Bus& port_io_;
    const Bus& mmio_;
    StopLatch& stop_;
    std::mutex threads_mutex_;
    std::vector<std::optional<pthread_t>> threads_;
    std::map<unsigned, std::unique_ptr<IrqfdLine>> lines_;
};

}  // namespace vessel::vm::kvm
