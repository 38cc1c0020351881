#include "vm/kvm/x86_acpi.h"

#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "vm/kvm/x86_layout.h"

namespace vessel::vm::x86 {

namespace {

constexpr size_t kHeaderSize = 36;

class TableWriter {
  public:
    explicit TableWriter(std::vector<uint8_t>& out) : out_(out) {}

    // Starts a table at the next 16-byte boundary; returns its offset in the buffer.
    size_t begin(std::string_view signature, uint8_t revision) {
        while (out_.size() % 16)
            out_.push_back(0);
        size_t start = out_.size();
        bytes(signature);
        u32(0);  // length, patched by end()
        u8(revision);
        u8(0);  // checksum, patched by end()
        bytes("VESSEL");
        bytes("VESSELVM");
        u32(1);
        bytes("VSSL");
        u32(1);
        return start;
    }

    void end(size_t start) {
        uint32_t length = static_cast<uint32_t>(out_.size() - start);
        std::memcpy(out_.data() + start + 4, &length, 4);
        out_[start + 9] = static_cast<uint8_t>(-acpi_checksum(out_.data() + start, length));
    }

    void bytes(std::string_view text) { out_.insert(out_.end(), text.begin(), text.end()); }
    void u8(uint8_t value) { out_.push_back(value); }
    void u16(uint16_t value) { raw(&value, 2); }
    void u32(uint32_t value) { raw(&value, 4); }
    void u64(uint64_t value) { raw(&value, 8); }
    void zeros(size_t count) { out_.insert(out_.end(), count, 0); }
    void patch_u32(size_t at, uint32_t value) { std::memcpy(out_.data() + at, &value, 4); }
    void patch_u64(size_t at, uint64_t value) { std::memcpy(out_.data() + at, &value, 8); }
    size_t size() const { return out_.size(); }

  private:
    void raw(const void* data, size_t length) {
        auto* p = static_cast<const uint8_t*>(data);
        out_.insert(out_.end(), p, p + length);
    }
    std::vector<uint8_t>& out_;
};

// Generic Address Structure for an I/O port block.
void io_gas(TableWriter& w, uint16_t port, uint8_t bit_width) {
    w.u8(port ? 1 : 0);  // system I/O space
    w.u8(port ? bit_width : 0);
    w.u8(0);
    w.u8(0);  // access size: as the register width says
    w.u64(port);
}

// AML's PkgLength: the length of what follows, counting its own bytes.
void package_length(std::vector<uint8_t>& out, size_t content) {
    if (content + 1 < 64) {
        out.push_back(static_cast<uint8_t>(content + 1));
        return;
    }
    size_t total = content + 2;  // two bytes cover up to 4095
    out.push_back(static_cast<uint8_t>(0x40 | (total & 0x0f)));
    out.push_back(static_cast<uint8_t>(total >> 4));
}

void append_u32(std::vector<uint8_t>& out, uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<uint8_t>(value >> shift));
}

// Name (NAME, ...) with a four-character name.
void aml_name(std::vector<uint8_t>& out, std::string_view name, std::span<const uint8_t> value) {
    out.push_back(0x08);  // NameOp
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), value.begin(), value.end());
}

// Device (VRnn) { Name (_HID, "LNRO0005") Name (_UID, n)
//   Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, base, 0x1000)
//     Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { irq } }) }
std::vector<uint8_t> virtio_device_aml(unsigned index, const AcpiVirtioDevice& device) {
    std::vector<uint8_t> resources = {0x86, 0x09, 0x00, 0x01};  // Memory32Fixed, read-write
    append_u32(resources, static_cast<uint32_t>(device.base));
    append_u32(resources, 0x1000);
    resources.insert(resources.end(), {0x89, 0x06, 0x00, 0x03, 0x01});  // one consumer edge irq
    append_u32(resources, device.irq);
    resources.insert(resources.end(), {0x79, 0x00});  // end tag
    std::vector<uint8_t> buffer = {0x11};             // BufferOp
    package_length(buffer, 2 + resources.size());
    buffer.insert(buffer.end(), {0x0a, static_cast<uint8_t>(resources.size())});
    buffer.insert(buffer.end(), resources.begin(), resources.end());

    const uint8_t hid[] = {0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00};
    const uint8_t uid[] = {0x0a, static_cast<uint8_t>(index)};
    std::vector<uint8_t> body;
    aml_name(body, "_HID", hid);
    aml_name(body, "_UID", uid);
    aml_name(body, "_CRS", buffer);
    std::vector<uint8_t> aml = {0x5b, 0x82};  // DeviceOp
    package_length(aml, 4 + body.size());
    std::string name = fmt::format("VR{:02}", index);
    aml.insert(aml.end(), name.begin(), name.end());
    aml.insert(aml.end(), body.begin(), body.end());
    return aml;
}

}  // namespace

uint8_t acpi_checksum(const uint8_t* data, size_t length) {
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = static_cast<uint8_t>(sum + data[i]);
    return sum;
}

std::vector<uint8_t> build_acpi_tables(uint64_t base, unsigned cpus,
                                       std::span<const AcpiVirtioDevice> virtio) {
    std::vector<uint8_t> out;
    TableWriter w(out);

    // RSDP (ACPI 2.0+, 36 bytes); the XSDT address is patched in at the end.
    w.bytes("RSD PTR ");
    w.u8(0);
    w.bytes("VESSEL");
    w.u8(2);
    w.u32(0);  // no RSDT: every ACPI 2.0 OS reads the XSDT
    w.u32(36);
    w.u64(0);
    w.u8(0);
    w.zeros(3);

    // FACS (64-byte aligned, no header checksum).
    while (out.size() % 64)
        out.push_back(0);
    size_t facs = out.size();
    w.bytes("FACS");
    w.u32(64);
    w.u32(0);  // hardware signature
    w.u32(0);  // waking vector
    w.u32(0);  // global lock
    w.u32(0);  // flags
    w.u64(0);
    w.u8(2);  // version
    w.zeros(64 - 33);

    // DSDT: Name (_S5, Package () { 5, 0, 0, 0 })
    size_t dsdt = w.begin("DSDT", 2);
    const uint8_t s5[] = {0x08, '_',  'S',          '5',  '_',  0x12, 0x07,
                          0x04, 0x0a, kSleepTypeS5, 0x00, 0x00, 0x00};
    for (uint8_t byte : s5)
        w.u8(byte);
    if (!virtio.empty()) {
        // Scope (\_SB) { the virtio devices }
        std::vector<uint8_t> devices;
        for (size_t i = 0; i < virtio.size(); ++i) {
            auto aml = virtio_device_aml(static_cast<unsigned>(i), virtio[i]);
            devices.insert(devices.end(), aml.begin(), aml.end());
        }
        std::vector<uint8_t> scope = {0x10};  // ScopeOp
        package_length(scope, 4 + devices.size());
        scope.insert(scope.end(), {'_', 'S', 'B', '_'});
        scope.insert(scope.end(), devices.begin(), devices.end());
        for (uint8_t byte : scope)
            w.u8(byte);
    }
    w.end(dsdt);

    // FADT, revision 6 layout (276 bytes).
    size_t fadt = w.begin("FACP", 6);
    w.u32(static_cast<uint32_t>(base + facs));  // FIRMWARE_CTRL
    w.u32(static_cast<uint32_t>(base + dsdt));  // DSDT
    w.u8(0);                                    // reserved
    w.u8(0);                                    // preferred PM profile: unspecified
    w.u16(kAcpiSciIrq);
    w.u32(0);  // SMI_CMD: none, the machine is always in ACPI mode
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u32(kAcpiPmPort);      // PM1a_EVT_BLK
    w.u32(0);                // PM1b_EVT_BLK
    w.u32(kAcpiPmPort + 4);  // PM1a_CNT_BLK
    w.u32(0);                // PM1b_CNT_BLK
    w.u32(0);                // PM2_CNT_BLK
    w.u32(kAcpiPmPort + 8);  // PM_TMR_BLK
    w.u32(0);                // GPE0_BLK
    w.u32(0);                // GPE1_BLK
    w.u8(4);                 // PM1_EVT_LEN
    w.u8(2);                 // PM1_CNT_LEN
    w.u8(0);                 // PM2_CNT_LEN
    w.u8(4);                 // PM_TMR_LEN
    w.u8(0);                 // GPE0_BLK_LEN
    w.u8(0);                 // GPE1_BLK_LEN
    w.u8(0);                 // GPE1_BASE
    w.u8(0);                 // CST_CNT
    w.u16(101);              // P_LVL2_LAT: C2 not supported
    w.u16(1001);             // P_LVL3_LAT: C3 not supported
    w.u16(0);
    w.u16(0);
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u8(0);        // century
    w.u16(1 << 2);  // IAPC_BOOT_ARCH: no VGA; no 8042 (so Linux does not probe a keyboard)
    w.u8(0);
    // Flags: WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (no fixed-feature buttons).
    w.u32((1u << 0) | (1u << 2) | (1u << 4) | (1u << 5));
    io_gas(w, 0, 0);  // RESET_REG: none (Linux falls back to the i8042 reset)
    w.u8(0);          // RESET_VALUE
    w.u16(0);         // ARM_BOOT_ARCH
    w.u8(0);          // FADT minor version
    w.u64(base + facs);
    w.u64(base + dsdt);
    io_gas(w, kAcpiPmPort, 32);
    io_gas(w, 0, 0);
    io_gas(w, kAcpiPmPort + 4, 16);
    io_gas(w, 0, 0);
    io_gas(w, 0, 0);
    io_gas(w, kAcpiPmPort + 8, 32);
    io_gas(w, 0, 0);
    io_gas(w, 0, 0);
    io_gas(w, 0, 0);      // sleep control (hardware-reduced only)
    io_gas(w, 0, 0);      // sleep status
    w.bytes("VESSELVM");  // hypervisor vendor identity
    w.end(fadt);

    // MADT: one local APIC per vCPU, the IOAPIC, and the SCI as level-triggered active-high.
    size_t madt = w.begin("APIC", 5);
    w.u32(static_cast<uint32_t>(kLocalApicAddress));
    w.u32(1);  // PCAT_COMPAT: 8259 PICs present
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
        w.u8(0);
        w.u8(8);
        w.u8(static_cast<uint8_t>(cpu));  // ACPI processor UID
        w.u8(static_cast<uint8_t>(cpu));  // APIC ID
        w.u32(1);                         // enabled
    }
    w.u8(1);
    w.u8(12);
    w.u8(static_cast<uint8_t>(cpus));  // IOAPIC ID after the CPUs'
    w.u8(0);
    w.u32(static_cast<uint32_t>(kIoApicAddress));
    w.u32(0);  // GSI base
    w.u8(2);
    w.u8(10);
    w.u8(0);  // ISA bus
    w.u8(static_cast<uint8_t>(kAcpiSciIrq));
    w.u32(kAcpiSciIrq);
    w.u16(0x000d);  // active high, level triggered
    w.end(madt);

    size_t xsdt = w.begin("XSDT", 1);
    w.u64(base + fadt);
    w.u64(base + madt);
    w.end(xsdt);

    w.patch_u64(24, base + xsdt);
    out[8] = static_cast<uint8_t>(-acpi_checksum(out.data(), 20));
    out[32] = static_cast<uint8_t>(-acpi_checksum(out.data(), 36));
    return out;
}

Result<uint64_t> write_acpi_tables(const GuestMemory& memory, unsigned cpus,
                                   std::span<const AcpiVirtioDevice> virtio) {
    std::vector<uint8_t> tables = build_acpi_tables(kAcpiTablesAddress, cpus, virtio);
    if (tables.size() > kAcpiTablesMax)
        return fail("ACPI tables too large ({} bytes)", tables.size());
    TRY_CTX(memory.write(kAcpiTablesAddress, tables), "writing ACPI tables");
    return kAcpiTablesAddress;
}

}  // namespace vessel::vm::x86
