// Copying files into and out of instances (`vessel file push/pull`), the same request for both
// kinds: a container's files are reached through its root as its init sees it, a VM's through its
// agent. The contents travel whole in one API request, so a transfer is bounded.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/error.h"

namespace vessel::manager {

// Base64 in a JSON body must stay under the API's 32 MiB request limit.
inline constexpr size_t max_file_transfer_bytes = 20 << 20;

struct FileMeta {
    mode_t mode = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
};

struct PushedFile {
    std::string path;  // absolute, in the instance
    FileMeta meta;
    bool parents = false;  // create missing parent directories
    std::string content;
};

struct PulledFile {
    FileMeta meta;
    std::string content;
};

// An absolute path naming a file ("/a/b", not "/", not ending in "/" or a dot component).
Result<> check_instance_file_path(const std::string& path);

// Writes the file inside the directory tree root_fd (a container's root): atomically (a temporary
// file beside it, renamed over it), resolving every component as if root_fd were "/", so that no
// symlink in the container reaches the host. A symlink at the path itself is replaced, not
// followed.
Result<uint64_t> push_into_root(int root_fd, const PushedFile& file);
// Reads a regular file inside root_fd, symlinks resolved within it.
Result<PulledFile> pull_from_root(int root_fd, const std::string& path);

}  // namespace vessel::manager
