// The PLIC at 0xc000000 as on QEMU's virt (SiFive layout): source priorities, pending bits,
// per-context enables, threshold and claim/complete, two contexts per hart (M = 2h, S = 2h + 1).
// Sources are level-triggered; a context's output drives the hart's MEIP or SEIP line.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "vm/devices/bus_device.h"
#include "vm/riscv/hart.h"

namespace vessel::riscv_virt {

class Plic : public vm::BusDevice {
  public:
    static constexpr uint64_t kBase = 0xc000000;
    static constexpr uint64_t kSize = 0x600000;
    static constexpr unsigned kSources = 96;  // source 0 is "no interrupt"; riscv,ndev = 95

    explicit Plic(std::span<riscv::Hart* const> harts);

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

    // Device side: the level of source `source` (1..kSources-1). Out-of-range sources are ignored.
    void set_source_level(unsigned source, bool asserted);

    // An InterruptLine a device (the UART) drives.
    vm::InterruptLine& line(unsigned source);

  private:
    static constexpr unsigned kWords = kSources / 32;
    struct Context {
        std::array<uint32_t, kWords> enable{};
        uint32_t threshold = 0;
        bool output = false;
    };
    class SourceLine : public vm::InterruptLine {
      public:
        SourceLine(Plic& plic, unsigned source) : plic_(plic), source_(source) {}
        void set_level(bool asserted) override { plic_.set_source_level(source_, asserted); }

      private:
        Plic& plic_;
        unsigned source_;
    };

    uint32_t read_word_locked(uint64_t offset);
    void write_word_locked(uint64_t offset, uint32_t value);
    unsigned best_pending_locked(const Context& context) const;
    uint32_t claim_locked(unsigned context_index);
    void update_outputs_locked();

    std::span<riscv::Hart* const> harts_;
    std::mutex mutex_;
    std::array<uint32_t, kSources> priority_{};
    std::array<uint32_t, kWords> level_{};    // what devices drive
    std::array<uint32_t, kWords> pending_{};  // gateway: latched, not yet claimed
    std::array<uint32_t, kWords> claimed_{};  // in service: no new pending until completed
    std::vector<Context> contexts_;
    std::vector<std::unique_ptr<SourceLine>> lines_;
};

}  // namespace vessel::riscv_virt
