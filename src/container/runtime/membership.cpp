#include "container/runtime/membership.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "host/cgroup/systemd_driver.h"

namespace vessel::container::runtime {

namespace {

std::string link_text(const std::string& path) {
    char target[64];
    ssize_t length = ::readlink(path.c_str(), target, sizeof target);
    return length > 0 ? std::string(target, static_cast<size_t>(length)) : std::string();
}

// The namespace a config joins by path, as "pid:[inode]" like /proc/<pid>/ns/pid reads.
Result<std::string> joined_pid_namespace(const spec::Linux& config) {
    const auto* pid = config.find_namespace(spec::NamespaceType::pid);
    if (!pid || pid->path.empty()) return std::string();
    struct stat info {};
    if (::stat(pid->path.c_str(), &info) != 0)
        return fail_errno(fmt::format("linux.namespaces: pid namespace {}", pid->path));
    return fmt::format("pid:[{}]", info.st_ino);
}

}  // namespace

std::string pid_namespace_of(pid_t pid) {
    return link_text(fmt::format("/proc/{}/ns/pid", pid));
}

Result<> check_cgroup_path(const std::string& path) {
    if (path == "/")
        return fail(
            "\"/\" is the host's root cgroup, which holds every process; a container "
            "needs a cgroup of its own");
    return {};
}

Result<> check_cgroup_is_the_containers(const host::cgroup::Cgroup& cgroup, const spec::Linux& config) {
    if (cgroup.owns_directories()) return {};
    auto pids = cgroup.processes();
    if (!pids || pids->empty()) return {};
    std::string shared = TRY(joined_pid_namespace(config));
    std::erase_if(*pids,
                  [&](pid_t pid) { return !shared.empty() && pid_namespace_of(pid) == shared; });
    if (pids->empty()) return {};
    auto directories = cgroup.directories();
    return fail("{} already holds {} process{} that {} not the container's (pid {})",
                directories.empty() ? std::string("the cgroup") : directories.front(), pids->size(),
                pids->size() == 1 ? "" : "es", pids->size() == 1 ? "is" : "are", pids->front());
}

Result<std::unique_ptr<host::cgroup::Cgroup>> reopen_cgroup(const ContainerState& state) {
    auto layout = TRY(host::cgroup::detect_layout());
    auto cgroup = state.systemd_unit.empty() ? host::cgroup::make_cgroup(layout, state.cgroup_path)
                                             : host::cgroup::reopen_systemd_cgroup(
                                                   layout, state.systemd_unit, state.cgroup_path);
    cgroup->restore_created(state.cgroup_created);
    return cgroup;
}

Result<std::vector<pid_t>> container_processes(const ContainerState& state,
                                               const host::cgroup::Cgroup& cgroup) {
    auto pids = TRY(cgroup.processes());
    if (cgroup.owns_directories()) return pids;
    std::erase_if(pids, [&](pid_t pid) {
        if (!state.pid_namespace.empty()) return pid_namespace_of(pid) != state.pid_namespace;
        return pid != state.pid || process_start_time(pid) != state.start_time;
    });
    return pids;
}

}  // namespace vessel::container::runtime
