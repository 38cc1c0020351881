// Loading a bare-metal or firmware ELF into guest RAM. Every header field and segment is checked
// against the file and against guest RAM before anything is copied: a malformed or hostile ELF is
// an error naming the problem, never an out-of-bounds access.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm {

inline constexpr uint16_t kElfMachineRiscv = 243;

struct LoadedElf {
    uint64_t entry = 0;
    uint64_t lowest = 0;   // lowest loaded guest-physical address
    uint64_t highest = 0;  // one past the highest loaded byte
};

// Loads the PT_LOAD segments of a little-endian ELF64 executable for `machine` at their physical
// addresses (p_paddr), zero-filling p_memsz beyond p_filesz.
Result<LoadedElf> load_elf(const std::string& path, uint16_t machine, GuestMemory& memory);
Result<LoadedElf> load_elf_image(std::span<const uint8_t> image, uint16_t machine,
                                 GuestMemory& memory);

}  // namespace vessel::vm
