#include "vm/riscv_virt/bare_machine.h"

#include <thread>

#include "vm/boot/elf_loader.h"
#include "vm/boot/guest_file.h"
#include "vm/boot/vm_config.h"

namespace vessel::riscv_virt {

BareMachine::BareMachine(vm::GuestMemory memory, riscv::CodePages code_pages)
    : memory_(std::move(memory)), code_pages_(std::move(code_pages)) {}

Result<std::unique_ptr<BareMachine>> BareMachine::create(const std::string& elf_path,
                                                         uint64_t memory_bytes,
                                                         std::string_view label,
                                                         riscv::Engine engine, bool perf_map) {
    std::string image = TRY(vm::read_guest_file(elf_path, label, memory_bytes));
    vm::RamLayout layout[] = {{kRamBase, memory_bytes}};
    auto memory = TRY(vm::GuestMemory::create(layout));
    auto code_pages = TRY(riscv::CodePages::create(memory));
    std::unique_ptr<BareMachine> machine(new BareMachine(std::move(memory), std::move(code_pages)));
    auto bytes = std::span(reinterpret_cast<const uint8_t*>(image.data()), image.size());
    auto elf = TRY_CTX(vm::load_elf_image(bytes, vm::kElfMachineRiscv, machine->memory_), "{} {}",
                       label, elf_path);

    machine->memory_.set_dma_listener(&machine->code_pages_);
    riscv::MachineContext context{machine->memory_, machine->bus_, machine->clock_,
                                  machine->code_pages_, engine};
    context.perf_map = perf_map;
    machine->hart_ = std::make_unique<riscv::Hart>(context, 0);
    machine->hart_list_[0] = machine->hart_.get();
    machine->clint_ = std::make_unique<Clint>(machine->clock_, machine->hart_list_);
    machine->finisher_ = std::make_unique<TestFinisher>(machine->exit_);
    TRY(machine->bus_.attach(Clint::kBase, Clint::kSize, *machine->clint_, "clint"));
    TRY(machine->bus_.attach(TestFinisher::kBase, TestFinisher::kSize, *machine->finisher_,
                             "sifive,test"));

    machine->hart_->reset(elf.entry, riscv::Priv::machine);
    machine->hart_->set_reg(10, 0);  // a0 = hartid
    machine->hart_->set_reg(11, 0);  // a1 = no device tree
    return machine;
}

int BareMachine::run(std::optional<std::chrono::milliseconds> timeout) {
    std::jthread runner([this] { hart_->run(); });
    std::optional<int> status = exit_.exit_code_by(
        timeout ? std::optional(std::chrono::steady_clock::now() + *timeout) : std::nullopt);
    // The latch holds the status a waiting debugger is told.
    if (!status) exit_.request(vm::exit_code::timed_out, "time-out");
    hart_->request_stop();
    if (debug_target_) debug_target_->shut_down();  // a hart stopped for the debugger goes on
    runner.join();
    return status.value_or(vm::exit_code::timed_out);
}

Result<> BareMachine::attach_debugger(const vm::GdbOption& option, const Logger& log) {
    debug_target_ = TRY(debug::RiscvTarget::create(hart_list_, exit_));
    if (option.wait) debug_target_->hold_at_start();
    gdb_server_ = TRY(debug::GdbServer::start(option, *debug_target_, log));
    return {};
}

}  // namespace vessel::riscv_virt
