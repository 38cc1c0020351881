#include "vm/riscv/jit/code_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/unique_fd.h"

namespace vessel::riscv::jit {

Result<CodeBuffer> CodeBuffer::create(size_t bytes) {
    int raw = memfd_create("vessel-jit", MFD_CLOEXEC);
    if (raw < 0) return fail("memfd_create for translated code: {}", std::strerror(errno));
    UniqueFd fd(raw);
    if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
        return fail("sizing the translated-code buffer to {} bytes: {}", bytes,
                    std::strerror(errno));
    void* writable = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (writable == MAP_FAILED)
        return fail("mapping the translated-code buffer writable: {}", std::strerror(errno));
    void* executable = mmap(nullptr, bytes, PROT_READ | PROT_EXEC, MAP_SHARED, fd.get(), 0);
    if (executable == MAP_FAILED) {
        int error = errno;
        munmap(writable, bytes);
        return fail("mapping the translated-code buffer executable: {}", std::strerror(error));
    }
    CodeBuffer buffer;
    buffer.writable_ = static_cast<uint8_t*>(writable);
    buffer.executable_ = static_cast<const uint8_t*>(executable);
    buffer.size_ = bytes;
    return buffer;
}

CodeBuffer::CodeBuffer(CodeBuffer&& other) noexcept
    : writable_(std::exchange(other.writable_, nullptr)),
      executable_(std::exchange(other.executable_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      used_(std::exchange(other.used_, 0)) {}

CodeBuffer& CodeBuffer::operator=(CodeBuffer&& other) noexcept {
    if (this != &other) {
        unmap();
        writable_ = std::exchange(other.writable_, nullptr);
        executable_ = std::exchange(other.executable_, nullptr);
        size_ = std::exchange(other.size_, 0);
        used_ = std::exchange(other.used_, 0);
    }
    return *this;
}

CodeBuffer::~CodeBuffer() {
    unmap();
}

void CodeBuffer::unmap() {
    if (writable_) munmap(writable_, size_);
    if (executable_) munmap(const_cast<uint8_t*>(executable_), size_);
    writable_ = nullptr;
    executable_ = nullptr;
}

void CodeBuffer::commit(size_t bytes) {
    // 16-byte alignment: block entries are jump targets the host's decoders like aligned.
    used_ = std::min(size_, (used_ + bytes + 15) & ~size_t{15});
}

}  // namespace vessel::riscv::jit
