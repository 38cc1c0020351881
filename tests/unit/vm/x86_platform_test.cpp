// ACPI tables, the legacy PC devices and vessel-vmm's engine choice: no /dev/kvm needed.
#include <gtest/gtest.h>

#include <cstring>
#include <string_view>

#include "vm/kvm/x86_acpi.h"
#include "vm/kvm/x86_devices.h"
#include "vm/kvm/x86_layout.h"
#include "vm/vmm/run_vm.h"

namespace vessel::vm {
namespace {

using namespace x86;

template <typename T>
T at(const std::vector<uint8_t>& bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

// Finds a table by signature through the RSDP and XSDT, as an OS does.
size_t find_table(const std::vector<uint8_t>& tables, std::string_view signature) {
    uint64_t xsdt = at<uint64_t>(tables, 24) - kAcpiTablesAddress;
    uint32_t length = at<uint32_t>(tables, xsdt + 4);
    for (size_t entry = xsdt + 36; entry < xsdt + length; entry += 8) {
        size_t table = at<uint64_t>(tables, entry) - kAcpiTablesAddress;
        if (std::string_view(reinterpret_cast<const char*>(tables.data() + table), 4) == signature)
            return table;
    }
    return 0;
}

TEST(Acpi, EveryChecksumIsValid) {
    auto tables = build_acpi_tables(kAcpiTablesAddress, 2);
    EXPECT_EQ(std::memcmp(tables.data(), "RSD PTR ", 8), 0);
    EXPECT_EQ(acpi_checksum(tables.data(), 20), 0);
    EXPECT_EQ(acpi_checksum(tables.data(), 36), 0);
    for (const char* signature : {"FACP", "APIC"}) {
        size_t table = find_table(tables, signature);
        ASSERT_NE(table, 0u) << signature;
        EXPECT_EQ(acpi_checksum(tables.data() + table, at<uint32_t>(tables, table + 4)), 0)
            << signature;
    }
    size_t fadt = find_table(tables, "FACP");
    size_t dsdt = at<uint32_t>(tables, fadt + 40) - kAcpiTablesAddress;
    EXPECT_EQ(std::memcmp(tables.data() + dsdt, "DSDT", 4), 0);
    EXPECT_EQ(acpi_checksum(tables.data() + dsdt, at<uint32_t>(tables, dsdt + 4)), 0);
}

TEST(Acpi, FadtPointsAtThePowerManagementPorts) {
    auto tables = build_acpi_tables(kAcpiTablesAddress, 1);
    size_t fadt = find_table(tables, "FACP");
    EXPECT_EQ(at<uint32_t>(tables, fadt + 4), 276u);
    EXPECT_EQ(at<uint32_t>(tables, fadt + 56), kAcpiPmPort);
    EXPECT_EQ(at<uint32_t>(tables, fadt + 64), kAcpiPmPort + 4u);
    EXPECT_EQ(at<uint16_t>(tables, fadt + 46), kAcpiSciIrq);
    size_t dsdt = at<uint32_t>(tables, fadt + 40) - kAcpiTablesAddress;
    std::string_view aml(reinterpret_cast<const char*>(tables.data() + dsdt + 36),
                         at<uint32_t>(tables, dsdt + 4) - 36);
    EXPECT_NE(aml.find("_S5_"), std::string_view::npos);
}

TEST(Acpi, MadtListsOneLocalApicPerCpuAndTheIoApic) {
    auto tables = build_acpi_tables(kAcpiTablesAddress, 3);
    size_t madt = find_table(tables, "APIC");
    uint32_t length = at<uint32_t>(tables, madt + 4);
    unsigned lapics = 0, ioapics = 0;
    for (size_t entry = madt + 44; entry < madt + length; entry += tables[entry + 1]) {
        ASSERT_GT(tables[entry + 1], 0);
        if (tables[entry] == 0) {
            EXPECT_EQ(tables[entry + 3], lapics);  // APIC IDs 0..n-1
            ++lapics;
        }
        if (tables[entry] == 1) {
            EXPECT_EQ(at<uint32_t>(tables, entry + 4), kIoApicAddress);
            ++ioapics;
        }
    }
    EXPECT_EQ(lapics, 3u);
    EXPECT_EQ(ioapics, 1u);
}

TEST(AcpiPm, SleepTypeS5WithSleepEnablePowersOff) {
    StopLatch stop;
    AcpiPm pm(stop);
    pm.write(4, 2, (kSleepTypeS5 << 10));  // no SLP_EN yet
    EXPECT_FALSE(stop.stopped());
    pm.write(4, 2, (kSleepTypeS5 << 10) | (1 << 13));
    ASSERT_TRUE(stop.stopped());
    EXPECT_EQ(stop.reason()->exit_code, exit_code::powered_off);
}

TEST(AcpiPm, ByteWiseControlWritesAlsoPowerOff) {
    StopLatch stop;
    AcpiPm pm(stop);
    uint16_t value = (kSleepTypeS5 << 10) | (1 << 13);
    pm.write(4, 1, value & 0xff);
    EXPECT_FALSE(stop.stopped());
    pm.write(5, 1, value >> 8);
    EXPECT_TRUE(stop.stopped());
}

TEST(AcpiPm, OtherSleepStatesDoNothingAndSciEnReadsSet) {
    StopLatch stop;
    AcpiPm pm(stop);
    pm.write(4, 2, (3 << 10) | (1 << 13));
    EXPECT_FALSE(stop.stopped());
    EXPECT_EQ(pm.read(4, 2) & 1, 1u);
}

TEST(AcpiPm, TimerAdvancesAndIs24Bits) {
    StopLatch stop;
    AcpiPm pm(stop);
    uint64_t first = pm.read(8, 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    uint64_t second = pm.read(8, 4);
    EXPECT_LE(second, 0xffffffu);
    EXPECT_NE(first, second);
}

TEST(I8042, ResetCommandReboots) {
    StopLatch stop;
    I8042 i8042(stop);
    EXPECT_EQ(i8042.read(4, 1) & 0x03, 0u);  // buffers empty: Linux never waits
    i8042.write(4, 1, 0xd1);
    i8042.write(0, 1, 0xfe);  // data port: not a command
    EXPECT_FALSE(stop.stopped());
    i8042.write(4, 1, 0xfe);
    ASSERT_TRUE(stop.stopped());
    EXPECT_EQ(stop.reason()->exit_code, exit_code::reboot);
}

TEST(CmosRtc, ReportsValidTimeWithoutUpdateInProgress) {
    CmosRtc rtc;
    rtc.write(0, 1, 0x0a);
    EXPECT_EQ(rtc.read(1, 1) & 0x80, 0u);
    rtc.write(0, 1, 0x0d);
    EXPECT_EQ(rtc.read(1, 1), 0x80u);
    rtc.write(0, 1, 0x8b);  // NMI-mask bit is not part of the index
    EXPECT_EQ(rtc.read(1, 1), 0x02u);
    rtc.write(0, 1, 0x00);
    uint64_t seconds = rtc.read(1, 1);
    EXPECT_LT(seconds & 0x0f, 10u);
    EXPECT_LT(seconds >> 4, 6u);
    rtc.write(0, 1, 0x20);
    rtc.write(1, 1, 0x42);
    EXPECT_EQ(rtc.read(1, 1), 0x42u);  // CMOS RAM keeps what the guest stores
}

TEST(EngineChoice, FollowsArchitectureAndAccel) {
    VmConfig config;
    Result<> usable;
    Result<> absent = fail("cannot open /dev/kvm");
    EXPECT_EQ(choose_engine(config, GuestArch::x86_64, usable).value(), Engine::kvm);
    EXPECT_EQ(choose_engine(config, GuestArch::riscv64, absent).value(), Engine::emulator);
    auto no_kvm = choose_engine(config, GuestArch::x86_64, absent);
    ASSERT_FALSE(no_kvm);
    EXPECT_NE(no_kvm.error().message().find("/dev/kvm"), std::string::npos);
    config.accel = Accel::emulate;
    EXPECT_FALSE(choose_engine(config, GuestArch::x86_64, usable));
    config.accel = Accel::kvm;
    auto riscv_on_kvm = choose_engine(config, GuestArch::riscv64, usable);
    ASSERT_FALSE(riscv_on_kvm);
    EXPECT_NE(riscv_on_kvm.error().message().find("RISC-V"), std::string::npos);
}

}  // namespace
}  // namespace vessel::vm
