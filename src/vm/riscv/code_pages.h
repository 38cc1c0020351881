// Which guest-RAM pages hold instructions some hart has decoded, and a per-page generation that a
// store to such a page bumps. Harts key their decoded-instruction caches on (page, generation), so
// a store by any hart to code invalidates every hart's decoded copy of that page without a
// cross-thread flush: the owner notices the new generation the next time it enters the page.
//
// Both tables have an entry per 4 KiB page of guest RAM, 5 bytes: 1.25 GiB for a 1 TiB guest. They
// live in an anonymous MAP_NORESERVE mapping whose untouched pages read as zero and cost no host
// memory, so the host pays only for the table pages that cover code (4 KiB of generations per
// 4 MiB of guest RAM holding code), not for the guest's size.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/error.h"
#include "vm/memory/guest_memory.h"

namespace vessel::riscv {

class CodePages : public vm::DmaListener {
  public:
    static Result<CodePages> create(const vm::GuestMemory& memory);
    CodePages(CodePages&& other) noexcept;
    CodePages& operator=(CodePages&& other) noexcept;
    CodePages(const CodePages&) = delete;
    CodePages& operator=(const CodePages&) = delete;
    ~CodePages() override;

    // Pointer to the page's "holds decoded code" flag; nullptr outside RAM. Stores test it with
    // holds_code() on their fast path.
    uint8_t* code_flag(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        return paddr >= base_ && index < pages_ ? &is_code_[index] : nullptr;
    }
    static bool holds_code(uint8_t* flag) {
        return std::atomic_ref(*flag).load(std::memory_order_relaxed) != 0;
    }

    uint32_t generation(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        return paddr >= base_ && index < pages_
                   ? std::atomic_ref(generations_[index]).load(std::memory_order_acquire)
                   : 0;
    }

    // The generation's own word, for translated code that checks it without a call; nullptr
    // outside RAM.
    const uint32_t* generation_word(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        return paddr >= base_ && index < pages_ ? &generations_[index] : nullptr;
    }

    // A hart is about to cache decoded instructions of this page.
    void mark_code(uint64_t paddr) const {
        if (uint8_t* flag = code_flag(paddr))
            std::atomic_ref(*flag).store(1, std::memory_order_relaxed);
    }

    // A device wrote guest RAM: the pages of it that held code are stale like after a store.
    void device_wrote(uint64_t gpa, uint64_t length) const override {
        if (length == 0) return;
        for (uint64_t page = gpa & ~uint64_t{0xfff}; page < gpa + length; page += 0x1000)
            if (uint8_t* flag = code_flag(page); flag && holds_code(flag)) code_written(page);
    }

    // A store hit a page marked as code: every decoded copy is now stale.
    void code_written(uint64_t paddr) const {
        uint64_t index = (paddr - base_) >> 12;
        if (paddr < base_ || index >= pages_) return;
        std::atomic_ref(is_code_[index]).store(0, std::memory_order_relaxed);
        std::atomic_ref(generations_[index]).fetch_add(1, std::memory_order_acq_rel);
    }

  private:
    CodePages() = default;
    void unmap();

    uint64_t base_ = 0;
    uint64_t pages_ = 0;
    void* mapping_ = nullptr;  // generations_, then is_code_
    size_t mapping_size_ = 0;
    uint32_t* generations_ = nullptr;
    uint8_t* is_code_ = nullptr;
};

}  // namespace vessel::riscv
