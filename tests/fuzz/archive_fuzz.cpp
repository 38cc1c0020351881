// Image import's tarball extraction (libarchive) with whatever the tarball holds: absolute and
// ".." names, symlinks and hard links pointing out, device nodes, links through planted symlinks.
// Each run extracts into a fresh directory beside a decoy directory holding one file; afterwards
// the decoy must be untouched and nothing else may exist beside the two, whatever the extraction
// returned. The directory is removed after each run.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_input.h"
#include "manager/image/image_store.h"
#include "memfd_file.h"

using namespace vessel;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kDecoyText = "decoy";

class Scratch {
  public:
    Scratch() {
        char pattern[] = "/tmp/vessel-fuzz-archive-XXXXXX";
        if (!::mkdtemp(pattern)) std::abort();
        path_ = pattern;
        fs::create_directory(path_ + "/root");
        fs::create_directory(path_ + "/outside");
        std::ofstream(path_ + "/outside/file") << kDecoyText;
    }
    ~Scratch() {
        std::error_code ignored;
        // Extraction may have left a directory without write permission: give it back first.
        for (auto it = fs::recursive_directory_iterator(path_, ignored);
             it != fs::recursive_directory_iterator(); it.increment(ignored))
            if (it->is_directory(ignored) && !it->is_symlink(ignored))
                fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ignored);
        fs::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

void check_nothing_escaped(const std::string& scratch) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(scratch, error)) {
        auto name = entry.path().filename().string();
        if (name != "root" && name != "outside") std::abort();
    }
    size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(scratch + "/outside", error)) {
        (void)entry;
        ++entries;
    }
    auto status = fs::symlink_status(scratch + "/outside/file", error);
    if (entries != 1 || !fs::is_regular_file(status) ||
        fs::hard_link_count(scratch + "/outside/file", error) != 1)
        std::abort();
    std::ifstream in(scratch + "/outside/file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text != kDecoyText) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::MemfdFile tarball({data, size});
    Scratch scratch;
    (void)manager::extract_rootfs(tarball.path(), scratch.path() + "/root");
    check_nothing_escaped(scratch.path());
    return 0;
}
