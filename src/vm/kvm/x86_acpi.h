// The minimal ACPI a firmware-less x86 guest needs: a MADT announcing every vCPU's local APIC and
// the IOAPIC (how Linux finds the other CPUs), a FADT whose PM1 control block lets Linux power off
// (the DSDT's \_S5 package gives the sleep type it writes there), and in the DSDT one device per
// virtio-mmio window (_HID "LNRO0005", which Linux's virtio_mmio driver binds): the way to tell a
// stock kernel about them, which Debian's builds without virtio_mmio's command-line devices.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::x86 {

// SLP_TYP value the DSDT's \_S5 announces; a PM1a_CNT write with SLP_EN and this type is power-off.
inline constexpr unsigned kSleepTypeS5 = 5;

struct AcpiVirtioDevice {
    uint64_t base;  // a 4 KiB window
    unsigned irq;   // an ISA interrupt, edge-triggered, active high
};

// Builds the tables in a byte buffer laid out for `base`; returns the bytes (RSDP first).
std::vector<uint8_t> build_acpi_tables(uint64_t base, unsigned cpus,
                                       std::span<const AcpiVirtioDevice> virtio = {});

// Writes them at kAcpiTablesAddress and returns the RSDP's address.
Result<uint64_t> write_acpi_tables(const GuestMemory& memory, unsigned cpus,
                                   std::span<const AcpiVirtioDevice> virtio = {});

// Sum of the bytes modulo 256 (zero for a valid table).
uint8_t acpi_checksum(const uint8_t* data, size_t length);

}  // namespace vessel::vm::x86
