// Copies a disk image for a new VM: by reflink where the filesystem shares blocks (btrfs, XFS), or
// else extent by extent, so that the holes of a sparse image stay holes. A 256 MiB image holding
// 20 MiB of data costs 20 MiB, not 256.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"

namespace vessel {

struct DataExtent {
    off_t offset = 0;
    off_t length = 0;
};

// The extents of the open file `fd` (`size` bytes long) that hold data, in order (SEEK_DATA and
// SEEK_HOLE); what lies between them reads as zeros and takes no space.
Result<std::vector<DataExtent>> data_extents(int fd, off_t size);

// Creates `to` (which must not exist) with `mode`; on failure removes what it made.
Result<> copy_sparse_file(const std::string& from, const std::string& to, mode_t mode);

}  // namespace vessel
