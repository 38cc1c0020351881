// The few legacy PC devices a firmware-less Linux guest touches besides the UART: the i8042's reset
// line (reboot), the CMOS real-time clock (wall-clock time at boot) and the ACPI PM1 block
// (power-off and the PM timer). Everything else (PIC, IOAPIC, PIT) is KVM's in-kernel emulation.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

#include "vm/devices/bus_device.h"
#include "vm/machine/stop_latch.h"

namespace vessel::vm::x86 {

// Ports 0x60-0x64. Writing 0xfe (pulse reset line) to the command port reboots: exit status 2. The
// status register always reads "buffers empty", so Linux's reset path never waits.
class I8042 : public BusDevice {
  public:
    static constexpr uint64_t kWindowSize = 5;
    explicit I8042(StopLatch& stop) : stop_(stop) {}
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    StopLatch& stop_;
};

// Ports 0x70 (index) / 0x71 (data): an MC146818 that reports the host's UTC time in BCD, 24-hour
// mode, never "update in progress". Writes to the clock are ignored.
class CmosRtc : public BusDevice {
  public:
    static constexpr uint64_t kWindowSize = 2;
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    std::mutex mutex_;
    uint8_t index_ = 0;
    uint8_t ram_[128] = {};
};

// The FADT's PM1a event block (status/enable, 0x600), PM1a control (0x604) and the 24-bit 3.58 MHz
// PM timer (0x608). A control write with SLP_EN and the \_S5 sleep type powers off: exit status 0.
class AcpiPm : public BusDevice {
  public:
    static constexpr uint64_t kWindowSize = 12;
    explicit AcpiPm(StopLatch& stop) : stop_(stop), start_(std::chrono::steady_clock::now()) {}
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    StopLatch& stop_;
    std::chrono::steady_clock::time_point start_;
    std::mutex mutex_;
    uint16_t enable_ = 0;
    uint16_t control_ = 1;  // SCI_EN: always in ACPI mode
};

}  // namespace vessel::vm::x86
