// The files a VMM copies into guest RAM (kernel, initrd, firmware) and its own vm.json. Only a
// regular file that fits in guest RAM (or, for vm.json, a small bound) qualifies. A character
// device (/dev/zero) would feed the VMM without end, a FIFO would block it before any --timeout
// runs, and a file bigger than guest RAM cannot be placed anyway; each is refused before a byte is
// read, with one line naming the option and the path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::vm {

struct GuestFile {
    UniqueFd fd;
    uint64_t size = 0;
};

// Opens `path` for reading without blocking and checks, on the descriptor it returns, that it is
// a regular file of at most `limit` bytes. `label` says where the path came from: "--initrd", or
// "vm.json: initrd" for a path read from --config; `limit_name` what the limit is.
Result<GuestFile> open_guest_file(const std::string& path, std::string_view label, uint64_t limit,
                                  std::string_view limit_name = "guest RAM");

// The whole file, under the same checks (one that grows while it is read is refused too).
Result<std::string> read_guest_file(const std::string& path, std::string_view label, uint64_t limit,
                                    std::string_view limit_name = "guest RAM");

// Up to `bytes` bytes from the start of the file, for telling formats apart.
Result<std::vector<uint8_t>> read_guest_file_head(const std::string& path, std::string_view label,
                                                  uint64_t limit, size_t bytes);

}  // namespace vessel::vm
