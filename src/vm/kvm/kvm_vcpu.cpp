#include "vm/kvm/kvm_vcpu.h"

#include <asm/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "vm/boot/vm_config.h"
#include "vm/kvm/kvm_abi.h"
#include "vm/kvm/x86_boot.h"
#include "vm/kvm/x86_cpuid.h"
#include "vm/kvm/x86_layout.h"

namespace vessel::vm::kvm {

namespace {

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

constexpr uint64_t kMiscEnableFastString = 1;
constexpr uint64_t kMtrrEnableWriteBack = (1 << 11) | 6;

constexpr uint64_t kCr0Pe = 1, kCr0Et = 1 << 4, kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1 << 5;
constexpr uint64_t kEferLme = 1 << 8, kEferLma = 1 << 10;

constexpr unsigned kApicLvt0 = 0x350, kApicLvt1 = 0x360;
constexpr uint32_t kDeliveryExtInt = 7, kDeliveryNmi = 4;

void no_op_handler(int) {}

kvm_segment segment_from_descriptor(uint64_t descriptor, uint16_t selector) {
    kvm_segment segment{};
    segment.base = ((descriptor >> 16) & 0xffffff) | (((descriptor >> 56) & 0xff) << 24);
    uint32_t limit =
        static_cast<uint32_t>((descriptor & 0xffff) | (((descriptor >> 48) & 0xf) << 16));
    segment.g = (descriptor >> 55) & 1;
    segment.limit = segment.g ? (limit << 12) | 0xfff : limit;
    segment.selector = selector;
    segment.type = (descriptor >> 40) & 0xf;
    segment.s = (descriptor >> 44) & 1;
    segment.dpl = (descriptor >> 45) & 3;
    segment.present = (descriptor >> 47) & 1;
    segment.avl = (descriptor >> 52) & 1;
    segment.l = (descriptor >> 53) & 1;
    segment.db = (descriptor >> 54) & 1;
    return segment;
}

uint32_t set_delivery_mode(uint32_t lvt, uint32_t mode) {
    return (lvt & ~0x700u) | (mode << 8);
}

}  // namespace

int kick_signal() {
    return SIGRTMIN;
}

Result<> install_kick_handler() {
    struct sigaction action {};
    action.sa_handler = no_op_handler;  // no SA_RESTART: KVM_RUN must return EINTR
    sigemptyset(&action.sa_mask);
    if (sigaction(kick_signal(), &action, nullptr) != 0) return fail_errno("sigaction");
    return {};
}

Result<Vcpu> Vcpu::create(int vm_fd, unsigned index, size_t run_mmap_size) {
    UniqueFd fd(ioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
    if (!fd) return fail_errno(fmt::format("KVM_CREATE_VCPU {}", index));
    void* run = mmap(nullptr, run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (run == MAP_FAILED) return fail_errno(fmt::format("mapping vCPU {}'s kvm_run", index));
    return Vcpu(std::move(fd), index, static_cast<kvm_run*>(run), run_mmap_size);
}

Vcpu::Vcpu(Vcpu&& other) noexcept
    : fd_(std::move(other.fd_)),
      index_(other.index_),
      run_(std::exchange(other.run_, nullptr)),
      run_size_(other.run_size_) {}

Vcpu::~Vcpu() {
    if (run_) munmap(run_, run_size_);
}

Result<> Vcpu::configure(const std::vector<kvm_cpuid_entry2>& supported, unsigned cpu_count,
                         bool in_kernel_irqchip) {
    std::vector<kvm_cpuid_entry2> entries = x86::cpuid_for_vcpu(supported, index_, cpu_count);
    CpuidBuffer cpuid(entries.size());
    cpuid.header()->nent = static_cast<uint32_t>(entries.size());
    for (size_t i = 0; i < entries.size(); ++i)
        cpuid.entries()[i] = entries[i];
    if (ioctl(fd_.get(), kSetCpuid2, cpuid.data()) != 0)
        return fail_errno(fmt::format("KVM_SET_CPUID2 on vCPU {}", index_));

    const std::pair<uint32_t, uint64_t> boot_msrs[] = {
        {kMsrSysenterCs, 0},
        {kMsrSysenterEsp, 0},
        {kMsrSysenterEip, 0},
        {kMsrStar, 0},
        {kMsrLstar, 0},
        {kMsrCstar, 0},
        {kMsrSyscallMask, 0},
        {kMsrKernelGsBase, 0},
        {kMsrTsc, 0},
        {kMsrMiscEnable, kMiscEnableFastString},
        {kMsrMtrrDefType, kMtrrEnableWriteBack},
    };
    constexpr size_t kCount = std::size(boot_msrs);
    MsrsBuffer msrs(kCount);
    msrs.header()->nmsrs = kCount;
    for (size_t i = 0; i < kCount; ++i) {
        msrs.entries()[i].index = boot_msrs[i].first;
        msrs.entries()[i].data = boot_msrs[i].second;
    }
    int set = ioctl(fd_.get(), kSetMsrs, msrs.data());
    if (set < 0) return fail_errno(fmt::format("KVM_SET_MSRS on vCPU {}", index_));
    if (static_cast<size_t>(set) != kCount)
        return fail("KVM_SET_MSRS on vCPU {}: KVM refused MSR {:#x}", index_, boot_msrs[set].first);

    kvm_fpu fpu{};
    fpu.fcw = 0x37f;     // x87 default: all exceptions masked, extended precision
    fpu.mxcsr = 0x1f80;  // SSE default: all exceptions masked
    if (ioctl(fd_.get(), KVM_SET_FPU, &fpu) != 0)
        return fail_errno(fmt::format("KVM_SET_FPU on vCPU {}", index_));

    if (in_kernel_irqchip) {
        kvm_lapic_state lapic{};
        if (ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) != 0)
            return fail_errno(fmt::format("KVM_GET_LAPIC on vCPU {}", index_));
        uint32_t lvt0, lvt1;
        std::memcpy(&lvt0, lapic.regs + kApicLvt0, 4);
        std::memcpy(&lvt1, lapic.regs + kApicLvt1, 4);
        lvt0 = set_delivery_mode(lvt0, kDeliveryExtInt);
        lvt1 = set_delivery_mode(lvt1, kDeliveryNmi);
        std::memcpy(lapic.regs + kApicLvt0, &lvt0, 4);
        std::memcpy(lapic.regs + kApicLvt1, &lvt1, 4);
        if (ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) != 0)
            return fail_errno(fmt::format("KVM_SET_LAPIC on vCPU {}", index_));
    }
    return {};
}

Result<> Vcpu::enter_long_mode(uint64_t rip, uint64_t rsi, uint64_t rsp) {
    kvm_sregs sregs{};
    if (ioctl(fd_.get(), KVM_GET_SREGS, &sregs) != 0) return fail_errno("KVM_GET_SREGS");
    kvm_segment code = segment_from_descriptor(x86::kGdtCode64, x86::kBootCodeSelector);
    kvm_segment data = segment_from_descriptor(x86::kGdtData, x86::kBootDataSelector);
    kvm_segment tss = segment_from_descriptor(x86::kGdtTss, x86::kBootTssSelector);
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = tss;
    sregs.gdt.base = x86::kGdtAddress;
    sregs.gdt.limit = x86::kGdtEntries * 8 - 1;
    sregs.idt.base = x86::kIdtAddress;
    sregs.idt.limit = 7;
    sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
    sregs.cr3 = x86::kPml4Address;
    sregs.cr4 = kCr4Pae;
    sregs.efer = kEferLme | kEferLma;
    if (ioctl(fd_.get(), KVM_SET_SREGS, &sregs) != 0) return fail_errno("KVM_SET_SREGS");
    kvm_regs regs{};
    regs.rflags = 2;  // bit 1 is reserved and reads as one
    regs.rip = rip;
    regs.rsi = rsi;
    regs.rsp = regs.rbp = rsp;
    if (ioctl(fd_.get(), KVM_SET_REGS, &regs) != 0) return fail_errno("KVM_SET_REGS");
    return {};
}

Result<> Vcpu::enter_real_mode(uint16_t segment) {
    kvm_sregs sregs{};
    if (ioctl(fd_.get(), KVM_GET_SREGS, &sregs) != 0) return fail_errno("KVM_GET_SREGS");
    for (kvm_segment* s : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss}) {
        s->selector = segment;
        s->base = uint64_t{segment} << 4;
    }
    if (ioctl(fd_.get(), KVM_SET_SREGS, &sregs) != 0) return fail_errno("KVM_SET_SREGS");
    kvm_regs regs{};
    regs.rflags = 2;
    regs.rip = 0;
    regs.rsp = 0xfff0;
    if (ioctl(fd_.get(), KVM_SET_REGS, &regs) != 0) return fail_errno("KVM_SET_REGS");
    return {};
}

void Vcpu::request_immediate_exit() {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

std::string Vcpu::describe_state() {
    kvm_regs regs{};
    kvm_sregs sregs{};
    if (ioctl(fd_.get(), KVM_GET_REGS, &regs) != 0 || ioctl(fd_.get(), KVM_GET_SREGS, &sregs) != 0)
        return fmt::format("vCPU {}", index_);
    return fmt::format("vCPU {} at rip {:#x} (cs {:#x}, cr0 {:#x}, efer {:#x})", index_, regs.rip,
                       sregs.cs.selector, sregs.cr0, sregs.efer);
}

bool Vcpu::handle_io(const Bus& port_io, StopLatch& stop) {
    const auto& io = run_->io;
    bool size_ok = io.size == 1 || io.size == 2 || io.size == 4;
    uint64_t bytes = uint64_t{io.size} * io.count;
    if (!size_ok || io.count == 0 || io.data_offset >= run_size_ ||
        bytes > run_size_ - io.data_offset) {
        stop.request(exit_code::vmm_error,
                     fmt::format("KVM reported a malformed port I/O exit (port {:#x}, size {}, "
                                 "count {})",
                                 io.port, io.size, io.count));
        return false;
    }
    uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
    for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
        uint64_t value = 0;
        if (io.direction == KVM_EXIT_IO_OUT) {
            std::memcpy(&value, data, io.size);
            port_io.write(io.port, io.size, value);  // writes to no device are dropped, as on a PC
        } else {
            if (!port_io.read(io.port, io.size, value)) value = ~uint64_t{0};  // floating bus
            std::memcpy(data, &value, io.size);
        }
    }
    return true;
}

bool Vcpu::handle_mmio(const Bus& mmio, StopLatch& stop) {
    auto& access = run_->mmio;
    if (access.len == 0 || access.len > sizeof(access.data)) {
        stop.request(exit_code::vmm_error,
                     fmt::format("KVM reported a malformed MMIO exit (address {:#x}, length {})",
                                 access.phys_addr, access.len));
        return false;
    }
    uint64_t value = 0;
    if (access.is_write) {
        std::memcpy(&value, access.data, access.len);
        mmio.write(access.phys_addr, access.len, value);
    } else {
        if (!mmio.read(access.phys_addr, access.len, value)) value = ~uint64_t{0};
        std::memcpy(access.data, &value, access.len);
    }
    return true;
}

void Vcpu::run(const Bus& port_io, const Bus& mmio, StopLatch& stop) {
    while (!stop.stopped()) {
        if (ioctl(fd_.get(), KVM_RUN, 0) != 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
                continue;
            }
            stop.request(exit_code::vmm_error,
                         fmt::format("KVM_RUN on vCPU {}: {}", index_, std::strerror(errno)));
            return;
        }
        switch (run_->exit_reason) {
            case KVM_EXIT_IO:
                if (!handle_io(port_io, stop)) return;
                break;
            case KVM_EXIT_MMIO:
                if (!handle_mmio(mmio, stop)) return;
                break;
            case KVM_EXIT_HLT:
                // Only without the in-kernel LAPIC (bare real-mode images): nothing can wake the
                // vCPU, so a halt is the end of the program.
                stop.request(exit_code::powered_off);
                return;
            case KVM_EXIT_INTR:
                break;
            case KVM_EXIT_SHUTDOWN:
                // No register dump: AMD SVM resets the vCPU on this exit, so it would show the
                // reset vector rather than where the guest failed.
                stop.request(
                    exit_code::crashed,
                    fmt::format("guest triple-faulted on vCPU {} (KVM_EXIT_SHUTDOWN)", index_));
                return;
            case KVM_EXIT_FAIL_ENTRY:
                stop.request(
                    exit_code::crashed,
                    fmt::format("KVM could not enter the guest (hardware reason {:#x}): {}",
                                run_->fail_entry.hardware_entry_failure_reason, describe_state()));
                return;
            case KVM_EXIT_INTERNAL_ERROR:
                stop.request(exit_code::crashed,
                             fmt::format("KVM internal error (suberror {}): {}",
                                         run_->internal.suberror, describe_state()));
                return;
            case KVM_EXIT_SYSTEM_EVENT:
                switch (run_->system_event.type) {
                    case KVM_SYSTEM_EVENT_SHUTDOWN:
                        stop.request(exit_code::powered_off);
                        break;
                    case KVM_SYSTEM_EVENT_RESET:
                        stop.request(exit_code::reboot, "guest reset the machine");
                        break;
                    default:
                        stop.request(exit_code::crashed,
                                     fmt::format("guest crashed (system event {})",
                                                 run_->system_event.type));
                        break;
                }
                return;
            default:
                stop.request(exit_code::vmm_error,
                             fmt::format("unexpected KVM exit reason {} on {}", run_->exit_reason,
                                         describe_state()));
                return;
        }
    }
}

}  // namespace vessel::vm::kvm
