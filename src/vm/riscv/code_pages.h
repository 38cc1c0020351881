// Which guest-RAM pages hold instructions some hart has decoded, and a per-page generation that a
// store to such a page bumps. Harts key their decoded-instruction caches on (page, generation), so
// a store by any hart to code invalidates every hart's decoded copy of that page without a
// cross-thread flush: the owner notices the new generation the next time it enters the page.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "vm/memory/guest_memory.h"

namespace vessel::riscv {

class CodePages {
  public:
    explicit CodePages(const vm::GuestMemory& memory) {
        auto regions = memory.regions();
        if (regions.empty()) return;
        base_ = regions.front().guest_base;
        uint64_t end = regions.back().guest_base + regions.back().size;
        pages_ = (end - base_) >> 12;
        generations_ = std::make_unique<std::atomic<uint32_t>[]>(pages_);
        is_code_ = std::make_unique<std::atomic<uint8_t>[]>(pages_);
    }

    // Pointer to the page's "holds decoded code" flag; nullptr outside RAM. Stores test it on
    // their fast path.
    std::atomic<uint8_t>* code_flag(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        return paddr >= base_ && index < pages_ ? &is_code_[index] : nullptr;
    }

    uint32_t generation(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        return paddr >= base_ && index < pages_
                   ? generations_[index].load(std::memory_order_acquire)
                   : 0;
    }

    // A hart is about to cache decoded instructions of this page.
    void mark_code(uint64_t paddr) const {
        if (auto* flag = code_flag(paddr)) flag->store(1, std::memory_order_relaxed);
    }

    // A store hit a page marked as code: every decoded copy is now stale.
    void code_written(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        if (paddr < base_ || index >= pages_) return;
        is_code_[index].store(0, std::memory_order_relaxed);
        generations_[index].fetch_add(1, std::memory_order_acq_rel);
    }

  private:
    uint64_t base_ = 0;
    uint64_t pages_ = 0;
    std::unique_ptr<std::atomic<uint32_t>[]> generations_;
    std::unique_ptr<std::atomic<uint8_t>[]> is_code_;
};

}  // namespace vessel::riscv
