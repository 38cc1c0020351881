#include "container/runtime/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/file.h"

namespace vessel::container::runtime {

const char* status_name(Status status) {
    switch (status) {
        case Status::created:
            return "created";
        case Status::running:
            return "running";
        case Status::stopped:
            return "stopped";
        case Status::paused:
            return "paused";
    }
    return "unknown";
}

Json ContainerState::to_json() const {
    return Json{{"id", id},
                {"pid", pid},
                {"startTime", start_time},
                {"bundle", bundle},
                {"rootfs", rootfs},
                {"created", created},
                {"owner", owner},
                {"annotations", annotations},
                {"cgroupPath", cgroup_path},
                {"cgroupCreated", cgroup_created},
                {"systemdUnit", systemd_unit},
                {"pidNamespace", pid_namespace},
                {"rootfsMountId", rootfs_mount_id},
                {"deviceRules", device_rules},
                {"hooks", hooks}};
}

Result<ContainerState> ContainerState::from_json(const Json& json) {
    JsonAt at(json, "");
    ContainerState state;
    state.id = TRY(TRY(at.child("id")).string());
    state.pid = TRY(TRY(at.child("pid")).integer_in<pid_t>());
    state.start_time = TRY(TRY(at.child("startTime")).unsigned_integer());
    state.bundle = TRY(TRY(at.child("bundle")).string());
    state.rootfs = TRY(TRY(at.child("rootfs")).string());
    state.created = TRY(at.optional_string("created")).value_or("");
    state.owner = TRY(at.optional_string("owner")).value_or("");
    if (auto annotations = at.optional_child("annotations"))
        for (const auto& [key, value] : annotations->value().items())
            if (value.is_string()) state.annotations[key] = value.get<std::string>();
    state.cgroup_path = TRY(TRY(at.child("cgroupPath")).string());
    state.cgroup_created = TRY(at.optional_string_array("cgroupCreated"));
    state.systemd_unit = TRY(at.optional_string("systemdUnit")).value_or("");
    state.pid_namespace = TRY(at.optional_string("pidNamespace")).value_or("");
    state.rootfs_mount_id = TRY(at.optional_unsigned("rootfsMountId")).value_or(0);
    if (json.contains("deviceRules")) state.device_rules = json["deviceRules"];
    if (json.contains("hooks")) state.hooks = json["hooks"];
    return state;
}

Json ContainerState::oci_state(Status status) const {
    Json state{{"ociVersion", "1.2.0"}, {"id", id}, {"status", status_name(status)}};
    if (status != Status::stopped) state["pid"] = pid;
    state["bundle"] = bundle;
    state["rootfs"] = rootfs;
    state["created"] = created;
    state["owner"] = owner;
    state["annotations"] = annotations;
    return state;
}

Result<> validate_id(const std::string& id) {
    if (id.empty()) return fail("container id must not be empty");
    if (id == "." || id == ".." || id.size() > 1024) return fail("invalid container id \"{}\"", id);
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
            return fail("invalid container id \"{}\": use letters, digits, '_', '-' and '.'", id);
    return {};
}

uint64_t process_start_time(pid_t pid) {
    auto stat = read_file(fmt::format("/proc/{}/stat", pid));
    if (!stat) return 0;
    // "pid (comm) S ppid ..." where comm may hold spaces and parentheses: parse after the last ')'.
    size_t close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) return 0;
    const char* cursor = stat->c_str() + close + 2;
    if (*cursor == 'Z' || *cursor == 'X') return 0;
    // Field 3 is the state; start time is field 22, i.e. 19 fields further on.
    for (int field = 3; field < 22; ++field) {
        cursor = std::strchr(cursor, ' ');
        if (!cursor) return 0;
        ++cursor;
    }
    return std::strtoull(cursor, nullptr, 10);
}

Result<> StateStore::reserve(const std::string& id) const {
    if (::mkdir(root_.c_str(), 0711) != 0 && errno != EEXIST) TRY(make_directories(root_, 0711));
    // An unprivileged user's default root is under /tmp, where another user could have made it
    // first (or put a symlink there) to read or steer the state: it must be ours.
    struct stat info {};
    if (::lstat(root_.c_str(), &info) != 0) return fail_errno("stat the state root " + root_);
    if (!S_ISDIR(info.st_mode) || info.st_uid != ::geteuid())
        return fail(
            "the state root {} is not a directory owned by uid {}; choose another with "
            "--root",
            root_, ::geteuid());
    if (::mkdir(directory(id).c_str(), 0711) != 0) {
        if (errno == EEXIST) return fail("container \"{}\" already exists", id);
        return fail_errno("create the state directory " + directory(id));
    }
    return {};
}

Result<> StateStore::save(const ContainerState& state) const {
    // Atomic (readers never see half a file) but not fsynced: the state lives on /run, a tmpfs,
    // and it describes processes that do not survive a reboot anyway.
    std::string path = directory(state.id) + "/state.json";
    std::string temporary = path + ".tmp";
    {
        UniqueFd fd = TRY(open_file(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0600));
        TRY_CTX(write_all(fd.get(), state.to_json().dump()), "write {}", temporary);
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) return fail_errno("rename " + temporary);
    return {};
}

Result<ContainerState> StateStore::load(const std::string& id) const {
    TRY(validate_id(id));
    auto text = read_file(directory(id) + "/state.json");
    if (!text) {
        if (text.error().code() == ENOENT) return fail("container \"{}\" does not exist", id);
        return std::unexpected(text.error());
    }
    auto json = TRY(parse_json(*text, directory(id) + "/state.json"));
    return TRY_CTX(ContainerState::from_json(json), "{}/state.json", directory(id));
}

Status StateStore::status(const ContainerState& state) const {
    if (state.pid <= 0 || process_start_time(state.pid) != state.start_time) return Status::stopped;
    return path_exists(fifo_path(state.id)) ? Status::created : Status::running;
}

void StateStore::remove(const std::string& id) const {
    std::string dir = directory(id);
    for (const char* name : {"exec.fifo", "state.json"})
        ::unlink((dir + "/" + name).c_str());
    if (DIR* stream = ::opendir(dir.c_str())) {
        // Leftover temporary files of an interrupted write.
        while (dirent* entry = ::readdir(stream))
            if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
                ::unlinkat(::dirfd(stream), entry->d_name, 0);
        ::closedir(stream);
    }
    ::rmdir(dir.c_str());
}

Result<std::vector<std::string>> StateStore::ids() const {
    std::vector<std::string> ids;
    DIR* stream = ::opendir(root_.c_str());
    if (!stream) {
        if (errno == ENOENT) return ids;
        return fail_errno("open " + root_);
    }
    while (dirent* entry = ::readdir(stream)) {
        if (entry->d_name[0] == '.') continue;
        if (path_exists(directory(entry->d_name) + "/state.json")) ids.emplace_back(entry->d_name);
    }
    ::closedir(stream);
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace vessel::container::runtime
