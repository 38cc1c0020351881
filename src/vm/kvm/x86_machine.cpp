#include "vm/kvm/x86_machine.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <memory>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/unique_fd.h"
#include "vm/boot/guest_file.h"
#include "vm/devices/bus.h"
#include "vm/devices/uart16550.h"
#include "vm/kvm/kvm_abi.h"
#include "vm/kvm/kvm_engine.h"
#include "vm/kvm/kvm_vcpu.h"
#include "vm/kvm/x86_acpi.h"
#include "vm/kvm/x86_boot.h"
#include "vm/kvm/x86_devices.h"
#include "vm/kvm/x86_layout.h"
#include "vm/machine/machine.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::kvm {

namespace {

constexpr int kKvmApiVersion = 12;

Result<UniqueFd> open_kvm(const char* device) {
    UniqueFd kvm(open(device, O_RDWR | O_CLOEXEC));
    if (!kvm) return fail_errno(fmt::format("cannot open {} (KVM is not available here)", device));
    int version = ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
    if (version != kKvmApiVersion)
        return fail("{} speaks KVM API {}, not {}", device, version, kKvmApiVersion);
    return kvm;
}

Result<std::vector<kvm_cpuid_entry2>> supported_cpuid(int kvm_fd) {
    for (uint32_t entries = 128; entries <= 4096; entries *= 2) {
        CpuidBuffer cpuid(entries);
        cpuid.header()->nent = entries;
        if (ioctl(kvm_fd, kGetSupportedCpuid, cpuid.data()) == 0) {
            uint32_t count = std::min(cpuid.header()->nent, entries);
            return std::vector<kvm_cpuid_entry2>(cpuid.entries(), cpuid.entries() + count);
        }
        if (errno != E2BIG) return fail_errno("KVM_GET_SUPPORTED_CPUID");
    }
    return fail("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

Result<> require_extension(int kvm_fd, long extension, const char* name) {
    if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, extension) <= 0)
        return fail("this KVM lacks {}, which vessel-vmm needs", name);
    return {};
}

// An ISA interrupt line of the in-kernel PIC + IOAPIC.
class KvmIrqLine : public InterruptLine {
  public:
    KvmIrqLine(int vm_fd, unsigned irq) : vm_fd_(vm_fd), irq_(irq) {}
    void set_level(bool asserted) override {
        kvm_irq_level level{};
        level.irq = irq_;
        level.level = asserted ? 1 : 0;
        // Cannot fail for a valid VM fd and an ISA IRQ number; nothing to report to a device.
        (void)ioctl(vm_fd_, KVM_IRQ_LINE, &level);
    }

  private:
    int vm_fd_;
    unsigned irq_;
};

// Eight virtio-mmio windows at the start of the 32-bit MMIO hole, on the ISA interrupts the PC
// leaves free (COM1 is 4, the RTC 8, the ACPI SCI 9).
std::vector<VirtioSlot> virtio_slots() {
    constexpr unsigned kIrqs[] = {5, 6, 7, 10, 11, 12, 14, 15};
    std::vector<VirtioSlot> slots;
    for (unsigned i = 0; i < std::size(kIrqs); ++i)
        slots.push_back({.base = x86::kMmioHoleStart + i * 0x1000ull, .irq = kIrqs[i]});
    return slots;
}

std::span<const uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

Result<> check_kvm_usable(const char* device) {
    TRY(open_kvm(device));
    return {};
}

Result<int> run_x86_vm(const VmConfig& config, const Logger& log, Sandbox* sandbox) {
    const bool bare_real_mode = !config.bios.empty();
    if (bare_real_mode && (!config.disks.empty() || !config.nets.empty() || config.vsock ||
                           config.rng || config.console_device == ConsoleDevice::virtio))
        return fail("virtio devices need a Linux kernel (--kernel), not a real-mode --bios image");
    // The console first: it blocks the stop signals for every thread started after it.
    auto machine = TRY(Machine::create(config, log, sandbox));
    std::string kernel, initrd;
    if (bare_real_mode) {
        kernel = TRY(read_guest_file(config.bios, config.bios_label, config.memory_bytes));
    } else {
        kernel = TRY(read_guest_file(config.kernel, config.kernel_label, config.memory_bytes));
        if (!config.initrd.empty())
            initrd = TRY(read_guest_file(config.initrd, config.initrd_label, config.memory_bytes));
    }

    UniqueFd kvm = TRY(open_kvm(kKvmDevice));
    TRY(require_extension(kvm.get(), KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"));
    TRY(require_extension(kvm.get(), KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"));
    int run_size = ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < static_cast<int>(sizeof(kvm_run))) return fail_errno("KVM_GET_VCPU_MMAP_SIZE");
    std::vector<kvm_cpuid_entry2> cpuid = TRY(supported_cpuid(kvm.get()));
    int max_vcpus = ioctl(kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (max_vcpus <= 0) max_vcpus = ioctl(kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (max_vcpus > 0 && config.cpus > static_cast<unsigned>(max_vcpus))
        return fail("--cpus: this host's KVM allows at most {} vCPUs per VM", max_vcpus);

    UniqueFd vm(ioctl(kvm.get(), KVM_CREATE_VM, 0));
    if (!vm) return fail_errno("KVM_CREATE_VM");

    auto layout = x86::ram_layout_for(config.memory_bytes);
    GuestMemory memory = TRY_CTX(GuestMemory::create(layout), "guest memory");
    uint32_t slot = 0;
    for (const RamRegion& region : memory.regions()) {
        kvm_userspace_memory_region kvm_region{};
        kvm_region.slot = slot++;
        kvm_region.guest_phys_addr = region.guest_base;
        kvm_region.memory_size = region.size;
        kvm_region.userspace_addr = reinterpret_cast<uint64_t>(region.host);
        if (ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION, &kvm_region) != 0)
            return fail_errno(fmt::format("KVM_SET_USER_MEMORY_REGION {:#x}+{:#x}",
                                          region.guest_base, region.size));
    }
    // Intel VT-x needs these for real mode and unrestricted-guest emulation; they lie in the
    // MMIO hole, away from RAM.
    if (ioctl(vm.get(), KVM_SET_IDENTITY_MAP_ADDR, &x86::kIdentityMapAddress) != 0)
        return fail_errno("KVM_SET_IDENTITY_MAP_ADDR");
    if (ioctl(vm.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(x86::kTssAddress)) != 0)
        return fail_errno("KVM_SET_TSS_ADDR");
    if (!bare_real_mode) {
        TRY(require_extension(kvm.get(), KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"));
        TRY(require_extension(kvm.get(), KVM_CAP_PIT2, "KVM_CAP_PIT2"));
        if (ioctl(vm.get(), KVM_CREATE_IRQCHIP, 0) != 0) return fail_errno("KVM_CREATE_IRQCHIP");
        kvm_pit_config pit{};
        if (ioctl(vm.get(), KVM_CREATE_PIT2, &pit) != 0) return fail_errno("KVM_CREATE_PIT2");
    }

    KvmIrqLine com1_irq(vm.get(), x86::kCom1Irq);
    Machine& vm_machine = *machine;
    Uart16550 com1([&vm_machine](uint8_t byte) { vm_machine.console_write(byte); },
                   bare_real_mode ? nullptr : &com1_irq);
    x86::I8042 i8042(machine->stop_latch());
    x86::CmosRtc rtc;
    x86::AcpiPm pm(machine->stop_latch());
    Bus port_io, mmio;
    TRY(port_io.attach(x86::kCom1Port, Uart16550::kWindowSize, com1, "COM1"));
    TRY(port_io.attach(x86::kI8042Port, x86::I8042::kWindowSize, i8042, "i8042"));
    TRY(port_io.attach(x86::kCmosPort, x86::CmosRtc::kWindowSize, rtc, "CMOS RTC"));
    TRY(port_io.attach(x86::kAcpiPmPort, x86::AcpiPm::kWindowSize, pm, "ACPI PM"));

    std::vector<Vcpu> vcpus;
    for (unsigned index = 0; index < config.cpus; ++index) {
        Vcpu vcpu = TRY(Vcpu::create(vm.get(), index, static_cast<size_t>(run_size)));
        TRY_CTX(vcpu.configure(cpuid, config.cpus, !bare_real_mode), "vCPU {}", index);
        vcpus.push_back(std::move(vcpu));
    }
    KvmEngine engine(vm.get(), vcpus, port_io, mmio, machine->stop_latch());
    Machine::Teardown devices_first{*machine};
    auto slots = virtio_slots();
    auto attached = TRY(machine->attach_virtio_devices(memory, mmio, engine, slots));

    uint64_t entry = 0;
    if (bare_real_mode) {
        uint64_t room = x86::kEbdaStart - x86::kRealModeLoadAddress;
        if (kernel.size() > room)
            return fail("{} {}: {} bytes do not fit below the EBDA ({} bytes)", config.bios_label,
                        config.bios, kernel.size(), room);
        TRY(memory.write(x86::kRealModeLoadAddress, bytes_of(kernel)));
    } else {
        std::vector<x86::AcpiVirtioDevice> acpi_virtio;
        for (const auto& used : attached)
            acpi_virtio.push_back({.base = used.base, .irq = used.irq});
        uint64_t rsdp = TRY(x86::write_acpi_tables(memory, config.cpus, acpi_virtio));
        x86::LinuxBootInputs inputs{bytes_of(kernel), bytes_of(initrd), config.append, rsdp};
        x86::LoadedKernel loaded =
            TRY_CTX(x86::load_linux(memory, inputs), "{} {}", config.kernel_label, config.kernel);
        TRY(x86::write_long_mode_tables(memory));
        entry = loaded.entry;
        log.debug("kernel entry {:#x}, initrd {:#x}+{:#x}", loaded.entry, loaded.initrd_address,
                  loaded.initrd_size);
    }
    // The images are in guest RAM now; do not keep a second copy for the VM's lifetime.
    std::string().swap(kernel);
    std::string().swap(initrd);

    if (bare_real_mode)
        TRY(vcpus[0].enter_real_mode(static_cast<uint16_t>(x86::kRealModeLoadAddress >> 4)));
    else
        TRY(vcpus[0].enter_long_mode(entry, x86::kZeroPageAddress, x86::kBootStackTop));
    // The other vCPUs wait in the in-kernel LAPIC for the guest's INIT/SIPI.

    TRY(install_kick_handler());
    return machine->run(engine,
                        [&com1](std::span<const uint8_t> bytes) { return com1.receive(bytes); });
}

}  // namespace vessel::vm::kvm
