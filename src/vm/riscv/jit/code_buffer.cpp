#include "vm/riscv/jit/code_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/unique_fd.h"

namespace vessel::riscv::jit {

namespace {

// Each view sits between two inaccessible pages, so code or data that runs off either end of
// the buffer faults at once instead of reaching whatever the kernel mapped next to it.
constexpr size_t kGuardBytes = 4096;

// Maps the memfd at the middle of a fresh reservation of guard + bytes + guard.
Result<uint8_t*> map_between_guards(int fd, size_t bytes, int protection, const char* view) {
    void* reserved =
        mmap(nullptr, bytes + 2 * kGuardBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED)
        return fail("reserving the translated-code buffer's {} view: {}", view,
                    std::strerror(errno));
    auto* start = static_cast<uint8_t*>(reserved) + kGuardBytes;
    if (mmap(start, bytes, protection, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        int error = errno;
        munmap(reserved, bytes + 2 * kGuardBytes);
        return fail("mapping the translated-code buffer {}: {}", view, std::strerror(error));
    }
    return start;
}

void unmap_between_guards(const uint8_t* start, size_t bytes) {
    munmap(const_cast<uint8_t*>(start) - kGuardBytes, bytes + 2 * kGuardBytes);
}

}  // namespace

size_t CodeBuffer::guard_bytes() {
    return kGuardBytes;
}

Result<CodeBuffer> CodeBuffer::create(size_t bytes) {
    bytes = (bytes + kGuardBytes - 1) & ~(kGuardBytes - 1);
    if (bytes == 0) return fail("a translated-code buffer of 0 bytes");
    int raw = memfd_create("vessel-jit", MFD_CLOEXEC);
    if (raw < 0) return fail("memfd_create for translated code: {}", std::strerror(errno));
    UniqueFd fd(raw);
    if (ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
        return fail("sizing the translated-code buffer to {} bytes: {}", bytes,
                    std::strerror(errno));
    uint8_t* writable =
        TRY(map_between_guards(fd.get(), bytes, PROT_READ | PROT_WRITE, "writable"));
    auto executable = map_between_guards(fd.get(), bytes, PROT_READ | PROT_EXEC, "executable");
    if (!executable) {
        unmap_between_guards(writable, bytes);
        return std::unexpected(std::move(executable.error()));
    }
    CodeBuffer buffer;
    buffer.writable_ = writable;
    buffer.executable_ = *executable;
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
    if (writable_) unmap_between_guards(writable_, size_);
    if (executable_) unmap_between_guards(executable_, size_);
    writable_ = nullptr;
    executable_ = nullptr;
}

void CodeBuffer::commit(size_t bytes) {
    // 16-byte alignment: block entries are jump targets the host's decoders like aligned.
    used_ = std::min(size_, (used_ + bytes + 15) & ~size_t{15});
}

}  // namespace vessel::riscv::jit
