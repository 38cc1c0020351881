// ACPI tables, the legacy PC devices and vessel-vmm's engine choice: no /dev/kvm needed.
#include <gtest/gtest.h>

#include <cstring>
#include <string_view>

#include "base/file.h"
#include "vm/kvm/x86_acpi.h"
#include "vm/kvm/x86_cpuid.h"
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
    EXPECT_EQ(choose_engine(config, GuestArch::x86_64, usable).value(), EngineKind::kvm);
    EXPECT_EQ(choose_engine(config, GuestArch::riscv64, absent).value(), EngineKind::emulator);
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

TEST(Cpuid, EachVcpuGetsItsApicIdAndASingleThreadedCoreTopology) {
    std::vector<kvm_cpuid_entry2> supported(4);
    supported[0].function = 1;
    supported[0].ebx = 0x12345678;  // host APIC ID 0x12, 0x34 logical processors
    supported[0].edx = 1u << 28;
    supported[1].function = 0xb;
    supported[1].index = 0;
    supported[1].eax = 1;  // host: 2 threads per core
    supported[1].ebx = 2;
    supported[2].function = 0xb;
    supported[2].index = 1;
    supported[3].function = 0x80000001;
    supported[3].ecx = 0xabcd;
    auto entries = x86::cpuid_for_vcpu(supported, 2, 3);
    EXPECT_EQ(entries[0].ebx, 0x02035678u);
    EXPECT_TRUE(entries[0].ecx & (1u << 31));
    EXPECT_TRUE(entries[0].edx & (1u << 28));
    EXPECT_EQ(entries[1].eax, 0u);  // no SMT
    EXPECT_EQ(entries[1].ebx, 1u);
    EXPECT_EQ(entries[1].edx, 2u);
    EXPECT_EQ(entries[2].eax, 2u);  // 3 cores need 2 bits of APIC ID
    EXPECT_EQ(entries[2].ebx, 3u);
    EXPECT_EQ(entries[2].ecx, (2u << 8) | 1);
    EXPECT_EQ(entries[3].ecx, 0xabcdu);  // everything else as KVM offers it
    auto single = x86::cpuid_for_vcpu(supported, 0, 1);
    EXPECT_FALSE(single[0].edx & (1u << 28));
}

TEST(GuestArch, ComesFromTheKernelOrFromBiosAndAccel) {
    std::string dir = ::testing::TempDir();
    std::string bz = dir + "/arch-bzimage", flat = dir + "/arch-flat", rv = dir + "/arch-riscv";
    std::vector<uint8_t> header(4096, 0);
    std::memcpy(header.data() + 0x202, "HdrS", 4);
    ASSERT_TRUE(write_file_atomic(bz, std::string(header.begin(), header.end())));
    ASSERT_TRUE(write_file_atomic(flat, std::string(512, '\xf4')));
    std::vector<uint8_t> image(0x40, 0);
    std::memcpy(image.data() + 0x38, "RSC\x05", 4);
    ASSERT_TRUE(write_file_atomic(rv, std::string(image.begin(), image.end())));

    VmConfig config;
    config.kernel = bz;
    EXPECT_EQ(detect_guest_arch(config).value(), GuestArch::x86_64);
    config.kernel = rv;
    EXPECT_EQ(detect_guest_arch(config).value(), GuestArch::riscv64);
    config.kernel = flat;
    EXPECT_FALSE(detect_guest_arch(config));
    config.kernel.clear();
    config.bios = flat;
    EXPECT_EQ(detect_guest_arch(config).value(), GuestArch::riscv64);  // firmware by default
    config.accel = Accel::kvm;
    EXPECT_EQ(detect_guest_arch(config).value(), GuestArch::x86_64);  // real-mode image
    config.bios = dir + "/arch-missing";
    EXPECT_FALSE(detect_guest_arch(config));
}

}  // namespace
}  // namespace vessel::vm
