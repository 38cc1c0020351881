#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <thread>

#include "base/file.h"
#include "host/cgroup/cgroup.h"
#include "host/cgroup/drivers.h"

namespace vessel::host::cgroup {

std::string cgroup_path_for(const std::string& configured, const std::string& id) {
    if (configured.empty()) return "/vessel/" + id;
    // Lexically clean ("a//b/./" is "/a/b"), so that "/." is seen to be the root. The config's
    // parser has refused "..".
    std::string path;
    size_t position = 0;
    while (position <= configured.size()) {
        size_t end = std::min(configured.find('/', position), configured.size());
        std::string_view part(configured.data() + position, end - position);
        if (!part.empty() && part != ".") path += "/" + std::string(part);
        position = end + 1;
    }
    return path.empty() ? "/" : path;
}

std::vector<ThrottleList> throttle_lists(const BlockIoThrottles& throttles) {
    return {
        {"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps", throttles.read_bps},
        {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps", throttles.write_bps},
        {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops", throttles.read_iops},
        {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops",
         throttles.write_iops}};
}

Result<> write_weight_devices(const std::string& dir, std::initializer_list<const char*> files,
                              const std::vector<DeviceWeight>& devices, const Logger& log) {
    if (devices.empty()) return {};
    const char* file = nullptr;
    for (const char* candidate : files)
        if (!file && path_exists(dir + "/" + candidate)) file = candidate;
    if (!file) {
        log.warning(
            "linux.resources.blockIO.weightDevice: the host has no {} (no proportional "
            "I/O scheduler); not applied",
            *files.begin());
        return {};
    }
    for (size_t i = 0; i < devices.size(); ++i)
        TRY_CTX(write_cgroup_file(
                    dir, file,
                    fmt::format("{}:{} {}", devices[i].major, devices[i].minor, devices[i].weight)),
                "linux.resources.blockIO.weightDevice[{}]", i);
    return {};
}

Result<> write_cgroup_file(const std::string& directory, const char* file, std::string_view value) {
    std::string path = directory + "/" + file;
    return with_context(write_existing_file(path, value),
                        fmt::format("write {} to {}", value, path));
}

Result<std::vector<std::string>> make_cgroup_directories(
    const std::string& mount_point, const std::string& path,
    const std::function<Result<>(const std::string&)>& on_created) {
    // Another runtime may remove a shared parent (e.g. /vessel) between our mkdirs: start over.
    for (int attempt = 0;; ++attempt) {
        std::vector<std::string> created;
        auto undo = [&] {
            for (auto it = created.rbegin(); it != created.rend(); ++it)
                ::rmdir(it->c_str());
        };
        std::string current = mount_point;
        size_t position = 1;
        bool raced = false;
        while (position <= path.size()) {
            size_t end = path.find('/', position);
            if (end == std::string::npos) end = path.size();
            if (end > position) {
                current += "/" + path.substr(position, end - position);
                if (::mkdir(current.c_str(), 0755) == 0) {
                    created.push_back(current);
                    if (on_created) {
                        auto prepared = on_created(current);
                        if (!prepared) {
                            undo();
                            return std::unexpected(prepared.error());
                        }
                    }
                } else if (errno == ENOENT && attempt < 5) {
                    raced = true;
                    break;
                } else if (errno != EEXIST) {
                    int saved = errno;
                    undo();
                    return fail_errno(saved, "mkdir " + current);
                }
            }
            position = end + 1;
        }
        if (!raced) return created;
        undo();
    }
}

Result<std::vector<pid_t>> read_pids(const std::string& directory) {
    std::string text = TRY(read_file(directory + "/cgroup.procs"));
    std::vector<pid_t> pids;
    const char* cursor = text.data();
    const char* end = text.data() + text.size();
    while (cursor < end) {
        pid_t pid = 0;
        auto [next, error] = std::from_chars(cursor, end, pid);
        if (error == std::errc()) pids.push_back(pid);
        cursor = next;
        while (cursor < end && (*cursor < '0' || *cursor > '9'))
            ++cursor;
    }
    return pids;
}

Result<> remove_cgroup_directory(const std::string& directory) {
    // A killed process leaves the cgroup a moment after it is reaped; rmdir says EBUSY until then.
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(directory.c_str()) == 0 || errno == ENOENT) return {};
        if (errno != EBUSY || attempt >= 200) return fail_errno("rmdir " + directory);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

bool CgroupDirectories::owns_directories() const {
    return std::all_of(leaves_.begin(), leaves_.end(), [&](const std::string& leaf) {
        return std::find(created_.begin(), created_.end(), leaf) != created_.end();
    });
}

Result<std::vector<pid_t>> CgroupDirectories::processes() const {
    std::vector<pid_t> all;
    for (const auto& leaf : leaves_) {
        auto pids = read_pids(leaf);
        if (!pids) {
            if (pids.error().code() == ENOENT) continue;
            return std::unexpected(pids.error());
        }
        for (pid_t pid : *pids)
            if (std::find(all.begin(), all.end(), pid) == all.end()) all.push_back(pid);
    }
    return all;
}

Result<UniqueFd> CgroupDirectories::open_directory(const std::string& directory) {
    return open_file(directory, O_RDONLY | O_DIRECTORY);
}

Result<> CgroupDirectories::add_process(pid_t pid) {
    std::string text = std::to_string(pid);
    for (const auto& leaf : leaves_)
        TRY(write_cgroup_file(leaf, "cgroup.procs", text));
    return {};
}

Result<> CgroupDirectories::destroy() {
    std::optional<Error> first_error;
    for (const auto& leaf : leaves_) {
        bool made_by_us = std::find(created_.begin(), created_.end(), leaf) != created_.end();
        if (!made_by_us) continue;
        auto removed = remove_cgroup_directory(leaf);
        if (!removed && !first_error) first_error = removed.error();
    }
    // Parents we made may now hold other containers' cgroups: those stay.
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
        ::rmdir(it->c_str());
    created_.clear();
    if (first_error) return std::unexpected(*first_error);
    return {};
}

std::unique_ptr<Cgroup> make_cgroup(const HostLayout& layout, const std::string& path) {
    if (path.empty()) return make_no_cgroup();
    if (layout.kind == LayoutKind::v2) return make_v2_cgroup(layout.unified, path);
    return make_v1_cgroup(layout, path);
}

std::string rdma_max_line(const RdmaLimit& limit) {
    auto value = [](const std::optional<uint32_t>& count) {
        return count ? std::to_string(*count) : std::string("max");
    };
    return fmt::format("{} hca_handle={} hca_object={}", limit.device, value(limit.hca_handles),
                       value(limit.hca_objects));
}

}  // namespace vessel::host::cgroup
