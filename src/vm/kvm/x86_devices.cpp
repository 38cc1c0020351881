#include "vm/kvm/x86_devices.h"

#include <ctime>

#include "vm/boot/vm_config.h"
#include "vm/kvm/x86_acpi.h"

namespace vessel::vm::x86 {

uint64_t I8042::read(uint64_t offset, unsigned size) {
    (void)size;
    (void)offset;
    return 0;  // data: nothing; status: output and input buffers empty
}

void I8042::write(uint64_t offset, unsigned size, uint64_t value) {
    constexpr uint64_t kCommandPort = 4;
    constexpr uint8_t kPulseResetLine = 0xfe;
    if (offset == kCommandPort && size == 1 && (value & 0xff) == kPulseResetLine)
        stop_.request(exit_code::reboot, "guest reset the machine through the i8042");
}

namespace {
uint8_t to_bcd(int value) {
    return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}
}  // namespace

uint64_t CmosRtc::read(uint64_t offset, unsigned size) {
    if (size != 1) return 0xff;
    std::lock_guard lock(mutex_);
    if (offset == 0) return index_;
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    switch (index_) {
        case 0x00:
            return to_bcd(utc.tm_sec);
        case 0x02:
            return to_bcd(utc.tm_min);
        case 0x04:
            return to_bcd(utc.tm_hour);
        case 0x06:
            return to_bcd(utc.tm_wday + 1);
        case 0x07:
            return to_bcd(utc.tm_mday);
        case 0x08:
            return to_bcd(utc.tm_mon + 1);
        case 0x09:
            return to_bcd(utc.tm_year % 100);
        case 0x32:
            return to_bcd(19 + utc.tm_year / 100);  // century
        case 0x0a:
            return 0x26;  // 32.768 kHz base, 1024 Hz rate, no update in progress
        case 0x0b:
            return 0x02;  // 24-hour, BCD, no interrupts
        case 0x0c:
            return 0x00;
        case 0x0d:
            return 0x80;  // valid RAM and time
        default:
            return ram_[index_];
    }
}

void CmosRtc::write(uint64_t offset, unsigned size, uint64_t value) {
    if (size != 1) return;
    std::lock_guard lock(mutex_);
    if (offset == 0) {
        index_ = value & 0x7f;  // bit 7 is the NMI mask
        return;
    }
    if (index_ >= 0x0e)
        ram_[index_] = static_cast<uint8_t>(value);  // clock registers stay host time
}

uint64_t AcpiPm::read(uint64_t offset, unsigned size) {
    std::lock_guard lock(mutex_);
    if (offset >= 8) {
        constexpr uint64_t kTimerHz = 3579545;
        auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - start_)
                           .count();
        uint64_t ticks = static_cast<uint64_t>(elapsed) / 1000 * kTimerHz / 1000000;
        return (ticks & 0xffffff) >> ((offset - 8) * 8);
    }
    uint64_t block = 0;  // status (always clear) | enable << 16 | control << 32
    block |= uint64_t{enable_} << 16;
    block |= uint64_t{control_} << 32;
    uint64_t value = block >> (offset * 8);
    return size >= 8 ? value : value & ((1ull << (size * 8)) - 1);
}

void AcpiPm::write(uint64_t offset, unsigned size, uint64_t value) {
    std::lock_guard lock(mutex_);
    if (offset == 2 && size >= 1) {
        enable_ = static_cast<uint16_t>(size == 1 ? (enable_ & 0xff00) | (value & 0xff) : value);
        return;
    }
    if (offset == 4 || offset == 5) {
        // ACPICA may write the control register whole or byte by byte.
        uint16_t control = control_;
        if (offset == 4 && size >= 2)
            control = static_cast<uint16_t>(value);
        else if (offset == 4)
            control = static_cast<uint16_t>((control & 0xff00) | (value & 0xff));
        else
            control = static_cast<uint16_t>((control & 0x00ff) | ((value & 0xff) << 8));
        constexpr uint16_t kSleepEnable = 1 << 13;
        unsigned sleep_type = (control >> 10) & 7;
        control_ = static_cast<uint16_t>((control & ~kSleepEnable) | 1);
        if ((control & kSleepEnable) && sleep_type == kSleepTypeS5)
            stop_.request(exit_code::powered_off);
        return;
    }
    // Status writes (offset 0) clear bits that are never set.
}

}  // namespace vessel::vm::x86
