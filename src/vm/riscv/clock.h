// The machine's timebase: `mtime` ticks at a fixed frequency from the host's monotonic clock. The
// CLINT reads it for its mtime register, every hart for the `time` CSR and its timer compares.
#pragma once

#include <chrono>
#include <cstdint>

namespace vessel::riscv {

class Clock {
  public:
    static constexpr uint64_t kFrequency = 10'000'000;  // 10 MHz, as on QEMU's virt

    Clock() : start_(std::chrono::steady_clock::now()) {}

    uint64_t mtime() const {
        auto elapsed = std::chrono::steady_clock::now() - start_;
        return static_cast<uint64_t>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
               (1'000'000'000 / kFrequency);
    }

    // The host time at which mtime reaches `ticks` (saturating far in the future).
    std::chrono::steady_clock::time_point when(uint64_t ticks) const {
        constexpr uint64_t kMaxTicks = uint64_t{1} << 50;  // ~3.5 years: far enough to mean never
        if (ticks > kMaxTicks) ticks = kMaxTicks;
        return start_ + std::chrono::nanoseconds(ticks * (1'000'000'000 / kFrequency));
    }

  private:
    std::chrono::steady_clock::time_point start_;
};

}  // namespace vessel::riscv
