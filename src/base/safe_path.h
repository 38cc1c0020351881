// Path resolution confined to a directory tree. A container's rootfs is untrusted: a symlink in it
// must resolve as if the rootfs were "/", never to a host path. Everything here goes through
// openat2(RESOLVE_IN_ROOT), and callers act on the returned descriptor (e.g. mount onto
// /proc/self/fd/N) so that nothing can swap the path between check and use.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel {

// Opens `path` (absolute or relative; taken relative to root either way) inside root_fd.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode = 0);

// Creates every missing directory of `path` inside the root and returns an O_PATH descriptor to the
// last one. Symlinked components are followed, but only within the root.
Result<UniqueFd> make_directories_in_root(int root_fd, std::string_view path, mode_t mode = 0755);

// Makes sure a regular file exists at `path` inside the root (creating parents) and returns an
// O_PATH descriptor to it. Used for bind-mounting a file onto a file.
Result<UniqueFd> make_file_in_root(int root_fd, std::string_view path, mode_t mode = 0644);

// "/proc/self/fd/N": the path through which mount(2) and friends act on an already resolved fd.
std::string fd_path(int fd);

// Removes leading slashes and "." components and collapses repeated slashes ("//a/./b/" -> "a/b").
std::string relative_clean_path(std::string_view path);

}  // namespace vessel
