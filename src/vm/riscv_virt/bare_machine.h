// The machine `vessel-vmm --bios ELF` runs without a board: RAM at 0x80000000, the CLINT and the
// sifive,test finisher, one hart starting in M-mode at the ELF's entry with a0 = hartid, a1 = 0.
// The same layout as QEMU's virt for what it has, so the same test ELFs run on both.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "base/error.h"
#include "base/log.h"
#include "vm/boot/gdb_option.h"
#include "vm/debug/gdb_server.h"
#include "vm/debug/riscv_target.h"
#include "vm/devices/bus.h"
#include "vm/machine/stop_latch.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/code_pages.h"
#include "vm/riscv/hart.h"
#include "vm/riscv_virt/clint.h"
#include "vm/riscv_virt/test_finisher.h"

namespace vessel::riscv_virt {

inline constexpr uint64_t kRamBase = 0x80000000;

class BareMachine {
  public:
    // `label` names the file in errors (the flag or config key it came from).
    static Result<std::unique_ptr<BareMachine>> create(
        const std::string& elf_path, uint64_t memory_bytes, std::string_view label = "--bios",
        riscv::Engine engine = riscv::Engine::interpreter, bool perf_map = false);
    BareMachine(const BareMachine&) = delete;
    BareMachine& operator=(const BareMachine&) = delete;

    // Runs hart 0 on its own thread until the finisher reports (its status) or `timeout` passes
    // (exit_code::timed_out).
    int run(std::optional<std::chrono::milliseconds> timeout);
    // --gdb: a debugger stub for the hart, listening from now on; before run().
    Result<> attach_debugger(const vm::GdbOption& option, const Logger& log);

    riscv::Hart& hart() { return *hart_; }
    const vm::GuestMemory& memory() const { return memory_; }

  private:
    BareMachine(vm::GuestMemory memory, riscv::CodePages code_pages);

    vm::GuestMemory memory_;
    vm::Bus bus_;
    riscv::Clock clock_;
    riscv::CodePages code_pages_;
    vm::StopLatch exit_;
    std::unique_ptr<riscv::Hart> hart_;
    riscv::Hart* hart_list_[1] = {};
    std::unique_ptr<Clint> clint_;
    std::unique_ptr<TestFinisher> finisher_;
    // After the hart: the server stops, then the target lets go of the hart, before it goes.
    std::unique_ptr<debug::RiscvTarget> debug_target_;
    std::unique_ptr<debug::GdbServer> gdb_server_;
};

}  // namespace vessel::riscv_virt
