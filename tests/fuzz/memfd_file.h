// Fuzz bytes as a file with a path, for code that takes a path (vm.json, tarballs): an anonymous
// memfd reached through /proc/self/fd, so no file is left behind and nothing touches the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <span>
#include <string>

#include "base/unique_fd.h"

namespace vessel::fuzz {

class MemfdFile {
  public:
    explicit MemfdFile(std::span<const uint8_t> bytes)
        : fd_(::memfd_create("vessel-fuzz", MFD_CLOEXEC)) {
        if (!fd_) std::abort();
        size_t written = 0;
        while (written < bytes.size()) {
            ssize_t n = ::write(fd_.get(), bytes.data() + written, bytes.size() - written);
            if (n <= 0) std::abort();
            written += static_cast<size_t>(n);
        }
    }
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

  private:
    UniqueFd fd_;
};

}  // namespace vessel::fuzz
