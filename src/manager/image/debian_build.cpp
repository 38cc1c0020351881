#include "manager/image/debian_build.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "base/file.h"
#include "base/process.h"
#include "manager/image/image_store.h"
#include "manager/image/init_scripts.h"
#include "manager/instance/instance.h"

namespace vessel::manager {

namespace {

// Bumped whenever what the recipe puts in the tree changes: part of the cache key.
constexpr const char* kRecipeVersion = "vessel-debian-2";
constexpr const char* kExtraPackages = "iproute2,udhcpc";

std::vector<std::string> words(const std::string& text) {
    std::istringstream stream(text);
    std::vector<std::string> out;
    for (std::string word; stream >> word;)
        out.push_back(word);
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// One deb822 stanza's fields (continuation lines and comments skipped).
std::optional<std::string> archive_in_stanza(const std::map<std::string, std::string>& fields,
                                             const std::string& suite) {
    auto field = [&](const char* name) {
        auto found = fields.find(name);
        return found == fields.end() ? std::vector<std::string>() : words(found->second);
    };
    auto enabled = fields.find("Enabled");
    if (enabled != fields.end() && words(enabled->second) == std::vector<std::string>{"no"})
        return std::nullopt;
    auto uris = field("URIs");
    if (!contains(field("Types"), "deb") || !contains(field("Suites"), suite) ||
        !contains(field("Components"), "main") || uris.empty())
        return std::nullopt;
    return uris.front();
}

std::optional<std::string> archive_in_deb822(const std::string& text, const std::string& suite) {
    std::map<std::string, std::string> fields;
    std::istringstream stream(text + "\n\n");
    for (std::string line; std::getline(stream, line);) {
        if (line.empty() || line.find_first_not_of(" \t") == std::string::npos) {
            if (auto uri = archive_in_stanza(fields, suite)) return uri;
            fields.clear();
            continue;
        }
        if (line[0] == '#' || line[0] == ' ' || line[0] == '\t') continue;
        auto colon = line.find(':');
        if (colon != std::string::npos) fields[line.substr(0, colon)] = line.substr(colon + 1);
    }
    return std::nullopt;
}

// "deb [options] URI SUITE COMPONENT..."
std::optional<std::string> archive_in_one_line(const std::string& text, const std::string& suite) {
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        auto fields = words(line.substr(0, line.find('#')));
        if (fields.empty() || fields[0] != "deb") continue;
        size_t at = 1;
        if (at < fields.size() && fields[at].starts_with('[')) {
            while (at < fields.size() && !fields[at].ends_with(']'))
                ++at;
            ++at;
        }
        if (at + 2 < fields.size() && fields[at + 1] == suite &&
            std::find(fields.begin() + static_cast<long>(at) + 2, fields.end(), "main") !=
                fields.end())
            return fields[at];
    }
    return std::nullopt;
}

Result<> run_debootstrap(const std::string& suite, const std::string& archive,
                         const std::string& target,
                         const std::function<void(const std::string&)>& progress) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail_errno("pipe");
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    auto child =
        TRY(spawn({.argv = {"debootstrap", "--variant=minbase",
                            std::string("--include=") + kExtraPackages, suite, target, archive},
                   .stdout_fd = write_end.get(),
                   .stderr_fd = write_end.get()}));
    write_end.reset();
    std::string pending, last;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(read_end.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        pending.append(buffer, static_cast<size_t>(got));
        for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (line.empty()) continue;
            last = line;
            progress(line);
        }
    }
    auto status = TRY(child.wait());
    if (!status.success())
        return fail("debootstrap {} from {} failed ({}): {}", suite, archive, status.describe(),
                    last);
    return {};
}

}  // namespace

Result<std::string> debian_archive_for(const std::string& apt_dir, const std::string& suite) {
    std::vector<std::string> sources;
    if (DIR* dir = ::opendir((apt_dir + "/sources.list.d").c_str())) {
        while (dirent* entry = ::readdir(dir))
            if (std::string_view(entry->d_name).ends_with(".sources"))
                sources.push_back(apt_dir + "/sources.list.d/" + entry->d_name);
        ::closedir(dir);
    }
    std::sort(sources.begin(), sources.end());
    for (const auto& path : sources)
        if (auto text = read_file(path))
            if (auto uri = archive_in_deb822(*text, suite)) return *uri;
    if (auto text = read_file(apt_dir + "/sources.list"))
        if (auto uri = archive_in_one_line(*text, suite)) return *uri;
    return fail_errno(ENOENT,
                      fmt::format("apt has no archive for {} main (in {}/sources.list or {}/"
                                  "sources.list.d/*.sources)",
                                  suite, apt_dir, apt_dir));
}

Result<std::string> debian_suite(const std::string& distribution) {
    if (distribution == "debian/12" || distribution == "debian/bookworm") return "bookworm";
    return fail_errno(EINVAL, fmt::format("cannot build {}: only debian/12 (bookworm, this host's "
                                          "release, whose archive apt already reaches)",
                                          distribution));
}

Result<std::string> build_debian_tarball(const DebianBuild& build,
                                         const std::function<void(const std::string&)>& progress) {
    std::string suite = TRY(debian_suite(build.distribution));
    std::string archive = TRY(debian_archive_for(build.apt_dir, suite));
    TRY(make_directories(build.cache_dir, 0700));
    std::string key = TRY(sha256_text(fmt::format("{}\n{}\n{}\n{}\n{}\n", kRecipeVersion, suite,
                                                  archive, kExtraPackages, image_init_script)));
    std::string tarball =
        fmt::format("{}/debian-{}-minbase-{}.tar.gz", build.cache_dir, suite, key);
    if (path_exists(tarball)) {
        progress("cached: " + tarball);
        return tarball;
    }
    // Built aside and renamed into place: an interrupted build leaves no half tarball.
    std::string work = fmt::format("{}/.build-{}", build.cache_dir, ::getpid());
    auto made = [&]() -> Result<> {
        TRY(make_directories(work + "/rootfs", 0755));
        progress(fmt::format("debootstrap --variant=minbase {} from {}", suite, archive));
        TRY(run_debootstrap(suite, archive, work + "/rootfs", progress));
        TRY(write_file_atomic(work + "/rootfs/sbin/vessel-init", image_init_script, 0755));
        TRY(make_directories(work + "/rootfs/usr/share/udhcpc", 0755));
        TRY(write_file_atomic(work + "/rootfs/usr/share/udhcpc/default.script", udhcpc_lease_script,
                              0755));
        progress("packing the root filesystem");
        // Without debootstrap's device nodes: the runtime makes /dev, and images may not carry any.
        TRY(run_checked({"tar", "--numeric-owner", "--exclude=./dev/*", "-C", work + "/rootfs",
                         "-czf", work + "/rootfs.tar.gz", "."},
                        std::chrono::minutes(10)));
        if (::rename((work + "/rootfs.tar.gz").c_str(), tarball.c_str()) != 0)
            return fail_errno("rename into " + tarball);
        return {};
    };
    auto result = made();
    (void)run_capture({"rm", "-rf", "--one-file-system", "--", work}, std::chrono::minutes(5));
    if (!result) return std::unexpected(result.error());
    return tarball;
}

}  // namespace vessel::manager
