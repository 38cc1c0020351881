// A machine for hart tests: RAM at 0x80000000 (1 MiB unless asked), no devices, and what a hart
// needs of its board (memory, bus, clock, decoded-code tracking).
#pragma once

#include <cstdint>
#include <span>

#include "test_engine.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv {

struct TestMachine {
    static constexpr uint64_t kRamBase = 0x80000000;

    explicit TestMachine(uint64_t ram_bytes = 1 << 20)
        : memory(make_memory(ram_bytes)), code_pages(std::move(*CodePages::create(memory))) {
        memory.set_dma_listener(&code_pages);
    }

    // Copies a program (32-bit instruction words) to the start of RAM.
    bool load(std::span<const uint32_t> program) const {
        return memory
            .write(kRamBase, std::span(reinterpret_cast<const uint8_t*>(program.data()),
                                       program.size_bytes()))
            .has_value();
    }

    static vm::GuestMemory make_memory(uint64_t ram_bytes) {
        vm::RamLayout layout[] = {{kRamBase, ram_bytes}};
        return std::move(*vm::GuestMemory::create(layout));
    }

    vm::GuestMemory memory;
    vm::Bus bus;
    Clock clock;
    CodePages code_pages;
    MachineContext context{memory, bus, clock, code_pages, engine_under_test()};
};

}  // namespace vessel::riscv
