#include "vm/riscv_virt/virt_machine.h"

#include <cstring>
#include <thread>

#include "vm/devices/bus.h"
#include "vm/devices/host_console.h"
#include "vm/devices/uart16550.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/code_pages.h"
#include "vm/riscv/hart.h"
#include "vm/riscv_virt/bare_machine.h"
#include "vm/riscv_virt/clint.h"
#include "vm/riscv_virt/device_tree.h"
#include "vm/riscv_virt/linux_image.h"
#include "vm/riscv_virt/machine_exit.h"
#include "vm/riscv_virt/plic.h"
#include "vm/riscv_virt/sbi.h"
#include "vm/riscv_virt/test_finisher.h"
#include "vm/vmm/elf_loader.h"
#include "vm/vmm/guest_file.h"

namespace vessel::riscv_virt {

namespace {

constexpr uint64_t kUartBase = 0x10000000;
constexpr unsigned kUartIrq = 10;

Result<> write_guest(const vm::GuestMemory& memory, uint64_t address, std::string_view bytes,
                     const char* what) {
    auto span = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    return with_context(memory.write(address, span), fmt::format("placing the {}", what));
}

}  // namespace

Result<int> run_virt_machine(const vm::VmConfig& config, const Logger& log) {
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
    ImageHeader header{};
    uint64_t kernel_entry = 0;
    bool elf_kernel = std::string_view(kernel).starts_with("\177ELF");
    if (elf_kernel) {
        vm::LoadedElf loaded =
            TRY_CTX(vm::load_elf_image(kernel_bytes, vm::kElfMachineRiscv, memory), "{} {}",
                    config.kernel_label, config.kernel);
        header = {loaded.lowest - kRamBase, loaded.highest - loaded.lowest};
        kernel_entry = loaded.entry;
    } else {
        header =
            TRY_CTX(parse_image_header(kernel_bytes), "{} {}", config.kernel_label, config.kernel);
    }
    BootLayout layout = TRY(plan_boot_layout(kRamBase, config.memory_bytes, header,
                                             elf_kernel ? 0 : kernel.size(), initrd.size()));
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

    DeviceTreeInputs dt{config.cpus,   kRamBase,      config.memory_bytes,
                        config.append, layout.initrd, layout.initrd_end,
                        firmware};
    std::vector<uint8_t> dtb = TRY(build_device_tree(dt));
    TRY(with_context(memory.write(layout.dtb, dtb), "placing the device tree"));

    vm::Bus bus;
    riscv::Clock clock;
    riscv::CodePages code_pages = TRY(riscv::CodePages::create(memory));
    riscv::MachineContext context{memory, bus, clock, code_pages};
    std::vector<std::unique_ptr<riscv::Hart>> harts;
    std::vector<riscv::Hart*> hart_list;
    for (unsigned index = 0; index < config.cpus; ++index) {
        harts.push_back(std::make_unique<riscv::Hart>(context, index));
        hart_list.push_back(harts.back().get());
    }

    MachineExit exit;
    vm::HostConsole console = TRY(vm::HostConsole::open(
        config.console == vm::ConsoleKind::file ? config.console_path : std::string(),
        config.console == vm::ConsoleKind::stdio));
    Clint clint(clock, hart_list);
    Plic plic(hart_list);
    vm::Uart16550 uart([&console](uint8_t byte) { console.write(byte); }, &plic.line(kUartIrq));
    TestFinisher syscon(exit);
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
    Sbi sbi(memory, hart_list, exit,
            {.write = [&console](uint8_t byte) { console.write(byte); }, .read = sbi_console_read});
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

    TRY(console.start(
        {.input = [&uart](std::span<const uint8_t> bytes) { return uart.receive(bytes); },
         .quit =
             [&exit, &log](std::string why) {
                 log.info("stopped by {}", why);
                 exit.request(why == "Ctrl-A x" ? vm::exit_code::powered_off
                                                : vm::exit_code::host_stopped);
             }}));

    std::vector<std::jthread> threads;
    for (unsigned index = 0; index < config.cpus; ++index) {
        riscv::Hart& hart = *harts[index];
        if (firmware) {
            threads.emplace_back([&hart] { hart.run(); });
        } else {
            threads.emplace_back([&hart, &sbi, index] {
                while (sbi.wait_for_start(index)) {
                    hart.run();
                    sbi.hart_returned(index);
                }
            });
        }
    }

    std::optional<int> status;
    if (config.timeout)
        status = exit.wait_until(std::chrono::steady_clock::now() + *config.timeout);
    else
        status = exit.wait();
    if (!status) log.error("guest still running after the {} ms time-out", config.timeout->count());
    sbi.shut_down();
    threads.clear();  // joins
    return status.value_or(vm::exit_code::timed_out);
}

}  // namespace vessel::riscv_virt
