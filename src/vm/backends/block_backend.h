// The host side of a virtio-blk disk: where its bytes live. The device speaks sectors and guest
// buffers; a backend speaks byte offsets and iovecs pointing straight into guest RAM, so no data is
// copied on the way.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>

#include "base/error.h"

namespace vessel::vm {

class BlockBackend {
  public:
    virtual ~BlockBackend() = default;
    virtual uint64_t size() const = 0;
    virtual bool read_only() const = 0;
    // Whole transfers: a short read or write is an error.
    virtual Result<> read(uint64_t offset, std::span<const iovec> buffers) = 0;
    virtual Result<> write(uint64_t offset, std::span<const iovec> buffers) = 0;
    virtual Result<> flush() = 0;
    // Deallocates the range (it reads as zeroes afterwards).
    virtual Result<> discard(uint64_t offset, uint64_t length) = 0;
    // Zeroes the range; `unmap` lets the backend deallocate it too.
    virtual Result<> write_zeroes(uint64_t offset, uint64_t length, bool unmap) = 0;
};

}  // namespace vessel::vm
