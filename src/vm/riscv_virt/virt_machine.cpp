#include "vm/riscv_virt/virt_machine.h"

#include <cstring>
#include <thread>

#include "vm/boot/elf_loader.h"
#include "vm/boot/guest_file.h"
#include "vm/boot/riscv_image.h"
#include "vm/debug/gdb_server.h"
#include "vm/debug/riscv_target.h"
#include "vm/devices/bus.h"
#include "vm/devices/uart16550.h"
#include "vm/machine/machine.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/code_pages.h"
#include "vm/riscv/hart.h"
#include "vm/riscv/jit/translator.h"
#include "vm/riscv_virt/bare_machine.h"
#include "vm/riscv_virt/clint.h"
#include "vm/riscv_virt/device_tree.h"
#include "vm/riscv_virt/hart_engine.h"
#include "vm/riscv_virt/plic.h"
#include "vm/riscv_virt/sbi.h"
#include "vm/riscv_virt/test_finisher.h"

namespace vessel::riscv_virt {

namespace {

constexpr uint64_t kUartBase = 0x10000000;
constexpr unsigned kUartIrq = 10;

// The emulator as the machine's engine: one host thread per hart. With the SBI in the VMM a hart
// runs once the guest starts it (HSM); firmware in M-mode starts them all at once itself.
class EmulatorEngine final : public vm::Engine {
  public:
    EmulatorEngine(std::span<riscv::Hart* const> harts, Plic& plic, Sbi& sbi, bool firmware,
                   debug::RiscvTarget* debugger)
        : harts_(harts), plic_(plic), sbi_(sbi), firmware_(firmware), debugger_(debugger) {}

    unsigned vcpu_count() const override { return static_cast<unsigned>(harts_.size()); }
    void run_vcpu(unsigned index) override {
        if (firmware_) return harts_[index]->run();
        while (sbi_.wait_for_start(index)) {
            harts_[index]->run();
            sbi_.hart_returned(index);
        }
    }
    void stop_vcpus() override {
        sbi_.shut_down();
        // After the stop requests: harts stopped for the debugger wake to them and return.
        if (debugger_) debugger_->shut_down();
    }
    vm::InterruptLine& interrupt_line(unsigned number) override { return plic_.line(number); }

  private:
    std::span<riscv::Hart* const> harts_;
    Plic& plic_;
    Sbi& sbi_;
    bool firmware_;
    debug::RiscvTarget* debugger_;
};

// QEMU virt's virtio-mmio window: eight slots from 0x10001000, PLIC sources 1 to 8.
std::vector<vm::VirtioSlot> virtio_slots() {
    std::vector<vm::VirtioSlot> slots;
    for (unsigned i = 0; i < vm::kMaxVirtioDevices; ++i)
        slots.push_back({.base = 0x10001000 + i * kVirtioWindow, .irq = 1 + i});
    return slots;
}

Result<> write_guest(const vm::GuestMemory& memory, uint64_t address, std::string_view bytes,
                     const char* what) {
    auto span = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return with_context(memory.write(address, span), fmt::format("placing the {}", what));
}

}  // namespace

Result<int> run_virt_machine(const vm::VmConfig& config, const Logger& log,
                             vm::Sandbox* sandbox) {
    // The console first: it blocks the stop signals for every thread started after it.
    auto machine = TRY(vm::Machine::create(config, log, sandbox));
    std::string kernel =
        TRY(vm::read_guest_file(config.kernel, config.kernel_label, config.memory_bytes));
    auto kernel_bytes = std::span(reinterpret_cast<const uint8_t*>(kernel.data()), kernel.size());
    std::string initrd;
    if (!config.initrd.empty())
        initrd = TRY(vm::read_guest_file(config.initrd, config.initrd_label, config.memory_bytes));

    vm::RamLayout ram[] = {{kRamBase, config.memory_bytes}};
    vm::GuestMemory memory = TRY(vm::GuestMemory::create(ram));
    // A Linux Image goes where its header says; an ELF (U-Boot's S-mode uboot.elf, a bare
    // supervisor payload) where its segments say, entered at its entry point.
    vm::RiscvImageHeader header{};
    uint64_t kernel_entry = 0;
    bool elf_kernel = std::string_view(kernel).starts_with("\177ELF");
    if (elf_kernel) {
        vm::LoadedElf loaded =
            TRY_CTX(vm::load_elf_image(kernel_bytes, vm::kElfMachineRiscv, memory), "{} {}",
                    config.kernel_label, config.kernel);
        header = {loaded.lowest - kRamBase, loaded.highest - loaded.lowest};
        kernel_entry = loaded.entry;
    } else {
        header = TRY_CTX(vm::parse_riscv_image_header(kernel_bytes), "{} {}", config.kernel_label,
                         config.kernel);
    }
    vm::RiscvBootLayout layout = TRY(vm::plan_riscv_boot_layout(
        kRamBase, config.memory_bytes, header, elf_kernel ? 0 : kernel.size(), initrd.size()));
    log.debug("kernel {:#x}-{:#x}, initrd {:#x}-{:#x}, dtb {:#x}", layout.kernel, layout.kernel_end,
              layout.initrd, layout.initrd_end, layout.dtb);
    if (!elf_kernel) {
        TRY(write_guest(memory, layout.kernel, kernel, "kernel"));
        kernel_entry = layout.kernel;
    }
    if (!initrd.empty()) TRY(write_guest(memory, layout.initrd, initrd, "initrd"));
    // The file buffers are not needed once the guest holds the images; release them now (assigning
    // {} would keep their capacity: 5 MB of resident heap for the VM's whole life).
    std::string().swap(kernel);
    std::string().swap(initrd);

    bool firmware = !config.bios.empty();
    uint64_t firmware_entry = 0;
    if (firmware) {
        std::string bios =
            TRY(vm::read_guest_file(config.bios, config.bios_label, config.memory_bytes));
        if (std::string_view(bios).starts_with("\177ELF")) {
            auto bios_bytes = std::span(reinterpret_cast<const uint8_t*>(bios.data()), bios.size());
            firmware_entry = TRY_CTX(vm::load_elf_image(bios_bytes, vm::kElfMachineRiscv, memory),
                                     "{} {}", config.bios_label, config.bios)
                                 .entry;
        } else {
            if (kRamBase + bios.size() > layout.kernel)
                return fail("{} {}: {} bytes do not fit below the kernel at {:#x}",
                            config.bios_label, config.bios, bios.size(), layout.kernel);
            TRY(write_guest(memory, kRamBase, bios, "firmware"));
            firmware_entry = kRamBase;
        }
    }

    vm::Bus bus;
    riscv::Clock clock;
    riscv::CodePages code_pages = TRY(riscv::CodePages::create(memory));
    memory.set_dma_listener(&code_pages);
    riscv::MachineContext context{memory, bus, clock, code_pages, hart_engine(config.engine)};
    context.perf_map = config.perf_map;
    std::vector<std::unique_ptr<riscv::Hart>> harts;
    std::vector<riscv::Hart*> hart_list;
    for (unsigned index = 0; index < config.cpus; ++index) {
        harts.push_back(std::make_unique<riscv::Hart>(context, index));
        hart_list.push_back(harts.back().get());
    }

    vm::Machine& vm_machine = *machine;
    Clint clint(clock, hart_list);
    Plic plic(hart_list);
    vm::Uart16550 uart([&vm_machine](uint8_t byte) { vm_machine.console_write(byte); },
                       &plic.line(kUartIrq));
    TestFinisher syscon(machine->stop_latch());
    TRY(bus.attach(Clint::kBase, Clint::kSize, clint, "clint"));
    TRY(bus.attach(Plic::kBase, Plic::kSize, plic, "plic"));
    TRY(bus.attach(kUartBase, 0x100, uart, "uart"));
    TRY(bus.attach(TestFinisher::kBase, TestFinisher::kSize, syscon, "sifive,test"));

    // The SBI console reads the UART, as OpenSBI's does: host input waits in the UART's FIFO and
    // goes to whichever the guest reads, its 8250 driver or the SBI (hvc0, earlycon).
    auto sbi_console_read = [&uart]() -> int {
        constexpr uint64_t kRbr = 0, kLsr = 5, kLsrDataReady = 1;
        return (uart.read(kLsr, 1) & kLsrDataReady) ? static_cast<int>(uart.read(kRbr, 1)) : -1;
    };
    Sbi sbi(memory, hart_list, machine->stop_latch(),
            {.write = [&vm_machine](uint8_t byte) { vm_machine.console_write(byte); },
             .read = sbi_console_read});
    // --gdb: the stub listens before the guest starts, so that a port in use fails the start.
    std::unique_ptr<debug::RiscvTarget> debug_target;
    std::unique_ptr<debug::GdbServer> gdb_server;
    if (config.gdb) {
        debug_target = TRY(debug::RiscvTarget::create(hart_list, machine->stop_latch()));
        if (config.gdb->wait) debug_target->hold_at_start();
        gdb_server = TRY(debug::GdbServer::start(*config.gdb, *debug_target, log));
    }
    EmulatorEngine engine(hart_list, plic, sbi, firmware, debug_target.get());
    auto slots = virtio_slots();
    vm::Machine::Teardown devices_first{*machine};
    auto attached = TRY(machine->attach_virtio_devices(memory, bus, engine, slots));

    DeviceTreeInputs dt{
        config.cpus, kRamBase, config.memory_bytes, config.append, layout.initrd, layout.initrd_end,
        firmware,    {}};
    for (const auto& slot : attached)
        dt.virtio.push_back({.base = slot.base, .irq = slot.irq});
    std::vector<uint8_t> dtb = TRY(build_device_tree(dt));
    TRY(with_context(memory.write(layout.dtb, dtb), "placing the device tree"));

    if (firmware) {
        // Firmware in M-mode: every hart enters it at once (OpenSBI picks the boot hart).
        for (auto& hart : harts) {
            hart->reset(firmware_entry, riscv::Priv::machine);
            hart->set_reg(10, hart->hart_id());
            hart->set_reg(11, layout.dtb);
        }
    } else {
        for (auto& hart : harts)
            hart->set_ecall_handler(&sbi);
        Sbi::enter_supervisor(*harts[0], kernel_entry, layout.dtb);
    }
    auto status = machine->run(
        engine, [&uart](std::span<const uint8_t> bytes) { return uart.receive(bytes); });
    for (const auto& hart : harts)
        if (const riscv::jit::Translator* translator = hart->translator())
            log.debug("hart {} translator: {}", hart->hart_id(),
                      riscv::jit::describe(translator->stats()));
    return status;
}

}  // namespace vessel::riscv_virt
