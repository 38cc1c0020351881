#include "vm/riscv/code_pages.h"

#include <sys/mman.h>

#include <utility>

namespace vessel::riscv {

Result<CodePages> CodePages::create(const vm::GuestMemory& memory) {
    CodePages pages;
    auto regions = memory.regions();
    if (regions.empty()) return pages;
    pages.base_ = regions.front().guest_base;
    uint64_t end = regions.back().guest_base + regions.back().size;
    pages.pages_ = (end - pages.base_) >> 12;
    pages.mapping_size_ = pages.pages_ * (sizeof(uint32_t) + sizeof(uint8_t));
    void* mapping = ::mmap(nullptr, pages.mapping_size_, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        return fail_errno(fmt::format("map {} KiB for the code-page tables of {} MiB of guest RAM",
                                      pages.mapping_size_ >> 10, (end - pages.base_) >> 20));
    pages.mapping_ = mapping;
    pages.generations_ = static_cast<uint32_t*>(mapping);
    pages.is_code_ = reinterpret_cast<uint8_t*>(pages.generations_ + pages.pages_);
    return pages;
}

CodePages::CodePages(CodePages&& other) noexcept
    : base_(other.base_),
      pages_(std::exchange(other.pages_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      generations_(std::exchange(other.generations_, nullptr)),
      is_code_(std::exchange(other.is_code_, nullptr)) {}

CodePages& CodePages::operator=(CodePages&& other) noexcept {
    if (this != &other) {
        unmap();
        base_ = other.base_;
        pages_ = std::exchange(other.pages_, 0);
        mapping_ = std::exchange(other.mapping_, nullptr);
        mapping_size_ = std::exchange(other.mapping_size_, 0);
        generations_ = std::exchange(other.generations_, nullptr);
        is_code_ = std::exchange(other.is_code_, nullptr);
    }
    return *this;
}

CodePages::~CodePages() {
    unmap();
}

void CodePages::unmap() {
    if (mapping_) ::munmap(mapping_, mapping_size_);
    mapping_ = nullptr;
}

}  // namespace vessel::riscv
