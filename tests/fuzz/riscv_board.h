// The parts of a RISC-V board that its interrupt controllers and SBI work on: guest RAM, a bus,
// the clock and 1 to 4 harts (on the interpreter: nothing here runs guest code).
#pragma once

#include <cstdlib>
#include <memory>
#include <vector>

#include "vm/devices/bus.h"
#include "vm/memory/guest_memory.h"
#include "vm/riscv/clock.h"
#include "vm/riscv/code_pages.h"
#include "vm/riscv/hart.h"

namespace vessel::fuzz {

inline constexpr uint64_t kBoardRam = 0x8000'0000;
inline constexpr uint64_t kBoardRamSize = 64 * 1024;

class RiscvBoard {
  public:
    explicit RiscvBoard(unsigned hart_count)
        : memory_(make_memory()), code_pages_(make_code_pages(memory_)) {
        for (unsigned i = 0; i < hart_count; ++i) {
            harts_.push_back(std::make_unique<riscv::Hart>(context_, i));
            list_.push_back(harts_.back().get());
        }
    }
    const vm::GuestMemory& memory() const { return memory_; }
    const riscv::Clock& clock() const { return clock_; }
    std::span<riscv::Hart* const> harts() const { return list_; }
    riscv::Hart& hart(size_t index) { return *list_[index % list_.size()]; }

  private:
    static vm::GuestMemory make_memory() {
        vm::RamLayout layout{kBoardRam, kBoardRamSize};
        auto memory = vm::GuestMemory::create(std::span(&layout, 1));
        if (!memory) std::abort();
        return std::move(*memory);
    }
    static riscv::CodePages make_code_pages(const vm::GuestMemory& memory) {
        auto pages = riscv::CodePages::create(memory);
        if (!pages) std::abort();
        return std::move(*pages);
    }

    vm::GuestMemory memory_;
    vm::Bus bus_;
    riscv::Clock clock_;
    riscv::CodePages code_pages_;
    riscv::MachineContext context_{memory_, bus_, clock_, code_pages_, riscv::Engine::interpreter};
    std::vector<std::unique_ptr<riscv::Hart>> harts_;
    std::vector<riscv::Hart*> list_;
};

}  // namespace vessel::fuzz
