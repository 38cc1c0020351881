// Copying files into and out of instances (`vessel file push/pull`), the same request for both
// kinds: a container's files are reached through its root as its init sees it, a VM's through its
// agent. The JSON API carries the contents whole in one request, so that form is bounded; the
// streamed form (frames, docs/rest-api.md) has no limit and holds one chunk at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::manager {

// For the JSON form: base64 in a JSON body must stay under the API's 32 MiB request limit.
inline constexpr size_t max_file_transfer_bytes = 20 << 20;

struct FileMeta {
    mode_t mode = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Where a streamed push goes; its contents come as frames.
struct PushTarget {
    std::string path;  // absolute, in the instance
    FileMeta meta;
    bool parents = false;  // create missing parent directories
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

// A push into a directory tree under way: the contents go into a temporary file beside the target
// as they come, and only commit() puts it in place; destroyed before that, it leaves nothing.
class PushInRoot {
  public:
    // Resolves the target inside root_fd as if root_fd were "/" (no symlink in the tree reaches
    // out of it), checks it, and creates the temporary file.
    static Result<PushInRoot> begin(int root_fd, const std::string& path, bool parents);
    PushInRoot(PushInRoot&&) noexcept = default;
    PushInRoot& operator=(PushInRoot&&) = delete;
    ~PushInRoot();

    Result<> write(std::string_view bytes);
    // Owner, mode, fsync, then the rename over the target; returns the bytes written.
    Result<uint64_t> commit(const FileMeta& meta);

  private:
    PushInRoot(UniqueFd parent, UniqueFd out, std::string temporary, std::string leaf,
               std::string where)
        : parent_(std::move(parent)),
          out_(std::move(out)),
          temporary_(std::move(temporary)),
          leaf_(std::move(leaf)),
          where_(std::move(where)) {}

    UniqueFd parent_;
    UniqueFd out_;
    std::string temporary_;  // empty once renamed into place
    std::string leaf_;
    std::string where_;
    uint64_t written_ = 0;
};

// A regular file inside a tree, open for reading (symlinks resolved within the tree).
struct OpenedForPull {
    UniqueFd file;
    FileMeta meta;
    uint64_t size = 0;  // when opened; /proc files say 0 and still have contents
};
Result<OpenedForPull> open_for_pull(int root_fd, const std::string& path);

// Writes the file inside the directory tree root_fd (a container's root): atomically (a temporary
// file beside it, renamed over it), resolving every component as if root_fd were "/", so that no
// symlink in the container reaches the host. A symlink at the path itself is replaced, not
// followed.
Result<uint64_t> push_into_root(int root_fd, const PushedFile& file);
// Reads a regular file inside root_fd, symlinks resolved within it.
Result<PulledFile> pull_from_root(int root_fd, const std::string& path);

}  // namespace vessel::manager
