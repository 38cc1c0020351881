#include "vm/riscv_virt/clint.h"

namespace vessel::riscv_virt {

namespace {
constexpr uint64_t kMtimecmpBase = 0x4000;
constexpr uint64_t kMtime = 0xbff8;

// Reads `size` bytes at byte `shift` of a 64-bit register.
uint64_t extract(uint64_t value, unsigned shift, unsigned size) {
    value >>= 8 * shift;
    return size >= 8 ? value : value & ((uint64_t{1} << (8 * size)) - 1);
}

uint64_t merge(uint64_t old_value, unsigned shift, unsigned size, uint64_t value) {
    uint64_t mask = size >= 8 ? ~uint64_t{0} : ((uint64_t{1} << (8 * size)) - 1);
    return (old_value & ~(mask << (8 * shift))) | ((value & mask) << (8 * shift));
}
}  // namespace

Clint::Clint(const riscv::Clock& clock, std::span<riscv::Hart* const> harts)
    : clock_(clock), harts_(harts), msip_(new std::atomic<uint32_t>[harts.size()]) {
    for (size_t i = 0; i < harts.size(); ++i)
        msip_[i].store(0);
}

uint64_t Clint::read(uint64_t offset, unsigned size) {
    if (offset < kMtimecmpBase) {
        uint64_t hart = offset / 4;
        if (hart >= harts_.size() || size != 4 || offset % 4) return 0;
        return msip_[hart].load();
    }
    if (offset >= kMtime && offset + size <= kMtime + 8)
        return extract(clock_.mtime(), static_cast<unsigned>(offset - kMtime), size);
    if (offset >= kMtimecmpBase && offset < kMtime) {
        uint64_t hart = (offset - kMtimecmpBase) / 8;
        auto shift = static_cast<unsigned>((offset - kMtimecmpBase) % 8);
        if (hart >= harts_.size() || shift + size > 8) return 0;
        return extract(harts_[hart]->mtimecmp(), shift, size);
    }
    return 0;
}

void Clint::write(uint64_t offset, unsigned size, uint64_t value) {
    if (offset < kMtimecmpBase) {
        uint64_t hart = offset / 4;
        if (hart >= harts_.size() || size != 4 || offset % 4) return;
        msip_[hart].store(value & 1);
        harts_[hart]->set_interrupt_line(riscv::irq::msi, value & 1);
        return;
    }
    if (offset >= kMtimecmpBase && offset < kMtime) {
        uint64_t hart = (offset - kMtimecmpBase) / 8;
        auto shift = static_cast<unsigned>((offset - kMtimecmpBase) % 8);
        if (hart >= harts_.size() || shift + size > 8) return;
        // Two 32-bit halves from different harts may race; the guest serialises them (as on
        // hardware), so a read-modify-write here is what software expects.
        harts_[hart]->set_mtimecmp(merge(harts_[hart]->mtimecmp(), shift, size, value));
    }
    // mtime is read-only here: the timebase is the host clock.
}

}  // namespace vessel::riscv_virt
