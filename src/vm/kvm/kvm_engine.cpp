#include "vm/kvm/kvm_engine.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

namespace vessel::vm::kvm {

class KvmEngine::IrqfdLine final : public InterruptLine {
  public:
    IrqfdLine(int vm_fd, unsigned gsi) : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        kvm_irqfd irqfd{};
        irqfd.fd = static_cast<uint32_t>(event_.get());
        irqfd.gsi = gsi;
        // Without an irqfd the line falls back to KVM_IRQ_LINE pulses from the device's thread.
        if (!event_ || ::ioctl(vm_fd, KVM_IRQFD, &irqfd) != 0) {
            event_.reset();
            vm_fd_ = vm_fd;
            gsi_ = gsi;
        }
    }
    void set_level(bool asserted) override {
        if (!asserted) return;
        if (event_) {
            uint64_t one = 1;
            (void)::write(event_.get(), &one, sizeof one);
            return;
        }
        for (uint32_t level : {1u, 0u}) {
            kvm_irq_level line{};
            line.irq = gsi_;
            line.level = level;
            (void)::ioctl(vm_fd_, KVM_IRQ_LINE, &line);
        }
    }

  private:
    UniqueFd event_;
    int vm_fd_ = -1;
    unsigned gsi_ = 0;
};

KvmEngine::KvmEngine(int vm_fd, std::vector<Vcpu>& vcpus, const Bus& port_io, const Bus& mmio,
                     StopLatch& stop)
    : vm_fd_(vm_fd),
      vcpus_(vcpus),
      port_io_(port_io),
      mmio_(mmio),
      stop_(stop),
      threads_(vcpus.size()) {}

KvmEngine::~KvmEngine() = default;

void KvmEngine::run_vcpu(unsigned index) {
    {
        std::lock_guard lock(threads_mutex_);
        threads_[index] = ::pthread_self();
    }
    vcpus_[index].run(port_io_, mmio_, stop_);
}

void KvmEngine::stop_vcpus() {
    std::lock_guard lock(threads_mutex_);
    for (size_t i = 0; i < vcpus_.size(); ++i) {
        // The flag covers a vCPU about to enter KVM_RUN; the signal one inside it.
        vcpus_[i].request_immediate_exit();
        if (threads_[i]) ::pthread_kill(*threads_[i], kick_signal());
    }
}

InterruptLine& KvmEngine::interrupt_line(unsigned number) {
    auto& line = lines_[number];
    if (!line) line = std::make_unique<IrqfdLine>(vm_fd_, number);
    return *line;
}

bool KvmEngine::signal_on_write(uint64_t address, uint32_t value, int fd) {
    kvm_ioeventfd event{};
    event.datamatch = value;
    event.addr = address;
    event.len = 4;
    event.fd = fd;
    event.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
    return ::ioctl(vm_fd_, KVM_IOEVENTFD, &event) == 0;
}

}  // namespace vessel::vm::kvm
