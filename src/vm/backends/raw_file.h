// A disk backed by a raw image file, as QEMU's "raw" format and Firecracker's block device: sector
// N is bytes [N*512, N*512+512) of the file. Sparse files stay sparse (discard and write-zeroes
// punch holes). The image is locked while open, exclusively when writable and shared when
// read-only, so that two VMs never write one image, nor one writes what another reads.
#pragma once

#include <memory>
#include <string>

#include "base/unique_fd.h"
#include "vm/backends/block_backend.h"

namespace vessel::vm {

class RawFileBackend final : public BlockBackend {
  public:
    // A regular file only (a FIFO or a device node is refused); errors name the path.
    static Result<std::unique_ptr<RawFileBackend>> open(const std::string& path, bool read_only);

    uint64_t size() const override { return size_; }
    bool read_only() const override { return read_only_; }
    Result<> read(uint64_t offset, std::span<const iovec> buffers) override;
    Result<> write(uint64_t offset, std::span<const iovec> buffers) override;
    Result<> flush() override;
    Result<> discard(uint64_t offset, uint64_t length) override;
    Result<> write_zeroes(uint64_t offset, uint64_t length, bool unmap) override;

  private:
    RawFileBackend(UniqueFd fd, uint64_t size, bool read_only, std::string path)
        : fd_(std::move(fd)), size_(size), read_only_(read_only), path_(std::move(path)) {}

    UniqueFd fd_;
    uint64_t size_;
    bool read_only_;
    std::string path_;
};

}  // namespace vessel::vm
