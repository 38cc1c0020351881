// The minimal ACPI a firmware-less x86 guest needs: a MADT announcing every vCPU's local APIC and
// the IOAPIC (how Linux finds the other CPUs), and a FADT whose PM1 control block lets Linux power
// off (the DSDT's \_S5 package gives the sleep type it writes there). No AML beyond that.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::vm::x86 {

// SLP_TYP value the DSDT's \_S5 announces; a PM1a_CNT write with SLP_EN and this type is power-off.
inline constexpr unsigned kSleepTypeS5 = 5;

// Builds the tables in a byte buffer laid out for `base`; returns the bytes (RSDP first).
std::vector<uint8_t> build_acpi_tables(uint64_t base, unsigned cpus);

// Writes them at kAcpiTablesAddress and returns the RSDP's address.
Result<uint64_t> write_acpi_tables(const GuestMemory& memory, unsigned cpus);

// Sum of the bytes modulo 256 (zero for a valid table).
uint8_t acpi_checksum(const uint8_t* data, size_t length);

}  // namespace vessel::vm::x86
