// Small whole-file helpers that report failures as values.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

// open(2) with O_CLOEXEC always added.
Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode = 0);

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);

// Writes the whole buffer (retrying short writes and EINTR).
Result<> write_all(int fd, std::string_view data);

// Opens with O_WRONLY|O_TRUNC (no O_CREAT: for sysfs, procfs and cgroup files) and writes.
Result<> write_existing_file(const std::string& path, std::string_view data);

// Creates or replaces `path` atomically: writes a temporary file beside it, fsyncs, renames.
Result<> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// mkdir -p; existing directories are fine.
Result<> make_directories(const std::string& path, mode_t mode = 0755);

bool path_exists(const std::string& path);

}  // namespace vessel
