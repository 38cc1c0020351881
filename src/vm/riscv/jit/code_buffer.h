// Memory for translated code that is never writable and executable at the same address: one memfd
// mapped twice, read-write where the translator emits and read-execute where the hart runs. A
// guest that found a way to make the hart write through a host pointer into the executable view
// would fault instead of planting host code. The size is fixed at creation; the translator flushes
// everything when it is full (a Linux guest's working set fits many times over). Both views have
// an inaccessible page on each side.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.h"

namespace vessel::riscv::jit {

class CodeBuffer {
  public:
    // `bytes` is rounded up to whole pages.
    static Result<CodeBuffer> create(size_t bytes);
    // The inaccessible bytes before and after each view.
    static size_t guard_bytes();
    CodeBuffer(CodeBuffer&& other) noexcept;
    CodeBuffer& operator=(CodeBuffer&& other) noexcept;
    CodeBuffer(const CodeBuffer&) = delete;
    CodeBuffer& operator=(const CodeBuffer&) = delete;
    ~CodeBuffer();

    size_t capacity() const { return size_; }
    size_t used() const { return used_; }
    size_t free_bytes() const { return size_ - used_; }
    // Where the next code goes: its writable address and the address it will run at.
    uint8_t* write_cursor() const { return writable_ + used_; }
    const uint8_t* exec_cursor() const { return executable_ + used_; }
    // The executable address of a byte written at `written`.
    const uint8_t* executable_address(const uint8_t* written) const {
        return executable_ + (written - writable_);
    }
    uint8_t* writable_address(const uint8_t* executable) const {
        return writable_ + (executable - executable_);
    }
    // Keeps `bytes` just written at the cursor, aligned for the next piece.
    void commit(size_t bytes);
    // Forgets every piece of code; the mappings are kept.
    void clear() { used_ = 0; }

  private:
    CodeBuffer() = default;
    void unmap();

    uint8_t* writable_ = nullptr;
    const uint8_t* executable_ = nullptr;
    size_t size_ = 0;
    size_t used_ = 0;
};

}  // namespace vessel::riscv::jit
