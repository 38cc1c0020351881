// The scratch directory of the extraction fuzz targets (archive_fuzz.cpp, backup_fuzz.cpp): a
// root to extract into beside a decoy directory holding one file. After an extraction, whatever it
// returned, the decoy must be untouched and nothing else may exist beside the two; the directory
// is removed afterwards.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace vessel::fuzz {

namespace fs = std::filesystem;

constexpr std::string_view kDecoyText = "decoy";

class Scratch {
  public:
    Scratch() {
        char pattern[] = "/tmp/vessel-fuzz-extract-XXXXXX";
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

inline void check_nothing_escaped(const std::string& scratch) {
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

}  // namespace vessel::fuzz
