// The file an export writes before it is whole: hidden beside its target
// (".NAME.vessel-partial-XXXXXX"), renamed onto the target (which must not exist) when done, and
// removed on failure. A marker in the instance's directory names where it is, before it exists,
// so that the next start of a vesseld killed meanwhile removes it too (remove_unfinished_export):
// the user's directory keeps no half-written archive.
#pragma once

#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace vessel::manager {

class PartialFile {
  public:
    // `marker`: the file recording where the partial file is (in the instance's directory).
    static Result<PartialFile> create(const std::string& target, const std::string& marker);
    PartialFile(PartialFile&& other) noexcept;
    PartialFile& operator=(PartialFile&&) = delete;
    ~PartialFile();

    int fd() const { return fd_.get(); }
    // fsyncs, then renames onto `target`, refusing to replace a file that appeared meanwhile.
    Result<> keep(const std::string& target);

  private:
    PartialFile(UniqueFd fd, std::string path, std::string marker)
        : fd_(std::move(fd)), path_(std::move(path)), marker_(std::move(marker)) {}
    UniqueFd fd_;
    std::string path_;  // empty once kept
    std::string marker_;
};

// Removes what an export cut short left behind its `marker`: the partial file, then the marker.
// Returns the files removed.
Result<std::vector<std::string>> remove_unfinished_export(const std::string& marker);

}  // namespace vessel::manager
