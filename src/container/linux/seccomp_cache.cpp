#include "container/linux/seccomp_cache.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"

namespace vessel::container {
namespace {

constexpr std::string_view kFormat = "vessel-seccomp-cache 1";

// Everything the compiled program depends on besides the profile text.
std::string cache_key(const Json& profile_json) {
    const scmp_version* version = seccomp_version();
    return fmt::format("{}\nlibseccomp {}.{}.{} api {}\narch {}\n{}", kFormat, version->major,
                       version->minor, version->micro, seccomp_api_get(), seccomp_arch_native(),
                       profile_json.dump());
}

// FNV-1a: only spreads entries over file names; hits are verified against the full key.
uint64_t fnv1a(std::string_view text) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

// The caller's own directory, not writable by anyone else; created 0700 when missing.
Result<UniqueFd> open_trusted_directory(const std::string& path) {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
        return fail_errno("creating the seccomp cache " + path);
    auto fd = TRY(open_file(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail_errno("stat " + path);
    if (info.st_uid != ::geteuid() || (info.st_mode & (S_IWGRP | S_IWOTH)))
        return fail("seccomp cache {} is not owned by us or is writable by others; not trusting it",
                    path);
    return fd;
}

std::string encode(const std::string& key, const CompiledSeccomp& compiled) {
    std::string data = key;
    data.push_back('\0');
    data.append(reinterpret_cast<const char*>(&compiled.flags), sizeof compiled.flags);
    data.push_back(compiled.uses_notify ? 1 : 0);
    data.append(reinterpret_cast<const char*>(compiled.program.data()),
                compiled.program.size() * sizeof(sock_filter));
    return data;
}

// nullopt when the entry is for another key or malformed.
std::optional<CompiledSeccomp> decode(std::string_view data, const std::string& key) {
    const size_t header = key.size() + 1 + sizeof(uint32_t) + 1;
    if (data.size() <= header || data.substr(0, key.size()) != key || data[key.size()] != '\0')
        return std::nullopt;
    const size_t program_bytes = data.size() - header;
    if (program_bytes % sizeof(sock_filter) != 0 ||
        program_bytes / sizeof(sock_filter) > BPF_MAXINSNS)
        return std::nullopt;
    CompiledSeccomp compiled;
    std::memcpy(&compiled.flags, data.data() + key.size() + 1, sizeof compiled.flags);
    compiled.uses_notify = data[key.size() + 1 + sizeof(uint32_t)] != 0;
    compiled.program.resize(program_bytes / sizeof(sock_filter));
    std::memcpy(compiled.program.data(), data.data() + header, program_bytes);
    return compiled;
}

std::optional<CompiledSeccomp> lookup(int directory, const std::string& name,
                                      const std::string& key) {
    auto fd = open_at(directory, name, O_RDONLY | O_NOFOLLOW);
    if (!fd) return std::nullopt;
    struct stat info {};
    if (::fstat(fd->get(), &info) != 0 || info.st_uid != ::geteuid() ||
        (info.st_mode & (S_IWGRP | S_IWOTH)) || !S_ISREG(info.st_mode))
        return std::nullopt;
    auto data = read_fd(fd->get());
    if (!data) return std::nullopt;
    return decode(*data, key);
}

}  // namespace

Result<CachedCompile> compile_seccomp_cached(const Json& profile_json,
                                             const SeccompProfile& profile,
                                             const std::string& cache_dir) {
    const std::string key = cache_key(profile_json);
    const std::string name = fmt::format("{:016x}.bpf", fnv1a(key));
    auto directory = open_trusted_directory(cache_dir);
    if (directory) {
        if (auto cached = lookup(directory->get(), name, key))
            return CachedCompile{.compiled = std::move(*cached), .from_cache = true};
    }
    CachedCompile result{.compiled = TRY(compile_seccomp(profile))};
    // Failing to store only costs the next start a compile.
    if (directory)
        (void)write_file_atomic(cache_dir + "/" + name, encode(key, result.compiled), 0600);
    return result;
}

}  // namespace vessel::container
