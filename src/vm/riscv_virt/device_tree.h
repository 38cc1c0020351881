// The flattened device tree vessel-vmm hands the guest in a1, generated with libfdt: what Linux
// needs to bind its drivers on the board (QEMU virt's layout for the devices Vessel has).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace vessel::riscv_virt {

struct DeviceTreeInputs {
    unsigned harts = 1;
    uint64_t ram_base = 0;
    uint64_t ram_size = 0;
    std::string bootargs;
    uint64_t initrd_start = 0;  // both 0: no initrd
    uint64_t initrd_end = 0;
    // The M-mode entries (CLINT, PLIC M contexts) matter when firmware runs in M-mode (--bios).
    bool machine_mode_firmware = false;
    // One "virtio,mmio" node each: the window's base and its PLIC source.
    struct VirtioNode {
        uint64_t base;
        unsigned irq;
    };
    std::vector<VirtioNode> virtio;
};

// Each virtio-mmio node's window, as on QEMU's virt board.
inline constexpr uint64_t kVirtioWindow = 0x1000;

// The ISA string advertised in every cpu node (and what the hart implements).
inline constexpr const char* kRiscvIsa = "rv64imafdc_zicsr_zifencei_zicntr_sstc";

// /chosen carries a fresh 64-byte rng-seed from the host's getrandom() on every call: the guest
// kernel's RNG can be seeded at boot instead of waiting for entropy an emulated machine is slow to
// gather. The same tree goes to the kernel directly or through --bios firmware (OpenSBI passes it
// on).
Result<std::vector<uint8_t>> build_device_tree(const DeviceTreeInputs& inputs);

}  // namespace vessel::riscv_virt
